"""Faults said truly, on real ``randomchat serve`` nodes and a real redis-server: a bad
inbox entry does not silence a node, a Redis that lost its data is not an eviction (and
a real eviction still is one), and a connection during an outage is told ``unavailable``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.cluster.conftest import NODE_TIMEOUT, Cluster, eventually
from tests.conftest import RunningServer
from tests.redisserver import RedisServer
from tests.server.harness import Peer, match, ready

pytestmark = pytest.mark.process

EVICTED = "this node was evicted by the others"
DATA_LOST = (
    "Redis lost its data (restarted without persistence?); "
    "its calls end, its waiting users queue again"
)


def events(node: RunningServer) -> list[dict[str, Any]]:
    """The node's log lines (JSON), without what is not JSON (a traceback's lines)."""
    lines = []
    for line in node.log().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def said(node: RunningServer, event: str) -> int:
    return sum(1 for line in events(node) if line.get("event") == event)


async def metric(node: RunningServer, sample: str) -> float:
    async with httpx.AsyncClient() as client:
        body = (await client.get(node.url + "/metrics")).text
    for line in body.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


async def test_a_malformed_inbox_entry_does_not_stop_cross_node_delivery(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    """It used to end the node's reader for good: no match-found from another node
    ever arrived again, nothing was logged, and the node went on beating."""
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    redis = Redis.from_url(redis_server.url)
    try:
        # A sender's life and number, but no socket: the old reader died on the KeyError.
        await redis.xadd("rc:inbox:n1", {"e": "match-found", "o": "n9:x", "q": 1})
    finally:
        await redis.aclose()
    found_alice, found_bob = await match(alice, bob)  # alice's match-found comes from n2
    assert found_alice["partnerName"] == "alice" and found_bob["partnerName"] == "bob"
    assert said(one, "unreadable cross-node entry skipped") == 1
    sample = 'randomchat_inbox_entries_skipped_total{reason="malformed"}'
    assert await metric(one, sample) == 1
    for peer in (alice, bob):
        await peer.close()


async def test_a_redis_that_lost_its_data_is_not_logged_as_an_eviction(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    await match(alice, bob)
    redis_server.restart()  # empty: no persistence
    await alice.expect("partner-disconnected", timeout=20)
    await bob.expect("partner-disconnected", timeout=20)
    for node in (one, two):

        async def told(node: RunningServer = node) -> bool:
            return said(node, DATA_LOST) >= 1

        await eventually(told, timeout=20)
        assert said(node, EVICTED) == 0
        assert await metric(node, "randomchat_redis_data_lost_total") >= 1
    for peer in (alice, bob):
        await peer.close()


async def test_a_node_stalled_past_the_timeout_is_told_it_was_evicted(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2)
    os.kill(two.process.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(NODE_TIMEOUT * 2)  # n1 evicts it meanwhile
    finally:
        os.kill(two.process.pid, signal.SIGCONT)

    async def told() -> bool:
        return said(two, EVICTED) >= 1

    await eventually(told, timeout=20)
    assert said(two, DATA_LOST) == 0
    assert said(one, "node is gone; evicting its sockets") == 1


async def test_during_a_redis_outage_a_search_is_answered_unavailable_and_works_after(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    """Connecting needs no Redis (a socket's record is written when it first searches),
    so a visitor during an outage connects; the search is answered ``unavailable`` (the
    page searches again shortly), one line in the log, and works once Redis is back."""
    (one,) = cluster(1)
    redis_server.stop()
    carol = await Peer("carol").connect(one.url)
    await carol.expect("connection-quality")
    await carol.emit("find-partner")
    error = await carol.expect("error", timeout=20)
    assert (error["code"], error["event"]) == ("unavailable", "find-partner")
    answered = [line for line in events(one) if line["logger"].startswith("randomchat.")]
    assert not [line for line in answered if "exc" in line and "sio" in line["logger"]]
    assert not [line for line in answered if "exc" in line and "gateway" in line["logger"]]
    redis_server.start()

    async def searched() -> bool:
        await carol.emit("find-partner")
        event, _ = await asyncio.wait_for(carol.events.get(), 20)
        return bool(event == "waiting-for-partner")

    await eventually(searched, timeout=30)
    await carol.close()
