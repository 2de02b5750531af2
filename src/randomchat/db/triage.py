"""What the moderation console reads and marks: the report queue, user histories, bans.

A report is ``open`` until a moderator reviews it; a review is a row in
``report_reviews`` (``dismissed``, ``warned`` or ``banned``), so the report
path never has to write a status.

The report's weight comes from the ``weight`` column of ``reports`` when the
schema has one (the safety rules' weight); until then every report weighs 1.

Names: each report keeps the name the reported user was shown under (0006); a
user's names are the distinct names of the reports about them, newest first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import RowMapping, and_, func, or_, select
from sqlalchemy.sql import Select

from randomchat.core.moderation import AUTO_BANNED_BY
from randomchat.db.database import Database
from randomchat.db.records import Ban, Report
from randomchat.db.rows import active_at, ban_of, report_of
from randomchat.db.schema import bans, report_reviews, reports

OPEN = "open"
STATUSES = (OPEN, "dismissed", "warned", "banned")
Sort = Literal["newest", "heaviest"]
HISTORY_LIMIT = 20
NAMES_PER_USER = 5  # a guest can take a new name at every session: the newest few
NAME_ROWS = 2000  # rows read for one page of users' names, whatever they did
UNDO_SECONDS = 30.0  # how long after a ban its moderator may undo it (the page offers 5 s)


@dataclass(frozen=True, slots=True)
class QueuedReport:
    report: Report
    weight: float
    status: str
    reviewed_by: str | None
    reviewed_at: float | None


@dataclass(frozen=True, slots=True)
class BanRow:
    """A ban with its history: when it was lifted or replaced (``ended_at``)."""

    user_id: str
    reason: str
    created_at: float
    until: float
    created_by: str
    ended_at: float | None
    address: bool = False  # the ban holds the user's network too (issue 15)


@dataclass(frozen=True, slots=True)
class History:
    """What the console shows beside a report about one user."""

    reported_count: int  # reports about the user
    filed_count: int  # reports the user filed
    reported: list[QueuedReport]  # the newest reports about the user
    bans: list[BanRow]  # every ban, newest first


@dataclass(frozen=True, slots=True)
class Undone:
    """A ban undone (``undo_ban``)."""

    restored: Ban | None  # the ban the undone one had replaced, in force again


def _weight_column() -> Any:
    return reports.c.get("weight")


def _queue_select() -> Select[Any]:
    joined = reports.outerjoin(report_reviews, reports.c.id == report_reviews.c.report_id)
    return select(
        reports,
        report_reviews.c.status.label("review_status"),
        report_reviews.c.reviewed_by,
        report_reviews.c.reviewed_at,
    ).select_from(joined)


def _queued(row: RowMapping) -> QueuedReport:
    weight = row.get("weight")
    return QueuedReport(
        report=report_of(row),
        weight=1.0 if weight is None else float(weight),
        status=row["review_status"] or OPEN,
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
    )


def _ban_row(row: RowMapping) -> BanRow:
    return BanRow(
        row["user_id"],
        row["reason"],
        row["created_at"],
        row["until"],
        row["created_by"],
        row["ended_at"],
        row.get("address_hash") is not None,
    )


async def queue(
    db: Database,
    *,
    status: str | None = OPEN,
    reason: str | None = None,
    sort: Sort = "newest",
    limit: int = 100,
    offset: int = 0,
    now: float | None = None,
) -> list[QueuedReport]:
    """Reports with their review status; ``status`` None for every status. Reports about
    a user in an automatic cool-down at ``now`` come first."""
    query = _queue_select()
    if status == OPEN:
        query = query.where(report_reviews.c.status.is_(None))
    elif status is not None:
        query = query.where(report_reviews.c.status == status)
    if reason is not None:
        query = query.where(reports.c.reason == reason)
    weight = _weight_column()
    order: list[Any] = [reports.c.created_at.desc(), reports.c.id.desc()]
    if sort == "heaviest" and weight is not None:
        order.insert(0, weight.desc())
    # Whoever reports have just cooled down comes first, whatever the order: a
    # moderator decides what happens next to them (core.moderation).
    cooling = (
        select(bans.c.id)
        .where(
            bans.c.user_id == reports.c.reported,
            bans.c.created_by == AUTO_BANNED_BY,
            *active_at(time.time() if now is None else now),
        )
        .exists()
    )
    order.insert(0, cooling.desc())
    query = query.order_by(*order).limit(limit).offset(offset)
    async with db.transaction("read the report queue") as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_queued(row) for row in rows]


async def queued_report(db: Database, report_id: int) -> QueuedReport | None:
    query = _queue_select().where(reports.c.id == report_id)
    async with db.transaction("read a report") as conn:
        row = (await conn.execute(query)).mappings().first()
    return None if row is None else _queued(row)


async def review(db: Database, report_id: int, status: str, by: str, now: float) -> None:
    """Mark a report reviewed (replacing an earlier review)."""
    if status not in STATUSES or status == OPEN:
        raise ValueError(f"not a review status: {status!r}")
    async with db.transaction("review a report", write=True) as conn:
        await conn.execute(report_reviews.delete().where(report_reviews.c.report_id == report_id))
        await conn.execute(
            report_reviews.insert().values(
                report_id=report_id, status=status, reviewed_by=by, reviewed_at=now
            )
        )


async def reopen(db: Database, report_id: int) -> None:
    """Make a report open again (its review undone)."""
    async with db.transaction("reopen a report", write=True) as conn:
        await conn.execute(report_reviews.delete().where(report_reviews.c.report_id == report_id))


async def names_of(db: Database, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each user's names as reports about them recorded, newest first, at most
    ``NAMES_PER_USER`` each; a user without a recorded name is left out."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    latest = func.max(reports.c.created_at)
    query = (
        select(reports.c.reported, reports.c.reported_name, latest.label("latest"))
        .where(reports.c.reported.in_(wanted), reports.c.reported_name != "")
        .group_by(reports.c.reported, reports.c.reported_name)
        .order_by(latest.desc())
        .limit(NAME_ROWS)
    )
    async with db.transaction("read users' names") as conn:
        rows = (await conn.execute(query)).all()
    names: dict[str, list[str]] = {}
    for user_id, name, _ in rows:
        kept = names.setdefault(user_id, [])
        if len(kept) < NAMES_PER_USER:
            kept.append(name)
    return names


async def undo_ban(db: Database, item: QueuedReport, by: str, now: float) -> Undone | None:
    """Undo the ban ``by`` set from ``item`` at most ``UNDO_SECONDS`` ago, in one
    transaction: the ban ends, a ban it replaced that would still hold is restored
    (a cool-down or an earlier, longer ban stays as it was), the report is open again.

    None when there is nothing of ``by``'s to undo (not banned, another moderator's, too
    late, or the ban was replaced or lifted since).
    """
    since = now - UNDO_SECONDS
    if item.status != "banned" or item.reviewed_by != by or (item.reviewed_at or 0) < since:
        return None
    user_id = item.report.reported
    async with db.transaction("undo a ban", write=True) as conn:
        newest = (
            (
                await conn.execute(
                    select(bans)
                    .where(bans.c.user_id == user_id, *active_at(now))
                    .order_by(bans.c.created_at.desc(), bans.c.id.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        if newest is None or newest["created_by"] != by or newest["created_at"] < since:
            return None
        await conn.execute(bans.update().where(bans.c.id == newest["id"]).values(ended_at=now))
        # Database.ban ends the ban it replaces at the new one's created_at.
        replaced = (
            (
                await conn.execute(
                    select(bans)
                    .where(
                        bans.c.user_id == user_id,
                        bans.c.ended_at == newest["created_at"],
                        bans.c.until > now,
                    )
                    .order_by(bans.c.created_at.desc(), bans.c.id.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        if replaced is not None:
            await conn.execute(
                bans.update().where(bans.c.id == replaced["id"]).values(ended_at=None)
            )
        await conn.execute(
            report_reviews.delete().where(report_reviews.c.report_id == item.report.id)
        )
    return Undone(None if replaced is None else ban_of(replaced))


async def history(db: Database, user_id: str) -> History:
    """Reports about and by ``user_id`` and their bans."""
    count = func.count()
    about = (
        _queue_select()
        .where(reports.c.reported == user_id)
        .order_by(reports.c.created_at.desc(), reports.c.id.desc())
        .limit(HISTORY_LIMIT)
    )
    user_bans = (
        select(bans)
        .where(bans.c.user_id == user_id)
        .order_by(bans.c.created_at.desc(), bans.c.id.desc())
        .limit(HISTORY_LIMIT)
    )
    async with db.transaction("read a user's history") as conn:
        reported_count = (
            await conn.execute(select(count).where(reports.c.reported == user_id))
        ).scalar_one()
        filed_count = (
            await conn.execute(select(count).where(reports.c.reporter == user_id))
        ).scalar_one()
        about_rows = (await conn.execute(about)).mappings().all()
        ban_rows = (await conn.execute(user_bans)).mappings().all()
    return History(
        int(reported_count),
        int(filed_count),
        [_queued(row) for row in about_rows],
        [_ban_row(row) for row in ban_rows],
    )


async def search_bans(
    db: Database, now: float, *, query: str | None = None, limit: int = 200
) -> list[BanRow]:
    """Active bans, newest first; with ``query``, those whose user id, reason or
    author contains it (case-insensitive)."""
    active = and_(bans.c.ended_at.is_(None), bans.c.until > now)
    statement = select(bans).where(active)
    if query:
        needle = f"%{_escape_like(query.lower())}%"
        statement = statement.where(
            or_(
                *(
                    func.lower(column).like(needle, escape="\\")
                    for column in (bans.c.user_id, bans.c.reason, bans.c.created_by)
                )
            )
        )
    statement = statement.order_by(bans.c.created_at.desc(), bans.c.id.desc()).limit(limit)
    async with db.transaction("search bans") as conn:
        rows = (await conn.execute(statement)).mappings().all()
    seen: set[str] = set()
    result: list[BanRow] = []
    for row in rows:  # one per user, the newest (as Database.active_bans)
        if row["user_id"] not in seen:
            seen.add(row["user_id"])
            result.append(_ban_row(row))
    return result


async def reports_since(db: Database, since: float) -> int:
    """Reports filed at or after ``since`` (for reports per hour)."""
    query = select(func.count()).where(reports.c.created_at >= since)
    async with db.transaction("count reports") as conn:
        return int((await conn.execute(query)).scalar_one())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
