"""The automatic ban policy: pure rules, then ``record_report`` on each database."""

from __future__ import annotations

import pytest

from randomchat.config import Settings
from randomchat.core.moderation import (
    MAX_NOTE,
    REPORT_REASONS,
    counting_since,
    should_ban,
)
from randomchat.db import Ban, ChatLine, Database
from randomchat.moderation import record_report
from randomchat.rules import Rules

pytestmark = pytest.mark.pure

T0 = 1_700_000_000.0
HOUR = 3600.0
SETTINGS = Settings(report_threshold=3, report_window_hours=24, ban_hours=24)


async def ban_after(
    db: Database,
    settings: Settings,
    reporter: str,
    reported: str,
    now: float,
    chat: list[ChatLine] | None = None,
) -> Ban | None:
    rules = Rules.from_settings(settings)
    report, ban = await record_report(db, rules, reporter, reported, "spam", "", chat or [], now)
    assert report.reporter == reporter and report.reported == reported
    return ban


def test_reasons_and_note_limit() -> None:
    assert REPORT_REASONS == ("nudity", "harassment", "spam", "underage", "other")
    assert MAX_NOTE == 500


@pytest.mark.parametrize(("reporters", "banned"), [(0, False), (2, False), (3, True), (4, True)])
def test_should_ban_at_the_threshold(reporters: int, banned: bool) -> None:
    assert should_ban(reporters, 3) is banned


def test_reports_before_the_last_ban_do_not_count_again() -> None:
    assert counting_since(T0, 24 * HOUR, None) == T0 - 24 * HOUR
    assert counting_since(T0, 24 * HOUR, T0 - 48 * HOUR) == T0 - 24 * HOUR
    assert T0 - HOUR < counting_since(T0, 24 * HOUR, T0 - HOUR) < T0 - HOUR + 0.001


async def _report(db: Database, reporter: str, now: float, reported: str = "x") -> Ban | None:
    chat = [ChatLine(reporter, "hello", now - 1)]
    return await ban_after(db, SETTINGS, reporter, reported, now, chat)


async def test_three_distinct_reporters_ban(db: Database) -> None:
    assert await _report(db, "a", T0) is None
    assert await _report(db, "b", T0 + 1) is None
    ban = await _report(db, "c", T0 + 2)
    assert ban == Ban("x", "reported by 3 users", T0 + 2, T0 + 2 + 24 * HOUR, "auto")
    assert await db.active_ban("x", T0 + 3) == ban
    assert len(await db.reports(user_id="x")) == 3


async def test_the_same_reporter_three_times_does_not_ban(db: Database) -> None:
    for i in range(3):
        assert await _report(db, "a", T0 + i) is None
    assert await db.active_ban("x", T0 + 3) is None


async def test_reports_outside_the_window_do_not_count(db: Database) -> None:
    await _report(db, "a", T0)
    await _report(db, "b", T0 + 12 * HOUR)
    # a is 24 h and 1 s old: b and c make two.
    assert await _report(db, "c", T0 + 24 * HOUR + 1) is None
    ban = await _report(db, "d", T0 + 24 * HOUR + 2)
    assert ban is not None
    assert ban.reason == "reported by 3 users"


async def test_after_a_ban_expires_old_reports_do_not_ban_again(db: Database) -> None:
    settings = SETTINGS.model_copy(update={"report_window_hours": 72.0, "ban_hours": 1.0})
    for i, reporter in enumerate("abc"):
        await ban_after(db, settings, reporter, "x", T0 + i)
    assert await db.active_ban("x", T0 + 3) is not None
    later = T0 + 2 * HOUR
    assert await db.active_ban("x", later) is None
    assert await ban_after(db, settings, "d", "x", later) is None
    assert await ban_after(db, settings, "e", "x", later + 1) is None
    assert await ban_after(db, settings, "f", "x", later + 2) is not None


async def test_a_longer_ban_is_not_shortened(db: Database) -> None:
    month = await db.ban("x", until=T0 + 720 * HOUR, reason="admin", created_by="cli:r", now=T0)
    for i, reporter in enumerate("abc"):
        assert await _report(db, reporter, T0 + 1 + i) is None
    assert await db.active_ban("x", T0 + 10) == month
