"""A busy node is not a dead one: its Redis pool waits when full, and its heartbeat
keeps going whatever the periodic check does. A stopping node stops, whenever it is
asked to. Real redis-server, no node process."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from randomchat.cluster import connect
from randomchat.errors import StorageError
from randomchat.inbox import Inbox
from randomchat.liveness import Liveness
from randomchat.metrics import Metrics
from randomchat.store.redis import RedisStore
from tests.cluster.conftest import eventually
from tests.redisserver import RedisServer, redis_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.process

KEY = "rc:{lobby}:node:n1"
# start(check, timeout): a started Liveness whose periodic check is ``check``, and the
# list that gets an item each time the check runs
StartLiveness = Callable[
    [Callable[[], Awaitable[None]], float], Awaitable[tuple[Liveness, list[None]]]
]


async def nobody(sid: str, gone: str = "") -> None:
    raise AssertionError("no socket to tell, no call to lose")


async def nowhere(sid: str, event: str, data: Any, source: str | None) -> None:
    raise AssertionError("nothing is sent to this node")


def new_liveness(redis: Redis, heartbeat: Redis, timeout: float) -> Liveness:
    """Node ``n1``'s liveness, holding no sockets."""
    return Liveness(
        redis, heartbeat, RedisStore(redis, "n1"), "n1", "rc:", timeout,
        holds=lambda sid: True, members=list, tell_partner=nobody, call_lost=nobody,
        metrics=Metrics(),
    )  # fmt: skip


async def test_a_burst_beyond_the_pool_waits_for_a_connection(
    redis_server: RedisServer,  # noqa: F811
) -> None:
    redis = connect(redis_server.url, connections=2)
    try:
        # Each BLPOP holds its connection for 0.1 s: eight of them take turns on two.
        # (redis-py's default pool refuses the third at once: MaxConnectionsError.)
        replies = await asyncio.gather(*(redis.blpop([f"none{i}"], 0.1) for i in range(8)))
    finally:
        await redis.aclose()
    assert replies == [None] * 8


async def test_a_request_that_finds_no_connection_in_time_is_unavailable(
    redis_server: RedisServer,  # noqa: F811
) -> None:
    redis = connect(redis_server.url, connections=1, wait=0.2)
    store = RedisStore(redis, "n1")
    try:
        held = await redis.connection_pool.get_connection()
        try:
            with pytest.raises(StorageError, match="unavailable"):
                await store.phase_of("n1.someone")
        finally:
            await redis.connection_pool.release(held)
        assert await store.phase_of("n1.someone") is None  # the pool serves again
    finally:
        await redis.aclose()


@pytest.fixture
async def liveness(
    redis_server: RedisServer,  # noqa: F811
) -> AsyncIterator[StartLiveness]:
    """Start a node's liveness with ``timeout`` and ``check`` in place of its own check
    (the check's work is tested through real nodes in ``test_nodes``)."""
    redis, heartbeat = connect(redis_server.url), connect(redis_server.url, connections=1)
    started: list[Liveness] = []

    async def start(
        check: Callable[[], Awaitable[None]], timeout: float
    ) -> tuple[Liveness, list[None]]:
        node, checks = new_liveness(redis, heartbeat, timeout), []

        async def counted() -> None:
            checks.append(None)
            await check()

        node.check = counted  # type: ignore[method-assign]
        await node.start()
        started.append(node)
        return node, checks

    yield start
    for node in started:
        await node.stop()
    await redis.aclose()
    await heartbeat.aclose()


async def alive_throughout(redis: Redis, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        assert await redis.exists(KEY), "the heartbeat expired: the others would evict"
        await asyncio.sleep(0.05)


async def test_the_heartbeat_goes_on_through_a_check_longer_than_the_timeout(
    liveness: StartLiveness,
) -> None:
    async def slow_check() -> None:  # as parting thousands of sockets after an outage
        await asyncio.sleep(3.5)

    node, checks = await liveness(slow_check, 1.5)
    await alive_throughout(node.redis, 3.0)
    assert len(checks) == 1


async def test_a_failed_check_does_not_end_the_checks_or_the_heartbeat(
    liveness: StartLiveness,
) -> None:
    async def failing_check() -> None:  # what the store raises when Redis drops meanwhile
        raise StorageError("shared state unavailable: ConnectionError")

    node, checks = await liveness(failing_check, 0.6)

    async def checked_again() -> bool:
        return len(checks) >= 3

    await eventually(checked_again)
    await alive_throughout(node.redis, 0.5)


async def test_a_node_stops_whenever_it_is_stopped(
    redis_server: RedisServer,  # noqa: F811
) -> None:
    """Stopped at random moments, most often inside a Redis command, where redis-py may
    swallow the cancellation (``randomchat.tasks``): every stop must still end."""
    redis, heartbeat = connect(redis_server.url), connect(redis_server.url, connections=1)
    metrics = Metrics()
    rng = random.Random(2028)

    try:
        for _ in range(40):
            delivery = Inbox(redis, "n1", "rc:", metrics, nowhere)
            # A 6 ms timeout: a beat every 2 ms, and checks as often (each a few commands).
            liveness = new_liveness(redis, heartbeat, 0.006)
            delivery.start()  # its reader waits in XREAD, its writer for events
            await liveness.start()
            await asyncio.sleep(rng.uniform(0, 0.02))
            for part in (liveness, delivery):
                stopping = asyncio.create_task(part.stop())
                done, _ = await asyncio.wait({stopping}, timeout=5)
                assert done, f"{type(part).__name__}.stop() did not end"
    finally:
        await redis.aclose()
        await heartbeat.aclose()
