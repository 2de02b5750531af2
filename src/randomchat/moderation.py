"""Recording a report and applying the automatic ban policy of ``core.moderation``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from randomchat.core.moderation import (
    AUTO_BANNED_BY,
    auto_ban_reason,
    counting_since,
    should_ban,
)
from randomchat.db import Ban, ChatLine, Database, Report
from randomchat.rules import Rules

log = logging.getLogger(__name__)


async def record_report(
    db: Database,
    rules: Rules,
    reporter: str,
    reported: str,
    reason: str,
    note: str,
    chat: Sequence[ChatLine],
    now: float,
) -> tuple[Report, Ban | None]:
    """Store the report; ban ``reported`` if the threshold is reached.

    Returns the stored report and the new ban, if this report caused one.

    Not one transaction: two reports that reach the threshold at once may both
    ban, and the second ban replaces the first with the same length. A ban that
    already lasts longer (an administrator's) is never shortened.
    """
    report = await db.report(reporter, reported, reason=reason, note=note, chat=chat, now=now)
    latest = await db.latest_ban(reported)
    since = counting_since(now, rules.report_window, None if latest is None else latest.created_at)
    reporters = await db.distinct_reporters(reported, since)
    if not should_ban(reporters, rules.report_threshold):
        return report, None
    until = now + rules.ban_seconds
    active = await db.active_ban(reported, now)
    if active is not None and active.until >= until:
        return report, None
    ban = await db.ban(
        reported, until=until, reason=auto_ban_reason(reporters), created_by=AUTO_BANNED_BY, now=now
    )
    log.info("banned automatically", extra={"user": reported, "reporters": reporters})
    return report, ban
