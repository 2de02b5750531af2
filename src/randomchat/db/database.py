"""``Database``: reports, bans and blocks through an async SQLAlchemy engine.

Theory of operation
-------------------
Every method runs in one transaction of its own and returns frozen values
(``records.py``); no session or row escapes. Times come from the caller, so the
same code serves the server (wall clock), the CLI and the tests (fixed times).

SQLite is the embedded default: one file, WAL so that readers (the server)
and a writer (``randomchat ban`` in another process) do not block each other,
and a busy timeout so that two writers wait instead of failing. Python's
``sqlite3`` would only open transactions before DML and commit before DDL; we
switch that off and emit ``BEGIN`` ourselves (``BEGIN IMMEDIATE`` for writes,
which takes the write lock up front and so never fails half-way on a lock
upgrade). PostgreSQL needs none of this.

A ban is active while ``ended_at`` is null and ``until`` lies ahead. ``ban``
ends the user's active bans and inserts the new one in one transaction, so
the newest ban is the one that holds (an administrator may shorten a ban as
well as extend it). Where two bans race on PostgreSQL, readers take the newest.

Foreign errors (SQLAlchemy, the drivers, the file system, Alembic) leave as
``StorageError`` with the cause chained.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Connection,
    Executable,
    RowMapping,
    distinct,
    event,
    func,
    make_url,
    or_,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from randomchat.db import migrate
from randomchat.db.errors import StorageError
from randomchat.db.records import Ban, ChatLine, Report
from randomchat.db.schema import bans, blocks, reports

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATE_ATTEMPTS = 6  # busy timeouts a first open waits for another process's migrations
DAY = 24 * 3600.0
# The latest time a ban may end: 9999-12-31 23:59:59 UTC, still a datetime.
MAX_UNTIL = 253_402_300_799.0
# Reports hold chat lines: only the server's own user may read the file.
FILE_MODE = 0o600
DIR_MODE = 0o700

# Connection execution option that makes the SQLite ``begin`` hook take the write lock.
WRITE = "randomchat_write"


def _describe(exc: BaseException) -> str:
    """The cause without the SQL text or bound parameters (notes, chat lines)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"
    return f"{type(exc).__name__}: {exc}"


def _sqlite_path(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def private_file(path: Path) -> None:
    """Create ``path`` (and its directory) readable by this user only; tighten an old file.

    SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database file.
    """
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def make_engine(url: URL) -> AsyncEngine:
    """An engine for ``url``; for SQLite with the file mode, pragmas and BEGINs described above."""
    if url.get_backend_name() != "sqlite":
        # pre_ping: a restarted PostgreSQL costs one reconnect, not one failed request.
        return create_async_engine(url, pool_pre_ping=True)
    path = _sqlite_path(url)
    if path is not None:
        private_file(path)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver; transactions are the BEGINs below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # Safe in WAL mode: a power cut may lose the last commits, never corrupt.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _ban(row: RowMapping) -> Ban | None:
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


def _report(row: RowMapping) -> Report:
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


def _newest_per_user(rows: Iterable[RowMapping]) -> list[Ban]:
    """Rows ordered newest first; keep each user's first (see the module docstring)."""
    seen: set[str] = set()
    result: list[Ban] = []
    for row in rows:
        ban = _ban(row)
        if ban is not None and ban.user_id not in seen:
            seen.add(ban.user_id)
            result.append(ban)
    return result


def _is_active(row: RowMapping, now: float) -> bool:
    return row["ended_at"] is None and row["until"] > now


def check_ban_times(until: float, now: float) -> None:
    """Raise ``ValueError`` unless a ban from ``now`` to ``until`` is finite and ahead."""
    if not (math.isfinite(now) and math.isfinite(until)):
        raise ValueError("a ban's times must be finite")
    if until <= now:
        raise ValueError("a ban must end after it starts")
    if until > MAX_UNTIL:
        raise ValueError("a ban must end before the year 10000")


def _active(now: float) -> list[Any]:
    return [bans.c.ended_at.is_(None), bans.c.until > now]


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
            raise StorageError(f"cannot open {shown}: {_describe(exc)}") from exc
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
            raise StorageError(f"cannot {action}: {_describe(exc)}") from exc

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
            .where(bans.c.user_id == user_id, *_active(now))
            .order_by(bans.c.created_at.desc(), bans.c.id.desc())
            .limit(1)
        )
        async with self._transaction("read a ban") as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _ban(row)

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
        return None if row is None else _ban(row)

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
                    bans.c.user_id == user_id, bans.c.address_hash.is_not(None), *_active(now)
                )
                address_hash = (await conn.execute(kept.limit(1))).scalar_one_or_none()
            ban = Ban(user_id, reason, float(now), float(until), created_by, address_hash)
            await conn.execute(
                bans.update().where(bans.c.user_id == user_id, *_active(now)).values(ended_at=now)
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
                bans.update().where(bans.c.user_id == user_id, *_active(now)).values(ended_at=now)
            )
        return result.rowcount > 0

    async def active_bans(
        self, now: float, *, limit: int | None = None, offset: int = 0
    ) -> list[Ban]:
        """Bans active at ``now``, one per user, newest first; a page with ``limit``."""
        query = (
            select(bans).where(*_active(now)).order_by(bans.c.created_at.desc(), bans.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit).offset(offset)
        async with self._transaction("read bans") as conn:
            rows = (await conn.execute(query)).mappings().all()
        return _newest_per_user(rows)

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
        active = _newest_per_user(row for row in rows if _is_active(row, now))
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
        return [_report(row) for row in rows]

    # -- overview ----------------------------------------------------------------

    async def stats(self, now: float) -> dict[str, int]:
        """Counts for the admin overview: reports (all, last 24 h), active bans, blocks."""
        count = func.count()
        queries = {
            "reports_total": select(count).select_from(reports),
            "reports_24h": select(count).where(reports.c.created_at >= now - DAY),
            "active_bans": select(func.count(distinct(bans.c.user_id))).where(*_active(now)),
            "blocks_total": select(count).select_from(blocks),
        }
        async with self._transaction("read statistics") as conn:
            return {
                name: int((await conn.execute(query)).scalar_one())
                for name, query in queries.items()
            }
