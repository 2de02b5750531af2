"""Storage of reports, bans and blocks: SQLite in a file by default, PostgreSQL by URL.

database.py   Database: the async operations, one transaction each
records.py    Ban, ChatLine, Report: the frozen values it returns
schema.py     the tables (SQLAlchemy Core)
migrate.py    Alembic driven from code; migrations/ holds the revisions
errors.py     StorageError
"""

from __future__ import annotations

from randomchat.db.database import Database
from randomchat.db.errors import StorageError
from randomchat.db.records import Ban, ChatLine, Report

__all__ = ["Ban", "ChatLine", "Database", "Report", "StorageError"]
