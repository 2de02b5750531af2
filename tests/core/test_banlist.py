"""The in-memory ban list: lookups, expiry, and no wholesale rebuilds (issue 8 item 14)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from randomchat.core.moderation import BanList

pytestmark = pytest.mark.pure


@dataclass(frozen=True)
class B:
    user_id: str
    until: float


def test_active_until_the_end_then_forgotten() -> None:
    bans: BanList[B] = BanList()
    bans.add(B("u1", 10.0))
    bans.add(B("u2", 20.0))
    assert bans.active("u1", 9.0) == B("u1", 10.0)
    assert bans.active("u1", 10.0) is None
    assert len(bans) == 1  # u1's entry was dropped when it ended
    assert bans.active("u2", 15.0) == B("u2", 20.0)


def test_a_replaced_ban_keeps_the_newest_end() -> None:
    bans: BanList[B] = BanList()
    bans.add(B("u1", 10.0))
    bans.add(B("u1", 30.0))
    assert bans.active("u1", 20.0) == B("u1", 30.0)  # the old end does not remove it
    bans.add(B("u1", 5.0))  # shortened
    assert bans.active("u1", 6.0) is None


def test_re_adding_the_same_ban_does_not_grow_the_heap() -> None:
    bans: BanList[B] = BanList()
    ban = B("u1", 1e12)
    for _ in range(10_000):
        bans.add(ban)
    assert len(bans._ends) == 1


def test_stale_entries_of_lifted_bans_are_bounded() -> None:
    bans: BanList[B] = BanList()
    for i in range(10_000):
        bans.add(B(f"u{i}", 1e12 + i))
        bans.remove(f"u{i}")
    assert len(bans) == 0
    assert len(bans._ends) <= 2 * len(bans) + 1025
