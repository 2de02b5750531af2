"""A report's picture (issue 24): kept, counted, read by the console, deleted.

Beside ``database.py`` like ``safety.py``; each function is one transaction of its own.
A picture leaves the database only to a signed-in console moderator (``console.desk``)
and is deleted when its report is closed (``drop``) or older than the retention
(``expire``, run by the server's ban refresh).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from randomchat.core.evidence import Kept
from randomchat.db.database import Database
from randomchat.db.schema import evidence


async def kept_since(
    db: Database, reporter: str, reporter_address: str | None, since: float
) -> Kept:
    """The pictures kept at or after ``since`` from ``reporter`` and from their network."""

    by_reporter = select(func.count()).where(
        evidence.c.reporter == reporter, evidence.c.created_at >= since
    )
    async with db.transaction("count report pictures") as conn:
        mine = int((await conn.execute(by_reporter)).scalar_one())
        network = 0
        if reporter_address is not None:
            by_network = select(func.count()).where(
                evidence.c.reporter_address == reporter_address, evidence.c.created_at >= since
            )
            network = int((await conn.execute(by_network)).scalar_one())
    return Kept(mine, network)


async def keep(
    db: Database,
    report_id: int,
    reporter: str,
    reporter_address: str | None,
    picture: bytes,
    now: float,
) -> None:
    """Store the picture of report ``report_id`` (one per report)."""
    row = {
        "report_id": report_id,
        "reporter": reporter,
        "reporter_address": reporter_address,
        "picture": picture,
        "created_at": now,
    }
    async with db.transaction("store a report picture", write=True) as conn:
        await conn.execute(evidence.insert().values(**row))


async def picture(db: Database, report_id: int, now: float, keep_for: float) -> bytes | None:
    """The picture of report ``report_id``; None if it has none, or it is past
    ``keep_for`` seconds old (the sweep may not have run yet: it is gone all the same)."""
    query = select(evidence.c.picture).where(
        evidence.c.report_id == report_id, evidence.c.created_at > now - keep_for
    )
    async with db.transaction("read a report picture") as conn:
        found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else bytes(found)


async def with_pictures(db: Database, report_ids: Iterable[int]) -> set[int]:
    """Which of ``report_ids`` have a picture (for the console's list)."""
    wanted = sorted(set(report_ids))
    if not wanted:
        return set()
    query = select(evidence.c.report_id).where(evidence.c.report_id.in_(wanted))
    async with db.transaction("find report pictures") as conn:
        return {int(i) for i in (await conn.execute(query)).scalars()}


async def drop(db: Database, report_id: int) -> bool:
    """Delete report ``report_id``'s picture; whether there was one."""
    async with db.transaction("delete a report picture", write=True) as conn:
        result = await conn.execute(evidence.delete().where(evidence.c.report_id == report_id))
    return bool(result.rowcount)


async def expire(db: Database, before: float) -> int:
    """Delete the pictures kept before ``before``; how many."""
    async with db.transaction("delete old report pictures", write=True) as conn:
        result = await conn.execute(evidence.delete().where(evidence.c.created_at < before))
    return int(result.rowcount)
