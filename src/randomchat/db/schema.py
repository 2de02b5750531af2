"""The tables, as SQLAlchemy Core metadata.

The migrations in ``migrations/versions`` create this schema; the metadata is
what the queries use and what ``alembic revision --autogenerate`` compares with.

- ``bans``: one row per ban. A ban is active while ``ended_at`` is null and
  ``until`` lies ahead; replacing or lifting a ban sets ``ended_at``, so the
  history stays.
- ``blocks``: who blocked whom, once per ordered pair.
- ``reports``: one row per report, with the last chat lines as JSON.
- ``evidence``: a report's picture (issue 24), deleted when the report is closed or
  old (``db.evidence``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid).
ID = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

bans = Table(
    "bans",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("user_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("until", Double, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("ended_at", Double, nullable=True),
    # A guest's network (keyed hash, never the address): banned with the user (0004).
    Column("address_hash", Text, nullable=True),
    Index(None, "user_id", "created_at"),
    Index(None, "created_at"),
    Index(None, "until"),
    Index(None, "ended_at"),  # the ban refresh reads lifts since its last run
    Index(None, "address_hash"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker", Text, nullable=False),
    Column("blocked", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("blocker", "blocked"),
    Index(None, "blocked"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("reporter", Text, nullable=False),
    Column("reported", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("chat", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    # Keyed hashes of both sides' networks, and the report's weight (0004).
    Column("reporter_address", Text, nullable=True),
    Column("reported_address", Text, nullable=True),
    Column("weight", Double, nullable=False, server_default="1"),
    # The reported user's shown name in that call, as the server had it (0006).
    Column("reported_name", Text, nullable=False, server_default=""),
    Index(None, "reported", "created_at"),
    Index(None, "reporter", "created_at"),  # the reporter's standing (0005)
    Index(None, "created_at"),
)

# -- the moderation console (issue 14) --------------------------------------------
# ``admin_accounts``: who may sign in to /admin, with an argon2 hash and a role
# (admin or moderator). ``audit_log``: one row per moderator action (who, what,
# when, why), never updated. ``report_reviews``: a report's triage status; a
# report without a row is open (a table of its own, so that reports stays as the
# report path writes it).

admin_accounts = Table(
    "admin_accounts",
    metadata,
    Column("name", Text, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "at"),
    Index(None, "target", "at"),
)

report_reviews = Table(
    "report_reviews",
    metadata,
    Column("report_id", ID, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),
    Column("reviewed_by", Text, nullable=False),
    Column("reviewed_at", Double, nullable=False),
    Index(None, "status"),
)

# A report's picture, a JPEG (``core.evidence``); at most one per report. The reporter
# and their network are copied here so that the per-reporter bounds count this table alone.
evidence = Table(
    "evidence",
    metadata,
    Column("report_id", ID, primary_key=True, autoincrement=False),
    Column("reporter", Text, nullable=False),
    Column("reporter_address", Text, nullable=True),
    Column("picture", LargeBinary, nullable=False),
    Column("created_at", Double, nullable=False),
    Index(None, "created_at"),
    Index(None, "reporter", "created_at"),
    Index(None, "reporter_address", "created_at"),
)
