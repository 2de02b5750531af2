"""``Database``: reports, bans and blocks through an async SQLAlchemy engine.

Theory of operation
-------------------
Every method runs in one transaction of its own and returns frozen values
(``records.py``); no session or row escapes. Times come from the caller, so the
same code serves the server (wall clock), the CLI and the tests (fixed times).

The engine (SQLite's file mode, pragmas and BEGINs) is made in ``engine.py``; rows
become records, and a ban's times are checked, in ``rows.py``.

A ban is active while ``ended_at`` is null and ``until`` lies ahead. ``ban``
ends the user's active bans and inserts the new one in one transaction, so
the newest ban is the one that holds (an administrator may shorten a ban as
well as extend it). Where two bans race on PostgreSQL, readers take the newest.

Foreign errors (SQLAlchemy, the drivers, the file system, Alembic) leave as
``StorageError`` with the cause chained.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import Executable, distinct, func, make_url, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from randomchat.db import migrate
from randomchat.db.engine import WRITE, describe, make_engine
from randomchat.db.errors import StorageError
from randomchat.db.records import Ban, ChatLine, Report
from randomchat.db.rows import (
    MAX_UNTIL,
    active_at,
    ban_of,
    check_ban_times,
    is_active,
    newest_per_user,
    report_of,
)
from randomchat.db.schema import bans, blocks, reports

# Re-exported for the migrations' env.py and the tests that import them from here.
__all__ = ["MAX_UNTIL", "WRITE", "Database", "check_ban_times", "make_engine"]

log = logging.getLogger(__name__)

MIGRATE_ATTEMPTS = 6  # busy timeouts a first open waits for another process's migrations
DAY = 24 * 3600.0


class Database:
    """Reports, bans and blocks. Build with ``await Database.open(url)``; ``close`` when done."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> Database:
        """Connect to ``url`` (an async SQLAlchemy URL) and migrate the schema to the newest."""
        try:
            parsed = make_url(url)
        except sa_exc.ArgumentError as exc:
            raise StorageError(f"not a database URL: {exc}") from exc
        shown = parsed.render_as_string(hide_password=True)
        try:
            engine = make_engine(parsed)
        except (sa_exc.SQLAlchemyError, ImportError, OSError) as exc:
            raise StorageError(f"cannot open {shown}: {describe(exc)}") from exc
        db = cls(engine)
        try:
            for attempt in range(1, MIGRATE_ATTEMPTS + 1):
                try:
                    async with db._transaction(f"migrate {shown}", write=True) as conn:
                        await conn.run_sync(migrate.upgrade)
                    break
                except StorageError as exc:
                    # Another process opening the same fresh SQLite file holds the write
                    # lock for all its migrations, which on a loaded machine can take
                    # longer than one busy timeout: wait again rather than fail.
                    if "database is locked" not in str(exc) or attempt == MIGRATE_ATTEMPTS:
                        raise
                    log.info(
                        "database locked by another process; waiting", extra={"attempt": attempt}
                    )
        except BaseException:
            await engine.dispose()
            raise
        log.debug("database open", extra={"database": shown})
        return db

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @asynccontextmanager
    async def _transaction(
        self, action: str, *, write: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                if write:
                    await conn.execution_options(**{WRITE: True})
                async with conn.begin():
                    yield conn
        except (sa_exc.SQLAlchemyError, OSError, migrate.MigrationError) as exc:
            raise StorageError(f"cannot {action}: {describe(exc)}") from exc

    def transaction(
        self, action: str, *, write: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """One transaction, for the storage modules beside this one (accounts, audit).

        ``action`` names what fails in the ``StorageError``; ``write`` takes the
        SQLite write lock up front.
        """
        return self._transaction(action, write=write)

    # -- bans --------------------------------------------------------------------

    async def active_ban(self, user_id: str, now: float) -> Ban | None:
        """The ban that keeps ``user_id`` out at ``now``, if any."""
        query = (
            select(bans)
            .where(bans.c.user_id == user_id, *active_at(now))
            .order_by(bans.c.created_at.desc(), bans.c.id.desc())
            .limit(1)
        )
        async with self._transaction("read a ban") as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else ban_of(row)

    async def latest_ban(self, user_id: str) -> Ban | None:
        """The most recent ban of ``user_id``, active, expired or lifted."""
        query = (
            select(bans)
            .where(bans.c.user_id == user_id)
            .order_by(bans.c.created_at.desc(), bans.c.id.desc())
            .limit(1)
        )
        async with self._transaction("read a ban") as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else ban_of(row)

    async def ban(
        self,
        user_id: str,
        *,
        until: float,
        reason: str,
        created_by: str,
        now: float,
        address_hash: str | None = None,
    ) -> Ban:
        """Ban ``user_id`` (and ``address_hash``, a guest's network) from ``now`` to ``until``,
        replacing any active ban of the user. The new ban keeps the address of the ban it
        replaces: a longer ban of the user alone must not quietly free their network
        (lift an address with ``db.safety.unban_address``).

        ``ValueError`` for times that are not finite, not ahead or past ``MAX_UNTIL``.
        """
        check_ban_times(until, now)
        async with self._transaction("ban a user", write=True) as conn:
            if address_hash is None:
                kept = select(bans.c.address_hash).where(
                    bans.c.user_id == user_id, bans.c.address_hash.is_not(None), *active_at(now)
                )
                address_hash = (await conn.execute(kept.limit(1))).scalar_one_or_none()
            ban = Ban(user_id, reason, float(now), float(until), created_by, address_hash)
            await conn.execute(
                bans.update().where(bans.c.user_id == user_id, *active_at(now)).values(ended_at=now)
            )
            await conn.execute(
                bans.insert().values(
                    user_id=user_id,
                    reason=reason,
                    created_at=now,
                    until=until,
                    created_by=created_by,
                    address_hash=address_hash,
                )
            )
        return ban

    async def unban(self, user_id: str, now: float) -> bool:
        """End the active bans of ``user_id``; whether there was one."""
        async with self._transaction("lift a ban", write=True) as conn:
            result = await conn.execute(
                bans.update().where(bans.c.user_id == user_id, *active_at(now)).values(ended_at=now)
            )
        return result.rowcount > 0

    async def active_bans(
        self, now: float, *, limit: int | None = None, offset: int = 0
    ) -> list[Ban]:
        """Bans active at ``now``, one per user, newest first; a page with ``limit``."""
        query = (
            select(bans).where(*active_at(now)).order_by(bans.c.created_at.desc(), bans.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit).offset(offset)
        async with self._transaction("read bans") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return newest_per_user(rows)

    async def ban_changes(self, since: float, now: float) -> tuple[list[Ban], list[str]]:
        """What changed at or after ``since``: bans now active, and users now without one.

        Reads only the rows made or ended since then (indexes on ``created_at``
        and ``ended_at``), so its cost follows the changes, not the number of
        active bans. A user with a changed row and no active one among them was
        unbanned or replaced by a ban that has already expired; ``ban`` ends and
        inserts in one transaction, so a replacement is always among the changes.
        """
        query = (
            select(bans)
            .where(or_(bans.c.created_at >= since, bans.c.ended_at >= since))
            .order_by(bans.c.created_at.desc(), bans.c.id.desc())
        )
        async with self._transaction("read ban changes") as conn:
            rows = (await conn.execute(query)).mappings().all()
        active = newest_per_user(row for row in rows if is_active(row, now))
        banned = {ban.user_id for ban in active}
        lifted = sorted({row["user_id"] for row in rows} - banned)
        return active, lifted

    # -- blocks ------------------------------------------------------------------

    async def block(self, blocker: str, blocked: str, now: float) -> None:
        """Record that ``blocker`` blocked ``blocked``; blocking again changes nothing."""
        row = {"blocker": blocker, "blocked": blocked, "created_at": now}
        statement: Executable
        if self.dialect == "postgresql":
            # Imported here: a server on SQLite does not need the dialect (2.4 MB at rest).
            from sqlalchemy.dialects import postgresql

            statement = postgresql.insert(blocks).values(row).on_conflict_do_nothing()
        else:
            statement = sqlite.insert(blocks).values(row).on_conflict_do_nothing()
        async with self._transaction("record a block", write=True) as conn:
            await conn.execute(statement)

    async def users_in_blocks(self) -> AsyncIterator[str]:
        """Every user who blocked or was blocked by someone (repeats possible), streamed."""
        query = select(blocks.c.blocker).union_all(select(blocks.c.blocked))
        async with self._transaction("read who is in blocks") as conn:
            async for row in await conn.stream(query):
                yield row[0]

    async def blocked_with(self, user_id: str) -> frozenset[str]:
        """Users ``user_id`` blocked or was blocked by: never to be paired with them."""
        query = (
            select(blocks.c.blocked)
            .where(blocks.c.blocker == user_id)
            .union(select(blocks.c.blocker).where(blocks.c.blocked == user_id))
        )
        async with self._transaction("read blocks") as conn:
            rows = (await conn.execute(query)).scalars().all()
        return frozenset(rows)

    # -- reports -----------------------------------------------------------------

    async def report(
        self,
        reporter: str,
        reported: str,
        *,
        reason: str,
        note: str,
        chat: Sequence[ChatLine],
        now: float,
        reporter_address: str | None = None,
        reported_address: str | None = None,
        weight: float = 1.0,
        reported_name: str = "",
    ) -> Report:
        """Record a report with the chat lines of the call it ended, the keyed hashes of
        both sides' networks, the report's weight and the reported user's shown name."""
        lines = [{"sender": c.sender, "text": c.text, "sent_at": c.sent_at} for c in chat]
        async with self._transaction("record a report", write=True) as conn:
            result = await conn.execute(
                reports.insert().values(
                    reporter=reporter,
                    reported=reported,
                    reason=reason,
                    note=note,
                    chat=lines,
                    created_at=now,
                    reporter_address=reporter_address,
                    reported_address=reported_address,
                    weight=weight,
                    reported_name=reported_name,
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise StorageError("cannot record a report: the database returned no id")
            report_id = int(key[0])
        return Report(
            report_id,
            reporter,
            reported,
            reason,
            note,
            list(chat),
            float(now),
            reporter_address,
            reported_address,
            weight,
            reported_name,
        )

    async def distinct_reporters(self, user_id: str, since: float) -> int:
        """How many different users reported ``user_id`` at or after ``since``."""
        query = select(func.count(distinct(reports.c.reporter))).where(
            reports.c.reported == user_id, reports.c.created_at >= since
        )
        async with self._transaction("count reports") as conn:
            return int((await conn.execute(query)).scalar_one())

    async def reports(
        self, *, limit: int = 100, offset: int = 0, user_id: str | None = None
    ) -> list[Report]:
        """Reports newest first; with ``user_id``, only the reports about that user."""
        query = select(reports).order_by(reports.c.created_at.desc(), reports.c.id.desc())
        if user_id is not None:
            query = query.where(reports.c.reported == user_id)
        query = query.limit(limit).offset(offset)
        async with self._transaction("read reports") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [report_of(row) for row in rows]

    # -- overview ----------------------------------------------------------------

    async def stats(self, now: float) -> dict[str, int]:
        """Counts for the admin overview: reports (all, last 24 h), active bans, blocks."""
        count = func.count()
        queries = {
            "reports_total": select(count).select_from(reports),
            "reports_24h": select(count).where(reports.c.created_at >= now - DAY),
            "active_bans": select(func.count(distinct(bans.c.user_id))).where(*active_at(now)),
            "blocks_total": select(count).select_from(blocks),
        }
        async with self._transaction("read statistics") as conn:
            return {
                name: int((await conn.execute(query)).scalar_one())
                for name, query in queries.items()
            }
