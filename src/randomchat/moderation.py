"""Recording a report and applying the automatic ban policy of ``core.moderation``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from randomchat.core.moderation import (
    AUTO_BANNED_BY,
    auto_ban_reason,
    counting_since,
    should_auto_ban,
    tally,
)
from randomchat.db import Ban, ChatLine, Database, Report
from randomchat.db.safety import counted_reports
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
    *,
    reporter_address: str | None = None,
    reported_address: str | None = None,
    weight: float = 1.0,
) -> tuple[Report, Ban | None]:
    """Store the report; ban ``reported`` (and their address, if a guest) past the threshold.

    The reports within the window are tallied as ``core.moderation`` says: each
    reporter once, each reporter address once, weighted; the ban needs
    ``rules.report_min_addresses`` addresses and a score of ``rules.report_threshold``.

    Returns the stored report and the new ban, if this report caused one.

    Not one transaction: two reports that reach the threshold at once may both
    ban, and the second ban replaces the first with the same length. A ban that
    already lasts longer (an administrator's) is never shortened.
    """
    report = await db.report(
        reporter,
        reported,
        reason=reason,
        note=note,
        chat=chat,
        now=now,
        reporter_address=reporter_address,
        reported_address=reported_address,
        weight=weight,
    )
    latest = await db.latest_ban(reported)
    since = counting_since(now, rules.report_window, None if latest is None else latest.created_at)
    counted = tally(await counted_reports(db, reported, since))
    if not should_auto_ban(counted, rules.report_threshold, rules.report_min_addresses):
        return report, None
    until = now + rules.ban_seconds
    active = await db.active_ban(reported, now)
    if active is not None and active.until >= until:
        return report, None
    ban = await db.ban(
        reported,
        until=until,
        reason=auto_ban_reason(counted.reporters),
        created_by=AUTO_BANNED_BY,
        now=now,
        address_hash=reported_address,
    )
    log.info(
        "banned automatically",
        extra={"user": reported, "reporters": counted.reporters, "addresses": counted.addresses},
    )
    return report, ban
