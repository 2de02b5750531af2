"""The SQLAlchemy engine behind ``Database``: the file's mode, SQLite's pragmas and BEGINs.

SQLite is the embedded default: one file, WAL so that readers (the server)
and a writer (``randomchat ban`` in another process) do not block each other,
and a busy timeout so that two writers wait instead of failing. Python's
``sqlite3`` would only open transactions before DML and commit before DDL; we
switch that off and emit ``BEGIN`` ourselves (``BEGIN IMMEDIATE`` for writes,
which takes the write lock up front and so never fails half-way on a lock
upgrade). PostgreSQL needs none of this.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Reports hold chat lines: only the server's own user may read the file.
FILE_MODE = 0o600
DIR_MODE = 0o700

# Connection execution option that makes the SQLite ``begin`` hook take the write lock.
WRITE = "randomchat_write"


def describe(exc: BaseException) -> str:
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
