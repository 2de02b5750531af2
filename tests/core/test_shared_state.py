"""The shared-state seams (store/shared.py), one suite for every implementation.

Every fixture runs the same tests on the in-memory implementation and on the
Redis one (store/redis_shared.py, a real redis-server per test). Tests of what
only a shared implementation can do (two nodes over one Redis, expiry) follow.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from randomchat.core.ratelimit import Limit
from randomchat.db import ChatLine, Database
from randomchat.errors import StorageError
from randomchat.store.redis_shared import (
    RedisBlocks,
    RedisLimits,
    RedisMeetings,
)
from randomchat.store.shared import (
    CHAT_LINES_KEPT,
    Blocks,
    CallRecord,
    Calls,
    Limits,
    Meetings,
    MemoryBlocks,
    MemoryCalls,
    MemoryLimits,
    MemoryMeetings,
)
from tests.redisserver import RedisServer, redis_server  # noqa: F401 (a fixture, used by name)

pytestmark = pytest.mark.process

STORES = ["memory", "redis"]
LIMITS = {"find": Limit.one_per(1000), "chat": Limit(rate=5, burst=2)}


@asynccontextmanager
async def _client(request: Any) -> AsyncIterator[Redis]:
    """A client of a redis-server started for this test only (memory tests start none)."""
    server: RedisServer = request.getfixturevalue("redis_server")
    client = Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=STORES)
async def meetings(request: Any) -> AsyncIterator[Meetings]:
    if request.param == "memory":
        yield MemoryMeetings(window=600)
        return
    async with _client(request) as client:
        yield RedisMeetings(client, window=600)


@pytest.fixture
async def calls() -> AsyncIterator[Calls]:
    yield MemoryCalls()  # node-local on a cluster too (lobby.arrival)


@pytest.fixture(params=STORES)
async def limits(request: Any) -> AsyncIterator[Limits]:
    if request.param == "memory":
        yield MemoryLimits(LIMITS)
        return
    async with _client(request) as client:
        yield RedisLimits(client, LIMITS)


@pytest.fixture(params=STORES)
async def blocks(request: Any, tmp_path: Any) -> AsyncIterator[Blocks]:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    if request.param == "memory":
        yield MemoryBlocks(db)
    else:
        async with _client(request) as client:
            yield RedisBlocks(client, db)
    await db.close()


async def test_blocks_written_before_the_store_existed_apply(tmp_path: Any) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    try:
        await db.block("a", "b", 0.0)  # an earlier run of the server
        blocks = MemoryBlocks(db)
        assert await blocks.excluded("b") == {"a"} and await blocks.excluded("a") == {"b"}
    finally:
        await db.close()


class _CountingDatabase(Database):
    reads = 0

    async def blocked_with(self, user_id: str) -> frozenset[str]:
        self.reads += 1
        return await super().blocked_with(user_id)


async def test_users_in_no_block_need_no_database_read(tmp_path: Any) -> None:
    db = await _CountingDatabase.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    try:
        await db.block("a", "b", 0.0)
        blocks = MemoryBlocks(db)
        found = await asyncio.gather(*(blocks.excluded(f"fresh-{i}") for i in range(200)))
        assert found == [frozenset()] * 200 and db.reads == 0
        assert await blocks.excluded("a") == {"b"} and db.reads == 1
        await blocks.add("c", "fresh-1", 1.0)  # made here: the filter learns it at once
        assert await blocks.excluded("fresh-1") == {"c"} and db.reads == 2
    finally:
        await db.close()


class _GatedDatabase(Database):
    gate: asyncio.Event | None = None
    parked: asyncio.Event | None = None

    async def blocked_with(self, user_id: str) -> frozenset[str]:
        found = await super().blocked_with(user_id)
        gate, self.gate = self.gate, None
        if gate is not None and self.parked is not None:
            self.parked.set()
            await gate.wait()  # the read is done; let a block land before it returns
        return found


async def test_a_block_made_while_a_users_blocks_are_read_is_not_lost(tmp_path: Any) -> None:
    db = await _GatedDatabase.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    try:
        await db.block("a", "b", 0.0)
        blocks = MemoryBlocks(db)
        await blocks.excluded("nobody")  # the filter is read
        gate, parked = db.gate, db.parked = asyncio.Event(), asyncio.Event()
        reading = asyncio.ensure_future(blocks.excluded("a"))
        await parked.wait()
        await blocks.add("a", "c", 1.0)
        gate.set()
        assert await reading == {"b", "c"}
        assert await blocks.excluded("a") == {"b", "c"}
    finally:
        await db.close()


async def test_meetings_window_and_previous(meetings: Meetings) -> None:
    await meetings.record("a", "b", 100.0)
    await meetings.record("a", "c", 200.0)
    assert await meetings.recent("a", 750.0) == {"c"}
    assert await meetings.recent("b", 750.0) == set()
    assert await meetings.previous("a") == "c" and await meetings.previous("b") == "a"
    await meetings.prune(10_000.0)
    assert len(meetings) == 0


async def test_blocks_apply_both_ways_and_survive_a_prune(blocks: Blocks) -> None:
    assert await blocks.excluded("a") == set()
    await blocks.add("a", "b", 0.0)
    assert await blocks.excluded("a") == {"b"} and await blocks.excluded("b") == {"a"}
    await blocks.prune(keep=set())
    assert await blocks.excluded("b") == {"a"}  # the database keeps them


async def test_calls_keep_chat_for_both_sides_and_claim_once(calls: Calls) -> None:
    await calls.start("sa", CallRecord("sb", "ub"))
    await calls.start("sb", CallRecord("sa", "ua"))
    await calls.add_chat(("sa", "sb", "gone"), ChatLine("ua", "hi", 1.0))
    first, second = await calls.get("sa"), await calls.get("sb")
    assert first is not None and second is not None
    assert [line.text for line in first.chat] == [line.text for line in second.chat] == ["hi"]
    assert await calls.claim("sa", "reported") is True
    assert await calls.claim("sa", "reported") is False  # one report per call
    assert await calls.claim("sb", "reported") is True  # each side claims its own
    assert await calls.claim("nobody", "blocked") is False
    await calls.start("sa", CallRecord("sc", "uc"))  # a new call starts clean
    assert await calls.claim("sa", "reported") is True
    await calls.forget("sa")
    assert await calls.get("sa") is None


async def test_limits_per_name_and_key(limits: Limits) -> None:
    assert await limits.take("find", "u", 0.0) == 0.0
    assert await limits.take("find", "u", 0.5) == pytest.approx(0.5)
    assert await limits.take("find", "v", 0.5) == 0.0  # per key
    assert await limits.take("chat", "u", 0.5) == 0.0  # per name
    await limits.prune(100.0)
    assert len(limits) == 0


async def test_calls_keep_the_last_chat_lines(calls: Calls) -> None:
    await calls.start("sa", CallRecord("sb", "ub", relay=True))
    for n in range(CHAT_LINES_KEPT + 5):
        await calls.add_chat(("sa",), ChatLine("ub", f"line {n}", float(n)))
    record = await calls.get("sa")
    assert record is not None and record.relay and record.partner_sid == "sb"
    assert [line.text for line in record.chat] == [f"line {n}" for n in range(5, 25)]
    assert record.chat[-1] == ChatLine("ub", "line 24", 24.0)


# -- what only the shared implementation does: two nodes over one Redis, expiry ------------


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Redis, Redis]]:  # noqa: F811
    """Two clients of one Redis, standing for two nodes."""
    first, second = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    yield first, second
    await first.aclose()
    await second.aclose()


async def _two_dbs(tmp_path: Path) -> tuple[Database, Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    return await Database.open(url), await Database.open(url)


async def test_meetings_recorded_on_one_node_are_seen_on_another(
    nodes: tuple[Redis, Redis],
) -> None:
    one, two = (RedisMeetings(client, window=600) for client in nodes)
    await one.record("a", "b", 100.0)
    assert await two.recent("a", 150.0) == {"b"} and await two.recent("b", 150.0) == {"a"}
    assert await two.previous("b") == "a"
    await two.record("b", "c", 200.0)
    assert await one.previous("b") == "c" and await one.recent("b", 699.0) == {"a", "c"}
    assert await one.recent("b", 700.0) == {"c"}  # a met b exactly one window ago
    assert (len(one), len(two)) == (2, 2)  # each node counts its own writes


async def test_a_block_on_one_node_applies_on_every_node_at_once(
    nodes: tuple[Redis, Redis], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_one, db_two = await _two_dbs(tmp_path)
    one, two = RedisBlocks(nodes[0], db_one), RedisBlocks(nodes[1], db_two)
    assert await two.excluded("a") == set() and await two.excluded("b") == set()

    async def no_reload(user_id: str) -> frozenset[str]:
        raise AssertionError("the shared cache must not need the database again")

    monkeypatch.setattr(db_two, "blocked_with", no_reload)
    await one.add("a", "b", 0.0)
    assert await two.excluded("a") == {"b"} and await two.excluded("b") == {"a"}
    await db_one.close()
    await db_two.close()


async def test_a_load_racing_a_block_keeps_the_block(
    nodes: tuple[Redis, Redis], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Node two reads the database just before node one's block is committed."""
    db_one, db_two = await _two_dbs(tmp_path)
    one, two = RedisBlocks(nodes[0], db_one), RedisBlocks(nodes[1], db_two)
    read, go_on = asyncio.Event(), asyncio.Event()
    real = db_two.blocked_with

    async def read_then_stall(user_id: str) -> frozenset[str]:
        found = await real(user_id)
        read.set()
        await go_on.wait()
        return found

    monkeypatch.setattr(db_two, "blocked_with", read_then_stall)
    loading = asyncio.create_task(two.excluded("a"))
    await read.wait()
    await one.add("a", "b", 0.0)  # committed and cached after two's read
    go_on.set()
    assert await loading == {"b"}
    assert await one.excluded("a") == {"b"}
    await db_one.close()
    await db_two.close()


async def test_limits_hold_per_user_across_nodes(nodes: tuple[Redis, Redis]) -> None:
    one, two = RedisLimits(nodes[0], LIMITS), RedisLimits(nodes[1], LIMITS)
    assert await one.take("find", "u", 0.0) == 0.0
    assert await two.take("find", "u", 0.25) == pytest.approx(0.75)
    assert await two.take("find", "u", 1.0) == 0.0
    other = RedisLimits(nodes[1], LIMITS, prefix="other:")  # another deployment's keys
    assert await other.take("find", "u", 1.0) == 0.0


async def test_limits_match_the_in_memory_limiter(nodes: tuple[Redis, Redis]) -> None:
    """A random run of takes gives the same answers as core.ratelimit."""
    rng = random.Random(12)
    rules = {**LIMITS, "report": Limit(rate=0.1, burst=3), "off": Limit(rate=0)}
    memory, shared = MemoryLimits(rules), RedisLimits(nodes[0], rules)
    now = 0.0
    for _ in range(300):
        now += rng.choice((0.0, 0.01, 0.1, 0.3, 1.0, 7.0))
        name, key = rng.choice(list(rules)), rng.choice("uvw")
        expected = await memory.take(name, key, now)
        assert await shared.take(name, key, now) == pytest.approx(expected, abs=1e-9)
    await memory.prune(now)
    await shared.prune(now)
    assert len(shared) == len(memory)


async def _ttls(client: Redis) -> dict[str, int]:
    return {key.decode(): await client.pttl(key) async for key in client.scan_iter()}


async def test_every_key_expires(nodes: tuple[Redis, Redis], tmp_path: Path) -> None:
    """Nothing grows forever: every key written has an expiry, and no longer than its rule."""
    client = nodes[0]
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    meetings, blocks = RedisMeetings(client, window=600), RedisBlocks(client, db, ttl=120)
    limits = RedisLimits(client, LIMITS)
    await meetings.record("a", "b", 0.0)
    await blocks.excluded("c")
    await blocks.add("a", "d", 0.0)  # d's set is not loaded: a partial set, with a TTL too
    await limits.take("find", "a", 0.0)
    await limits.take("chat", "a", 0.0)
    await limits.take("find", "b", 0.0)
    await limits.take("find", "b", 0.5)  # refused: writes nothing
    ttls = await _ttls(client)
    bounds = {
        "rc:{u:a}:met": 600_000,
        "rc:{u:b}:met": 600_000,
        "rc:{u:a}:prev": 660_000,
        "rc:{u:b}:prev": 660_000,
        "rc:{u:a}:blocks": 120_000,
        "rc:{u:c}:blocks": 120_000,
        "rc:{u:d}:blocks": 120_000,
        "rc:{u:a}:lim:find": 1_000,  # full again a second later
        "rc:{u:b}:lim:find": 1_000,
        "rc:{u:a}:lim:chat": 200,  # one of two tokens at five a second
    }
    assert ttls.keys() == bounds.keys()
    for key, bound in bounds.items():
        assert 0 < ttls[key] <= bound, key
    await db.close()


async def _gone(client: Redis, key: str) -> None:
    """Wait (up to 10 s) until Redis has expired ``key``."""
    for _ in range(1000):
        if not await client.exists(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} never expired")


async def test_expired_state_behaves_as_none(nodes: tuple[Redis, Redis], tmp_path: Path) -> None:
    client = nodes[0]
    limits = RedisLimits(client, {"fast": Limit(rate=50, burst=1)})
    assert await limits.take("fast", "u", 0.0) == 0.0
    await _gone(client, "rc:{u:u}:lim:fast")  # full again: a missing bucket is a full one
    assert await limits.take("fast", "u", 1.0) == 0.0

    meetings = RedisMeetings(client, window=0.05)
    await meetings.record("a", "b", 0.0)
    await _gone(client, "rc:{u:a}:met")
    assert await meetings.previous("a") == "b"  # kept a grace period longer

    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    blocks = RedisBlocks(client, db, ttl=0.05)
    assert await blocks.excluded("a") == set()
    await db.block("a", "b", 0.0)  # written behind the cache's back (an admin tool)
    await _gone(client, "rc:{u:a}:blocks")
    assert await blocks.excluded("a") == {"b"}  # reloaded from the database
    await db.close()


async def test_scripts_are_reloaded_after_redis_forgets_them(
    nodes: tuple[Redis, Redis],
) -> None:
    client = nodes[0]
    meetings = RedisMeetings(client, window=600)
    await client.script_flush()  # as after a restart of Redis
    await meetings.record("a", "b", 0.0)
    assert await meetings.recent("b", 1.0) == {"a"}


async def test_redis_down_is_a_storage_error(
    nodes: tuple[Redis, Redis],
    redis_server: RedisServer,  # noqa: F811
) -> None:
    client = nodes[0]
    meetings, limits = RedisMeetings(client, window=600), RedisLimits(client, LIMITS)
    redis_server.stop()
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: meetings.record("a", "b", 0.0),
        lambda: meetings.recent("a", 0.0),
        lambda: limits.take("find", "a", 0.0),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError) as caught:
            await attempt()
        assert caught.value.code == "unavailable"


async def test_history_is_recent_and_previous_at_once(meetings: Meetings) -> None:
    await meetings.record("a", "b", 100.0)
    await meetings.record("a", "c", 200.0)
    assert await meetings.history("a", 250.0) == ({"b", "c"}, "c")
    assert await meetings.history("a", 750.0) == ({"c"}, "c")
    assert await meetings.history("z", 750.0) == (frozenset(), None)
