"""Alembic, driven from code: the config is built here, no ``alembic.ini`` is read.

``upgrade`` runs inside a transaction the caller opened, so on PostgreSQL and
on SQLite (see ``database.py``: explicit ``BEGIN IMMEDIATE``) a failed
migration leaves nothing half done. Two processes opening a fresh database at
once (the server and the CLI) are serialised: SQLite by its write lock,
PostgreSQL by an advisory lock taken first.

To write a new revision by hand::

    alembic -c src/randomchat/db/alembic.ini revision --autogenerate -m "what changed"

(``env.py`` takes the URL from the same settings as ``randomchat serve``), then name
it in ``HEADS``: a database already at the heads is opened without importing Alembic
at all (with Mako and Pygments, about 15 MB of a server's resting memory). A test
checks ``HEADS`` against the revisions.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"
HEADS = frozenset({"0007_evidence"})
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any constant shared by every randomchat process; "rchat" in ASCII.
_PG_LOCK = 0x7263686174


class MigrationError(Exception):
    """Alembic could not migrate (its ``CommandError``, without importing Alembic to catch it)."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for our migrations; with ``url`` for runs that open their own engine."""
    from alembic.config import Config

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
    current = current_revisions(connection)
    if current == HEADS:
        return
    from alembic import command
    from alembic.util import CommandError

    log.info("migrating the database", extra={"from": sorted(current), "to": sorted(HEADS)})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    try:
        command.upgrade(cfg, "head")
    except CommandError as exc:
        raise MigrationError(str(exc)) from exc
