"""Queries of the safety rules (issue 15): the report tally, address bans, a report by id.

Beside ``database.py`` so that the ban and report basics stay in one place;
each function is one transaction of its own, like the ``Database`` methods.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from randomchat.core.moderation import Counted
from randomchat.db.database import Database
from randomchat.db.records import Report
from randomchat.db.rows import active_at, report_of
from randomchat.db.schema import bans, report_reviews, reports


async def counted_reports(db: Database, user_id: str, since: float) -> list[Counted]:
    """The reports about ``user_id`` at or after ``since``, as ``core.moderation.tally`` takes
    them: reporter, reporter's address and weight."""
    query = select(reports.c.reporter, reports.c.reporter_address, reports.c.weight).where(
        reports.c.reported == user_id, reports.c.created_at >= since
    )
    async with db.transaction("count reports") as conn:
        rows = (await conn.execute(query)).all()
    return [Counted(row[0], row[1], float(row[2])) for row in rows]


async def reporter_record(db: Database, reporter: str, since: float) -> tuple[int, int, int]:
    """What moderators made of ``reporter``'s reports (upheld: warned or banned; dismissed),
    and how many they filed at or after ``since``: their standing (``core.moderation``)."""
    joined = reports.outerjoin(report_reviews, reports.c.id == report_reviews.c.report_id)
    status = report_reviews.c.status

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            count(status.in_(("warned", "banned"))),
            count(status == "dismissed"),
            count(reports.c.created_at >= since),
        )
        .select_from(joined)
        .where(reports.c.reporter == reporter)
    )
    async with db.transaction("read a reporter's standing") as conn:
        upheld, dismissed, filed = (await conn.execute(query)).one()
    return int(upheld), int(dismissed), int(filed)


async def report_by_id(db: Database, report_id: int) -> Report | None:
    async with db.transaction("read a report") as conn:
        row = (await conn.execute(select(reports).where(reports.c.id == report_id))).mappings()
        found = row.first()
    return None if found is None else report_of(found)


async def latest_address(db: Database, user_id: str) -> str | None:
    """The network (keyed hash) ``user_id`` was last reported from as a guest, if any."""
    query = (
        select(reports.c.reported_address)
        .where(reports.c.reported == user_id, reports.c.reported_address.is_not(None))
        .order_by(reports.c.created_at.desc(), reports.c.id.desc())
        .limit(1)
    )
    async with db.transaction("read a report") as conn:
        return (await conn.execute(query)).scalar_one_or_none()


async def unban_address(db: Database, address_hash: str, now: float) -> list[str]:
    """End the active bans that cover ``address_hash``; the users whose bans ended.

    A ban covers its user and the address together, so lifting the address lifts
    those users' bans too (ban the user again alone if that is wanted).
    """
    where = [bans.c.address_hash == address_hash, *active_at(now)]
    async with db.transaction("lift an address ban", write=True) as conn:
        users = (await conn.execute(select(bans.c.user_id).where(*where))).scalars().all()
        if users:
            await conn.execute(bans.update().where(*where).values(ended_at=now))
    return sorted(set(users))
