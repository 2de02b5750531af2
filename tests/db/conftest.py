"""Database URLs for the storage suite: a SQLite file, and a throwaway PostgreSQL cluster.

The PostgreSQL cluster comes from Debian's packages (``/usr/lib/postgresql/N/bin``):
``initdb`` with trust authentication in a temporary directory, ``pg_ctl`` on a free
port of 127.0.0.1, run as the ``postgres`` user because PostgreSQL refuses to run as
root. It starts once per session, gives each test a fresh database, and is stopped
and deleted at the end. Without the binaries, or when not root, the PostgreSQL
parameter is skipped with the reason; anything else that goes wrong fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from randomchat.db import Database
from tests.conftest import free_port

PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_VERSION = "15"


@dataclass(frozen=True)
class PostgresServer:
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"


def _pg_bin() -> Path | None:
    """Debian's PostgreSQL 15 binaries, else the newest installed version."""
    preferred = PG_ROOT / PREFERRED_VERSION / "bin"
    if (preferred / "initdb").is_file():
        return preferred
    found = sorted(
        (p.parent for p in PG_ROOT.glob("*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def _as_postgres(*args: str | Path) -> None:
    command = ["runuser", "-u", "postgres", "--", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(f"no PostgreSQL binaries in {PG_ROOT}/*/bin (apt-get install postgresql-15)")
    if os.geteuid() != 0:
        pytest.skip("PostgreSQL tests start a cluster as the postgres user, which needs root")
    base = Path(tempfile.mkdtemp(prefix="randomchat-pg-"))
    shutil.chown(base, user="postgres", group="postgres")
    data = base / "data"
    port = free_port()
    # fsync off: a test cluster needs no durability. The socket goes into our directory
    # because /var/run/postgresql may not exist outside a full installation.
    options = f"-h 127.0.0.1 -p {port} -k {base} -F"
    try:
        _as_postgres(
            bin_dir / "initdb",
            "-D",
            data,
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        _as_postgres(
            bin_dir / "pg_ctl", "-D", data, "-l", base / "log", "-o", options, "-w", "start"
        )
        yield PostgresServer(port)
    finally:
        if (data / "postmaster.pid").exists():
            _as_postgres(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database; open it as often as the test likes."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'randomchat.db'}"
        return
    import asyncpg

    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(server.url("postgres").replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.url(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await Database.open(database_url)
    try:
        yield database
    finally:
        await database.close()
