"""A node's inbox reader on a real redis-server, no node process: what it cannot read is
skipped, what it has read is trimmed, a reader that fails is restarted, and a node whose
reader is past restarting stops its heartbeat. Also its pure pieces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from randomchat.cluster import connect
from randomchat.inbox import (
    READ_BATCH,
    Entry,
    Inbox,
    Unreadable,
    after,
    parse_entry,
    restart_delay,
)
from randomchat.liveness import Liveness
from randomchat.metrics import Metrics
from randomchat.store.redis import RedisStore
from tests.cluster.conftest import eventually
from tests.redisserver import RedisServer, redis_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.process

INBOX = "rc:inbox:n1"
Delivered = list[tuple[str, str, Any]]
NewNode = Callable[[str], Awaitable[tuple[Inbox, Delivered]]]


# -- pure pieces ------------------------------------------------------------------


def entry(**fields: bytes) -> dict[bytes, bytes]:
    base = {b"s": b"n1.a", b"e": b"match-found", b"d": b"{}", b"f": b"", b"o": b"n2:x", b"q": b"1"}
    return base | {k.encode(): v for k, v in fields.items()}


def test_an_entry_is_read_or_said_unreadable_without_raising() -> None:
    assert parse_entry(entry()) == Entry("n1.a", "match-found", {}, None, "n2:x", 1)
    assert parse_entry(entry(e=b"!disconnect", d=b"null")) == Entry(
        "n1.a", "!disconnect", None, None, "n2:x", 1
    )
    assert parse_entry({b"x": b"garbage"}) == Unreadable("malformed", "no field b's'")
    assert parse_entry(entry(d=b"{not json")) == Unreadable("malformed", "data is not JSON")
    assert parse_entry(entry(q=b"-1")).reason == "malformed"  # type: ignore[union-attr]
    assert parse_entry(entry(q=b"x")).reason == "malformed"  # type: ignore[union-attr]
    assert parse_entry(entry(s=b"\xff")).reason == "malformed"  # type: ignore[union-attr]
    assert parse_entry(entry(e=b"from-a-newer-node")) == Unreadable(
        "unknown_event", "event 'from-a-newer-node'"
    )


def test_trimming_to_after_an_id_drops_that_id() -> None:
    assert after("1700000000000-0") == "1700000000000-1"
    assert after("5-41") == "5-42"


def test_restarts_back_off_then_give_up() -> None:
    assert [restart_delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, None]


# -- a reader on a real Redis -----------------------------------------------------


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:  # noqa: F811
    client = connect(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def node(redis: Redis) -> AsyncIterator[NewNode]:
    """``node(name)``: node ``name``'s started inbox, and the list of what its reader
    delivered (sid, event, data)."""
    started: list[Inbox] = []

    async def new(name: str) -> tuple[Inbox, Delivered]:
        delivered: Delivered = []

        async def record(sid: str, event: str, data: Any, source: str | None) -> None:
            delivered.append((sid, event, data))

        delivery = Inbox(redis, name, "rc:", Metrics(), record)
        delivery.restart_delays = (0.01, 0.01, 0.01)
        await delivery.start_reading_from_now()
        delivery.start()
        started.append(delivery)
        return delivery, delivered

    yield new
    for delivery in started:
        await delivery.stop()


def count(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_unreadable_entries_are_skipped_counted_and_logged_sampled(
    node: NewNode, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, delivered = await node("n1")
    caplog.set_level(logging.WARNING, logger="randomchat.inbox")
    for i in range(10):
        await redis.xadd(INBOX, {"x": f"garbage {i}"})
    await redis.xadd(INBOX, entry(e=b"from-a-newer-node"))  # type: ignore[arg-type]
    await redis.xadd(INBOX, entry(q=b"7", d=b'{"after": "the garbage"}'))  # type: ignore[arg-type]

    async def arrived() -> bool:
        return len(delivered) == 1

    await eventually(arrived)
    assert delivered == [("n1.a", "match-found", {"after": "the garbage"})]
    metrics = delivery.metrics
    skipped = "randomchat_inbox_entries_skipped_total"
    assert count(metrics, skipped, reason="malformed") == 10
    assert count(metrics, skipped, reason="unknown_event") == 1
    lines = [r for r in caplog.records if r.getMessage() == "unreadable cross-node entry skipped"]
    assert [r.reason for r in lines] == ["malformed"] * 3 + ["unknown_event"]  # type: ignore[attr-defined]
    assert count(metrics, "randomchat_cluster_task_failures_total", task="reader") == 0


async def test_what_was_read_is_trimmed_in_the_next_read(node: NewNode, redis: Redis) -> None:
    """Each cross-node event used to stay in the stream up to 100,000 entries (about
    170 MB a node with real SDPs); now the stream holds only what is on its way."""
    _, delivered = await node("n1")
    writer, _ = await node("n2")
    sent = 0
    for _ in range(4):  # waves
        for _ in range(READ_BATCH + 300):  # more than one read batch per wave
            writer.send("n1", f"n1.s{sent % 50}", "signal-ice-candidate", {"n": sent}, None)
            sent += 1

        async def all_arrived(sent: int = sent) -> bool:
            return len(delivered) == sent

        await eventually(all_arrived, timeout=30)
        # At most the batch read last is left: each read trims what the one before read.
        assert await redis.xlen(INBOX) <= READ_BATCH

    async def trimmed() -> bool:
        return await redis.xlen(INBOX) == 0

    await eventually(trimmed)  # the reader's next round trip trims the last batch
    assert [d[2]["n"] for d in delivered] == list(range(sent))


async def test_a_reader_that_fails_is_restarted_and_reads_on(
    node: NewNode, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, delivered = await node("n1")
    handle = delivery._handle
    failures = [RuntimeError("a bug in delivering this one entry")]

    async def failing_once(entry_id: str, fields: dict[bytes, bytes]) -> None:
        if failures:
            raise failures.pop()
        await handle(entry_id, fields)

    delivery._handle = failing_once  # type: ignore[method-assign]
    await redis.xadd(INBOX, entry(q=b"1"))  # type: ignore[arg-type]
    await redis.xadd(INBOX, entry(q=b"2", d=b'{"second": true}'))  # type: ignore[arg-type]

    async def arrived() -> bool:
        return len(delivered) == 1

    await eventually(arrived)
    # The entry that broke the reader is not read again (it would break it again).
    assert delivered == [("n1.a", "match-found", {"second": True})]
    assert count(delivery.metrics, "randomchat_cluster_task_failures_total", task="reader") == 1
    assert delivery.dead is None
    assert "cross-node reader failed; restarting it" in caplog.text


async def test_a_node_whose_reader_is_past_restarting_stops_its_heartbeat(
    node: NewNode,
    redis: Redis,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    delivery, _ = await node("n1")
    gave_up = asyncio.Event()

    async def always_failing() -> None:
        raise RuntimeError("a reader that cannot run")

    async def on_dead() -> None:
        gave_up.set()

    async def nobody(sid: str, gone: str = "") -> None:
        raise AssertionError("no socket to tell")

    await delivery.stop()
    delivery._read = always_failing  # type: ignore[method-assign]
    heartbeat = connect(redis_server.url, connections=1)
    liveness = Liveness(
        redis, heartbeat, RedisStore(redis, "n1"), "n1", "rc:", 0.6,
        holds=lambda sid: True, members=list, tell_partner=nobody, call_lost=nobody,
        metrics=Metrics(), healthy=lambda: delivery.dead is None, on_dead=on_dead,
    )  # fmt: skip
    try:
        await liveness.start()
        assert await redis.exists("rc:{lobby}:node:n1")
        delivery.start()
        await asyncio.wait_for(gave_up.wait(), 5)
        assert delivery.dead == "reader"
        assert not await redis.exists(
            "rc:{lobby}:node:n1"
        )  # the others evict it at their next check
        await asyncio.sleep(0.5)
        assert not await redis.exists("rc:{lobby}:node:n1")  # and it does not beat again
    finally:
        await liveness.stop()
        await heartbeat.aclose()
