"""What reports do on their own (issue 22): ``record_report`` on each database, with time
passed in by hand, against a patient attacker and for a real abuser.

The attacker of docs/security.md: guest identities without number, aged as long as
they like, each with calls of normal length behind it (they can pair their own
identities), from three networks (IPv4 /24s or IPv6 /48s).
"""

from __future__ import annotations

import pytest

from randomchat.config import Settings
from randomchat.core.moderation import (
    AUTO_BANNED_BY,
    COOLDOWN_GAP,
    MAX_NOTE,
    REPORT_REASONS,
    address_hash,
    counting_since,
    wide_network,
)
from randomchat.db import Ban, ChatLine, Database, triage
from randomchat.moderation import record_report
from randomchat.rules import Rules

pytestmark = pytest.mark.process  # the db fixture starts PostgreSQL

T0 = 1_700_000_000.0
HOUR = 3600.0
KEY = b"k" * 32
SETTINGS = Settings()  # the defaults: 4 networks, a score of 3, 10 minutes
RULES = Rules.from_settings(SETTINGS)
AGED = 3600.0  # seconds: every identity here is an hour old, past full weight


async def report(
    db: Database,
    reporter: str,
    reported: str,
    now: float,
    address: str,
    *,
    calls: int = 5,
    rules: Rules = RULES,
) -> Ban | None:
    """``reporter`` at ``address`` reports ``reported``; the cool-down it caused, if any."""
    network = address_hash(KEY, wide_network(address))
    chat = [ChatLine(reporter, "hello", now - 1)]
    stored, ban = await record_report(
        db, rules, reporter, reported, "nudity", "", chat, now,
        reporter_address=network, reported_address="their-net", age=AGED, normal_calls=calls,
    )  # fmt: skip
    assert stored.reporter == reporter and stored.reported == reported
    return ban


def test_reasons_and_note_limit() -> None:
    assert REPORT_REASONS == ("nudity", "harassment", "spam", "underage", "other")
    assert MAX_NOTE == 500


def test_reports_before_the_last_ban_do_not_count_again() -> None:
    assert counting_since(T0, 24 * HOUR, None) == T0 - 24 * HOUR
    assert counting_since(T0, 24 * HOUR, T0 - 48 * HOUR) == T0 - 24 * HOUR
    assert T0 - HOUR < counting_since(T0, 24 * HOUR, T0 - HOUR) < T0 - HOUR + 0.001


async def test_a_real_abuser_is_cooled_down_never_their_address(db: Database) -> None:
    """Five ordinary users from five /24s report within an hour: a cool-down, at once."""
    bans = [await report(db, f"r{n}", "x", T0 + n * 600, f"198.51.{n}.7") for n in range(5)]
    cooled = [ban for ban in bans if ban is not None]
    assert len(cooled) == 1 and bans.index(cooled[0]) <= 4
    ban = cooled[0]
    assert ban.created_by == AUTO_BANNED_BY and ban.address_hash is None
    assert ban.reason == "cool-down: reported by 4 users from 4 networks"
    assert ban.until - ban.created_at == SETTINGS.cooldown_minutes * 60
    assert await db.active_ban("x", ban.created_at + 1) == ban


async def test_sixty_aged_identities_from_three_networks_sanction_nobody(
    db: Database,
) -> None:
    for family, networks in (
        ("v4", ["203.0.113.", "198.51.100.", "192.0.2."]),
        ("v6", ["2001:db8:a:", "2001:db8:b:", "2001:db8:c:"]),
    ):
        targets = [f"{family}-target{n}" for n in range(20)]
        cooled = 0
        now = T0
        for target in targets:
            for n in range(60):
                # Each identity on an address (or /64) of its own within the attacker's
                # three networks: a fresh /64 of a /48 counts no more than a new /24 host.
                base = networks[n % 3]
                address = f"{base}{n}" if family == "v4" else f"{base}{n:x}::1"
                now += 0.5
                cooled += await report(db, f"{family}-id{n}", target, now, address) is not None
        assert cooled == 0, f"{family}: {cooled} of 20 ordinary users were cooled down"


async def test_nobody_is_cooled_down_twice_in_an_hour(db: Database) -> None:
    first = [await report(db, f"a{n}", "x", T0 + n, f"10.{n}.0.1") for n in range(4)]
    assert first[-1] is not None
    # The cool-down ends after 10 minutes; a second wave at 20 minutes does nothing.
    later = T0 + 1200
    second = [await report(db, f"b{n}", "x", later + n, f"10.{n + 10}.0.1") for n in range(8)]
    assert second == [None] * 8
    # An hour after the first, the next report may cool them down again.
    again = T0 + COOLDOWN_GAP + 60
    assert await report(db, "c0", "x", again, "10.20.0.1") is not None


async def test_identities_that_never_talked_to_anyone_weigh_next_to_nothing(
    db: Database,
) -> None:
    for n in range(8):
        assert await report(db, f"new{n}", "x", T0 + n, f"10.{n}.0.1", calls=0) is None
    weights = {r.weight for r in await db.reports(user_id="x")}
    assert weights == {0.1}


async def test_a_ban_in_force_is_neither_shortened_nor_replaced(db: Database) -> None:
    month = await db.ban(
        "x", until=T0 + 720 * HOUR, reason="admin", created_by="cli:r", now=T0,
        address_hash="net-1",
    )  # fmt: skip
    for n in range(6):
        assert await report(db, f"r{n}", "x", T0 + 1 + n, f"10.{n}.0.1") is None
    assert await db.active_ban("x", T0 + 10) == month


async def test_a_longer_ban_of_the_user_keeps_the_address_of_the_one_it_replaces(
    db: Database,
) -> None:
    await db.ban("x", until=T0 + 24 * HOUR, reason="a", created_by="m", now=T0, address_hash="n")
    longer = await db.ban("x", until=T0 + 168 * HOUR, reason="b", created_by="m", now=T0 + 1)
    assert longer.address_hash == "n"
    active = await db.active_ban("x", T0 + 2)
    assert active is not None and active.address_hash == "n" and active.reason == "b"


async def test_the_cooled_down_come_first_in_the_queue(db: Database) -> None:
    await report(db, "lone", "y", T0 - 10, "10.99.0.1")  # newer than nothing, but alone
    for n in range(4):
        await report(db, f"r{n}", "x", T0 + n, f"10.{n}.0.1")
    await report(db, "lone2", "z", T0 + 100, "10.98.0.1")  # the newest report
    for sort in ("newest", "heaviest"):
        queued = await triage.queue(db, sort=sort, now=T0 + 101)  # type: ignore[arg-type]
        assert [q.report.reported for q in queued[:4]] == ["x"] * 4, sort
