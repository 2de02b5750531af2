"""Storage of reports, bans and blocks: SQLite in a file by default, PostgreSQL by URL.

database.py   Database: the async operations on bans, blocks and reports, one
              transaction each
engine.py     the SQLAlchemy engine: the file's mode, SQLite's pragmas and BEGINs
rows.py       rows into records, which bans are active, a ban's time bounds
records.py    Ban, ChatLine, Report: the frozen values it returns
safety.py     the safety rules' queries: report tally, address bans, a report by id
triage.py     the console's report queue, user histories, ban search and undo
evidence.py   the pictures attached to reports
audit.py      the console's audit log
accounts.py   console accounts
schema.py     the tables (SQLAlchemy Core)
migrate.py    Alembic driven from code; migrations/ holds the revisions
errors.py     StorageError
"""

from __future__ import annotations

from randomchat.db.database import Database
from randomchat.db.errors import StorageError
from randomchat.db.records import Ban, ChatLine, Report

__all__ = ["Ban", "ChatLine", "Database", "Report", "StorageError"]
