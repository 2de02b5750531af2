"""Recording a report and applying the automatic cool-down of ``core.moderation``;
keeping a report's picture within its bounds (``core.evidence``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from randomchat.core import evidence as rules_of_evidence
from randomchat.core.moderation import (
    AUTO_BANNED_BY,
    COOLDOWN_GAP,
    Standing,
    cooldown_reason,
    counting_since,
    report_weight,
    should_cool_down,
    tally,
)
from randomchat.db import Ban, ChatLine, Database, Report, evidence
from randomchat.db.safety import counted_reports, reporter_record
from randomchat.rules import Rules

log = logging.getLogger(__name__)

DAY = 24 * 3600.0


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
    age: float | None = None,
    normal_calls: int = 0,
    reported_name: str = "",
) -> tuple[Report, Ban | None]:
    """Store the report; cool ``reported`` down (never their address) past the bar.

    ``reporter_address`` is the keyed hash of the reporter's wide network (an IPv4 /24
    or IPv6 /48: ``core.moderation.wide_network``); ``age`` the age of the reporter's
    identity (None: not a guest) and ``normal_calls`` their calls of normal length: with
    what moderators made of their earlier reports, these give the report its weight.
    ``reported_name`` is the name the reported user was shown under (for the console).
    The reports within the window are tallied as ``core.moderation`` says; past
    ``rules.report_min_addresses`` networks and a score of ``rules.report_threshold``
    the reported user gets ``rules.cooldown_seconds`` off, unless they were cooled
    down within the last hour or a ban already keeps them out.

    Returns the stored report and the cool-down, if this report caused one.
    """
    upheld, dismissed, filed = await reporter_record(db, reporter, now - DAY)
    standing = Standing(normal_calls, upheld, dismissed, filed + 1)
    weight = report_weight(age, rules.report_full_weight, standing)
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
        reported_name=reported_name,
    )
    latest = await db.latest_ban(reported)
    since = counting_since(now, rules.report_window, None if latest is None else latest.created_at)
    counted = tally(await counted_reports(db, reported, since))
    if not should_cool_down(counted, rules.report_threshold, rules.report_min_addresses):
        return report, None
    recent = latest is not None and now - latest.created_at < COOLDOWN_GAP
    if recent and latest is not None and latest.created_by == AUTO_BANNED_BY:
        return report, None  # once an hour, whatever else arrives
    if await db.active_ban(reported, now) is not None:
        return report, None  # a ban keeps them out already; an automatic action adds nothing
    ban = await db.ban(
        reported,
        until=now + rules.cooldown_seconds,
        reason=cooldown_reason(counted.reporters, counted.addresses),
        created_by=AUTO_BANNED_BY,
        now=now,
    )
    log.info(
        "cooled down",
        extra={"user": reported, "reporters": counted.reporters, "networks": counted.addresses},
    )
    return report, ban


async def attach_picture(db: Database, report: Report, picture: bytes, now: float) -> bool:
    """Keep ``picture`` with ``report`` unless its reporter (or their network) has left
    ``core.evidence``'s bound of pictures within the last hour; whether it was kept."""
    since = now - rules_of_evidence.WINDOW
    kept = await evidence.kept_since(db, report.reporter, report.reporter_address, since)
    if not rules_of_evidence.may_keep(kept):
        log.info("report picture refused", extra={"user": report.reporter, "report": report.id})
        return False
    await evidence.keep(db, report.id, report.reporter, report.reporter_address, picture, now)
    return True
