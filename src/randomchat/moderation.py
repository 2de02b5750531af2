"""Recording a report and applying the automatic ban policy of ``core.moderation``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from randomchat.config import Settings
from randomchat.core.moderation import (
    AUTO_BANNED_BY,
    auto_ban_reason,
    counting_since,
    should_ban,
)
from randomchat.db import Ban, ChatLine, Database

log = logging.getLogger(__name__)

HOUR = 3600.0


async def record_report(
    db: Database,
    settings: Settings,
    reporter: str,
    reported: str,
    reason: str,
    note: str,
    chat: Sequence[ChatLine],
    now: float,
) -> Ban | None:
    """Store the report; ban ``reported`` if the threshold is reached. Return the new ban.

    Not one transaction: two reports that reach the threshold at once may both
    ban, and the second ban replaces the first with the same length. A ban that
    already lasts longer (an administrator's) is never shortened.
    """
    await db.report(reporter, reported, reason=reason, note=note, chat=chat, now=now)
    latest = await db.latest_ban(reported)
    since = counting_since(
        now, settings.report_window_hours * HOUR, None if latest is None else latest.created_at
    )
    reporters = await db.distinct_reporters(reported, since)
    if not should_ban(reporters, settings.report_threshold):
        return None
    until = now + settings.ban_hours * HOUR
    active = await db.active_ban(reported, now)
    if active is not None and active.until >= until:
        return None
    ban = await db.ban(
        reported, until=until, reason=auto_ban_reason(reporters), created_by=AUTO_BANNED_BY, now=now
    )
    log.info("banned automatically", extra={"user": reported, "reporters": reporters})
    return ban
