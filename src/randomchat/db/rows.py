"""Rows into records (``records.py``), and the rules of a ban's times, for every query module.

A ban is active while ``ended_at`` is null and ``until`` lies ahead. Where two
bans of one user race on PostgreSQL, readers take the newest (``newest_per_user``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import RowMapping

from randomchat.db.records import Ban, ChatLine, Report
from randomchat.db.schema import bans

log = logging.getLogger(__name__)

# The latest time a ban may end: 9999-12-31 23:59:59 UTC, still a datetime.
MAX_UNTIL = 253_402_300_799.0


def ban_of(row: RowMapping) -> Ban | None:
    """The row as a ``Ban``; an end past ``MAX_UNTIL`` (or infinite) reads as ``MAX_UNTIL``.

    Rows written before the bounds existed may hold ``inf`` (or, on PostgreSQL,
    NaN); one such row must not break every reader of the bans. NaN rows are
    skipped with a warning.
    """
    until = row["until"]
    if until is None or math.isnan(until) or not math.isfinite(row["created_at"]):
        log.warning("skipped a malformed ban row", extra={"ban_id": row["id"]})
        return None
    return Ban(
        user_id=row["user_id"],
        reason=row["reason"],
        created_at=row["created_at"],
        until=min(float(until), MAX_UNTIL),
        created_by=row["created_by"],
        address_hash=row.get("address_hash"),
    )


def report_of(row: RowMapping) -> Report:
    return Report(
        id=row["id"],
        reporter=row["reporter"],
        reported=row["reported"],
        reason=row["reason"],
        note=row["note"],
        chat=[ChatLine(line["sender"], line["text"], line["sent_at"]) for line in row["chat"]],
        created_at=row["created_at"],
        reporter_address=row.get("reporter_address"),
        reported_address=row.get("reported_address"),
        weight=float(row.get("weight", 1.0)),
        reported_name=row.get("reported_name") or "",
    )


def newest_per_user(rows: Iterable[RowMapping]) -> list[Ban]:
    """Rows ordered newest first; keep each user's first (see the module docstring)."""
    seen: set[str] = set()
    result: list[Ban] = []
    for row in rows:
        ban = ban_of(row)
        if ban is not None and ban.user_id not in seen:
            seen.add(ban.user_id)
            result.append(ban)
    return result


def is_active(row: RowMapping, now: float) -> bool:
    return row["ended_at"] is None and row["until"] > now


def check_ban_times(until: float, now: float) -> None:
    """Raise ``ValueError`` unless a ban from ``now`` to ``until`` is finite and ahead."""
    if not (math.isfinite(now) and math.isfinite(until)):
        raise ValueError("a ban's times must be finite")
    if until <= now:
        raise ValueError("a ban must end after it starts")
    if until > MAX_UNTIL:
        raise ValueError("a ban must end before the year 10000")


def active_at(now: float) -> list[Any]:
    return [bans.c.ended_at.is_(None), bans.c.until > now]
