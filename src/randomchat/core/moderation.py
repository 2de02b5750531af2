"""The moderation policy: report reasons and when reports turn into a ban.

A user is banned automatically when ``threshold`` different users reported
them within the window. Reports made before the user's latest ban do not count
again: they were dealt with by that ban (or by the administrator who lifted it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

REPORT_REASONS = ("nudity", "harassment", "spam", "underage", "other")
MAX_NOTE = 500
AUTO_BANNED_BY = "auto"


def should_ban(distinct_reporters: int, threshold: int) -> bool:
    """Whether this many different reporters within the window earn a ban."""
    return distinct_reporters >= threshold


def counting_since(now: float, window_seconds: float, last_ban_at: float | None) -> float:
    """The earliest report time that still counts towards a ban at ``now``.

    Reports strictly after the last ban count: the report that triggered a ban
    carries the ban's own time, hence the next float up.
    """
    start = now - window_seconds
    if last_ban_at is None:
        return start
    return max(start, math.nextafter(last_ban_at, math.inf))


def auto_ban_reason(distinct_reporters: int) -> str:
    users = "user" if distinct_reporters == 1 else "users"
    return f"reported by {distinct_reporters} {users}"


class _Ban(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def until(self) -> float: ...


B = TypeVar("B", bound=_Ban)


class BanList(Generic[B]):
    """The active bans, held in memory so that admitting a connection reads no database.

    The database stays the record; this list is refilled from it periodically
    (bans made by the CLI or another process arrive that way) and updated at
    once for bans made here. Entries are anything with ``user_id`` and ``until``.
    """

    def __init__(self) -> None:
        self._bans: dict[str, B] = {}

    def __len__(self) -> int:
        return len(self._bans)

    def replace(self, bans: Iterable[B]) -> None:
        self._bans = {ban.user_id: ban for ban in bans}

    def add(self, ban: B) -> None:
        self._bans[ban.user_id] = ban

    def remove(self, user_id: str) -> None:
        self._bans.pop(user_id, None)

    def active(self, user_id: str, now: float) -> B | None:
        ban = self._bans.get(user_id)
        return ban if ban is not None and now < ban.until else None
