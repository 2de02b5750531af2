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

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

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


def upgrade(connection: Connection) -> None:
    """Bring the schema to the newest revision, on a connection inside a transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
