"""The storage suite, run on SQLite and on PostgreSQL (see ``conftest.py``).

Times are fixed numbers passed in, as the server passes its clock's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from randomchat.db import Ban, ChatLine, Database, StorageError
from randomchat.db.migrate import HEADS, alembic_config
from randomchat.db.schema import metadata

pytestmark = pytest.mark.process

T0 = 1_700_000_000.0
HOUR = 3600.0


async def _revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# -- migrations -------------------------------------------------------------------


def test_heads_named_in_code_are_the_revisions_heads() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == list(HEADS)


async def test_open_migrates_a_fresh_database_to_head(database_url: str) -> None:
    db = await Database.open(database_url)
    await db.close()
    assert await _revision(database_url) == _head()  # get_current_head: exactly one head


async def test_migrated_schema_matches_the_metadata(database_url: str) -> None:
    db = await Database.open(database_url)
    await db.close()

    def differences(sync: Connection) -> list[object]:
        assert set(inspect(sync).get_table_names()) >= {"bans", "blocks", "reports"}
        return list(compare_metadata(MigrationContext.configure(sync), metadata))

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_reopening_is_idempotent_and_keeps_data(database_url: str) -> None:
    db = await Database.open(database_url)
    await db.ban("u1", until=T0 + HOUR, reason="spam", created_by="t", now=T0)
    await db.close()
    db = await Database.open(database_url)
    try:
        assert await _revision(database_url) == _head()
        assert (await db.active_ban("u1", T0)) is not None
    finally:
        await db.close()


async def test_concurrent_first_opens_both_succeed(database_url: str) -> None:
    """The server and the CLI may open a fresh database at the same moment."""
    first, second = await asyncio.gather(Database.open(database_url), Database.open(database_url))
    await first.close()
    await second.close()
    assert await _revision(database_url) == _head()


async def test_sqlite_creates_the_data_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "randomchat.db"
    db = await Database.open(f"sqlite+aiosqlite:///{path}")
    await db.close()
    assert path.is_file()


async def test_sqlite_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    db = await Database.open(url)
    await db.close()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchdriver://x/y",
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    ],
)
async def test_open_failures_are_storage_errors(url: str) -> None:
    with pytest.raises(StorageError):
        await Database.open(url)


async def test_an_unwritable_sqlite_path_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageError):
        await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'file' / 'r.db'}")


# -- bans -------------------------------------------------------------------------


async def test_a_ban_is_active_until_it_expires(db: Database) -> None:
    ban = await db.ban("u1", until=T0 + HOUR, reason="spam", created_by="cli:root", now=T0)
    assert ban == Ban("u1", "spam", T0, T0 + HOUR, "cli:root")
    assert await db.active_ban("u1", T0) == ban
    assert await db.active_ban("u1", T0 + HOUR - 1) == ban
    assert await db.active_ban("u1", T0 + HOUR) is None
    assert await db.active_ban("u2", T0) is None


async def test_a_new_ban_replaces_the_active_one(db: Database) -> None:
    await db.ban("u1", until=T0 + 10 * HOUR, reason="first", created_by="a", now=T0)
    shorter = await db.ban("u1", until=T0 + 2 * HOUR, reason="second", created_by="b", now=T0 + 1)
    assert await db.active_ban("u1", T0 + 1) == shorter
    assert await db.active_ban("u1", T0 + 3 * HOUR) is None
    longer = await db.ban("u1", until=T0 + 20 * HOUR, reason="third", created_by="c", now=T0 + 2)
    assert await db.active_ban("u1", T0 + 15 * HOUR) == longer
    assert await db.active_bans(T0 + 3) == [longer]


async def test_a_ban_must_end_after_it_starts(db: Database) -> None:
    with pytest.raises(ValueError):
        await db.ban("u1", until=T0, reason="x", created_by="t", now=T0)


async def test_unban_ends_the_active_ban(db: Database) -> None:
    assert await db.unban("u1", T0) is False
    await db.ban("u1", until=T0 + HOUR, reason="spam", created_by="t", now=T0)
    assert await db.unban("u1", T0 + 10) is True
    assert await db.active_ban("u1", T0 + 11) is None
    assert await db.unban("u1", T0 + 12) is False
    await db.ban("u2", until=T0 + HOUR, reason="spam", created_by="t", now=T0)
    assert await db.unban("u2", T0 + HOUR + 1) is False  # already expired


async def test_latest_ban_includes_ended_ones(db: Database) -> None:
    assert await db.latest_ban("u1") is None
    await db.ban("u1", until=T0 + HOUR, reason="a", created_by="t", now=T0)
    second = await db.ban("u1", until=T0 + 2 * HOUR, reason="b", created_by="t", now=T0 + 5)
    await db.unban("u1", T0 + 6)
    assert await db.latest_ban("u1") == second


async def test_active_bans_lists_current_bans_newest_first(db: Database) -> None:
    a = await db.ban("a", until=T0 + HOUR, reason="r", created_by="t", now=T0)
    await db.ban("b", until=T0 + 10, reason="r", created_by="t", now=T0 + 1)
    c = await db.ban("c", until=T0 + HOUR, reason="r", created_by="t", now=T0 + 2)
    await db.ban("d", until=T0 + HOUR, reason="r", created_by="t", now=T0 + 3)
    await db.unban("d", T0 + 4)
    assert await db.active_bans(T0 + 20) == [c, a]


# -- blocks -----------------------------------------------------------------------


async def test_blocks_are_symmetric_for_pairing(db: Database) -> None:
    await db.block("a", "b", T0)
    await db.block("c", "a", T0)
    assert await db.blocked_with("a") == frozenset({"b", "c"})
    assert await db.blocked_with("b") == frozenset({"a"})
    assert await db.blocked_with("c") == frozenset({"a"})
    assert await db.blocked_with("d") == frozenset()


async def test_blocking_twice_is_harmless(db: Database) -> None:
    await db.block("a", "b", T0)
    await db.block("a", "b", T0 + 1)
    await db.block("b", "a", T0 + 2)
    assert await db.blocked_with("a") == frozenset({"b"})
    assert (await db.stats(T0))["blocks_total"] == 2


# -- reports ----------------------------------------------------------------------


async def test_reports_round_trip_with_their_chat(db: Database) -> None:
    chat = [
        ChatLine("a", "hi", T0 - 5.25),
        ChatLine("b", 'héllo \N{WAVING HAND SIGN} "quoted"', T0 - 4.5),
    ]
    report = await db.report("a", "b", reason="harassment", note="rude", chat=chat, now=T0)
    assert report.id > 0
    assert report.chat == chat
    assert await db.reports() == [report]
    empty = await db.report("c", "b", reason="spam", note="", chat=[], now=T0 + 1)
    assert (await db.reports())[0] == empty


async def test_reports_are_listed_newest_first_with_paging_and_a_user_filter(
    db: Database,
) -> None:
    made = [
        await db.report(
            f"r{i}", "x" if i % 2 else "y", reason="spam", note=str(i), chat=[], now=T0 + i
        )
        for i in range(5)
    ]
    newest_first = made[::-1]
    assert await db.reports() == newest_first
    assert await db.reports(limit=2) == newest_first[:2]
    assert await db.reports(limit=2, offset=2) == newest_first[2:4]
    assert await db.reports(user_id="x") == [made[3], made[1]]
    assert await db.reports(user_id="nobody") == []


async def test_distinct_reporters_counts_people_inside_the_window(db: Database) -> None:
    for reporter, at in [("a", T0), ("a", T0 + 1), ("b", T0 + 2), ("c", T0 - 100)]:
        await db.report(reporter, "x", reason="spam", note="", chat=[], now=at)
    await db.report("d", "someone-else", reason="spam", note="", chat=[], now=T0)
    assert await db.distinct_reporters("x", since=T0) == 2
    assert await db.distinct_reporters("x", since=T0 - 100) == 3
    assert await db.distinct_reporters("x", since=T0 + 3) == 0
    assert await db.distinct_reporters("nobody", since=0) == 0


# -- persistence and overview ------------------------------------------------------


async def test_everything_survives_close_and_reopen(database_url: str) -> None:
    db = await Database.open(database_url)
    ban = await db.ban("u1", until=T0 + HOUR, reason="spam", created_by="t", now=T0)
    await db.block("a", "b", T0)
    report = await db.report(
        "a", "b", reason="other", note="n", chat=[ChatLine("a", "x", T0)], now=T0
    )
    await db.close()
    db = await Database.open(database_url)
    try:
        assert await db.active_ban("u1", T0 + 1) == ban
        assert await db.blocked_with("b") == frozenset({"a"})
        assert await db.reports() == [report]
    finally:
        await db.close()


async def test_stats(db: Database) -> None:
    assert await db.stats(T0) == {
        "reports_total": 0,
        "reports_24h": 0,
        "active_bans": 0,
        "blocks_total": 0,
    }
    await db.report("a", "b", reason="spam", note="", chat=[], now=T0 - 25 * HOUR)
    await db.report("a", "b", reason="spam", note="", chat=[], now=T0 - HOUR)
    await db.report("c", "b", reason="spam", note="", chat=[], now=T0)
    await db.ban("b", until=T0 + HOUR, reason="r", created_by="t", now=T0)
    await db.ban("b", until=T0 + 2 * HOUR, reason="r", created_by="t", now=T0 + 1)
    await db.ban("e", until=T0 + 1, reason="r", created_by="t", now=T0 - 1)
    await db.block("a", "b", T0)
    assert await db.stats(T0 + 2) == {
        "reports_total": 3,
        "reports_24h": 2,
        "active_bans": 1,
        "blocks_total": 1,
    }


# -- bounded times and the changes-only read (issue 8 item 14) ----------------------------


@pytest.mark.parametrize("until", [float("inf"), float("nan"), T0, T0 - 1, 1e300])
async def test_ban_refuses_times_that_are_not_finite_and_ahead(db: Database, until: float) -> None:
    with pytest.raises(ValueError):
        await db.ban("u1", until=until, reason="x", created_by="t", now=T0)
    assert await db.active_bans(T0) == []


async def test_ban_changes_reads_only_bans_made_or_ended_since(db: Database) -> None:
    for i in range(5):
        await db.ban(f"old{i}", until=T0 + 10 * HOUR, reason="x", created_by="t", now=T0)
    await db.ban("lifted", until=T0 + 10 * HOUR, reason="x", created_by="t", now=T0)
    since = T0 + 100
    await db.ban("new", until=T0 + HOUR, reason="x", created_by="t", now=since + 1)
    await db.ban("old0", until=T0 + 2 * HOUR, reason="longer", created_by="t", now=since + 2)
    await db.unban("lifted", since + 3)
    active, lifted = await db.ban_changes(since, T0 + 200)
    assert sorted((b.user_id, b.reason) for b in active) == [("new", "x"), ("old0", "longer")]
    assert lifted == ["lifted"]
    assert await db.ban_changes(since + 10, T0 + 200) == ([], [])


async def test_sqlite_file_is_created_private(tmp_path: Path) -> None:
    import stat

    path = tmp_path / "d" / "r.db"
    db = await Database.open(f"sqlite+aiosqlite:///{path}")
    try:
        await db.ban("u1", until=T0 + HOUR, reason="x", created_by="t", now=T0)
    finally:
        await db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
