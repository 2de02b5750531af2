"""Nodes on a real Redis Cluster of three masters: the keys spread over the shards, and
everything a script touches shares its hash tag, so pairing, delivery, liveness and the
shared per-user state work as on one Redis (docs/scaling.md, "Beyond one shard")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import RedisCluster

from tests.cluster.conftest import NODE_TIMEOUT, eventually
from tests.conftest import RunningServer
from tests.rediscluster import RedisCluster3
from tests.server.harness import match, ready

pytestmark = pytest.mark.process


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisCluster3]:
    cluster = RedisCluster3(tmp_path / "redis-cluster")
    cluster.start()
    yield cluster
    cluster.stop()


def nodes(server_factory: Any, cluster: RedisCluster3, tmp_path: Path) -> list[RunningServer]:
    return [
        server_factory(
            redis_url=cluster.url,
            redis_cluster=True,
            find_rate_limit_ms=0,
            node_name=f"n{i + 1}",
            node_timeout=NODE_TIMEOUT,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        )
        for i in range(2)
    ]


async def test_a_call_across_nodes_on_a_redis_cluster(
    server_factory: Any, redis_cluster: RedisCluster3, tmp_path: Path
) -> None:
    one, two = nodes(server_factory, redis_cluster, tmp_path)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    found_bob, _ = await match(alice, bob)
    caller, callee = (bob, alice) if found_bob["role"] == "initiator" else (alice, bob)
    await caller.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0 offer"}})
    assert (await callee.expect("signal-offer"))["offer"]["sdp"] == "v=0 offer"
    await caller.expect("signal-offer-ack")
    await callee.emit("chat-message", {"text": "hello", "id": "m1"})
    assert (await caller.expect("chat-message"))["text"] == "hello"
    await callee.expect("chat-message-ack")
    await alice.emit("leave")
    await bob.expect("partner-left")
    # The same two users, in the repeat window now, wait rather than meet again
    # (per-user keys in other slots than the queue's, read before the claim).
    await bob.emit("find-partner")
    await bob.expect("waiting-for-partner")
    await alice.emit("find-partner")
    await alice.expect("waiting-for-partner")
    carol = await ready(one.url, "carol")
    await carol.emit("find-partner")
    assert (await carol.expect("match-found"))["partnerName"] == "bob"
    redis = RedisCluster.from_url(redis_cluster.url)
    try:
        # The shards each hold some of the keys: the cluster is used, not one shard.
        await redis.initialize()
        sizes = [await redis.dbsize(target_nodes=node) for node in redis.get_primaries()]
        print(f"keys per shard: {sizes}")
        assert sum(1 for size in sizes if size) >= 2
    finally:
        await redis.aclose()
    for peer in (alice, bob, carol):
        await peer.close()

    async def empty() -> bool:
        client = RedisCluster.from_url(redis_cluster.url)
        try:
            pairs = await client.hget("rc:{lobby}:stats", "pairs")
            waiting = await client.zcard("rc:{lobby}:q:video")
            return int(pairs or 0) == 0 and waiting == 0
        finally:
            await client.aclose()

    await eventually(empty)
