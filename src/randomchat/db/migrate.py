"""Alembic, driven from code: the config is built here, no ``alembic.ini`` is read.

``upgrade`` runs inside a transaction the caller opened, so on PostgreSQL and
on SQLite (see ``database.py``: explicit ``BEGIN IMMEDIATE``) a failed
migration leaves nothing half done. Two processes opening a fresh database at
once (the server and the CLI) are serialised: SQLite by its write lock,
PostgreSQL by an advisory lock taken first.

To write a new revision by hand::

    alembic -c src/randomchat/db/alembic.ini revision --autogenerate -m "what changed"

(``env.py`` takes the URL from the same settings as ``randomchat serve``.)
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

log = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any constant shared by every randomchat process; "rchat" in ASCII.
_PG_LOCK = 0x7263686174


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for our migrations; with ``url`` for runs that open their own engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at; empty for a fresh one."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def upgrade(connection: Connection) -> None:
    """Bring the schema to the newest revision, on a connection inside a transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    cfg = alembic_config()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    current = current_revisions(connection)
    if current == heads:
        return
    log.info("migrating the database", extra={"from": sorted(current), "to": sorted(heads)})
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
