"""What one cross-node call set-up costs Redis, counted on a real redis-server.

The trace of docs/scaling.md: A on node one searches first and waits; B on node two
finds A; the initiator sends an offer and 8 candidates, the other side an answer and 8
candidates; B leaves, A is told, both disconnect. Redis counts the reads it processed
from clients (``total_reads_processed``: one per request or pipeline, i.e. the client
round trips) and, per command, the calls made at top level or inside scripts. The
nodes' idle traffic (heartbeats, liveness, widen ticks, reader wake-ups) over the same
time is measured first and taken off.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from tests.cluster.conftest import Cluster
from tests.redisserver import RedisServer
from tests.server.harness import Peer, match, ready

pytestmark = pytest.mark.process

# Per cross-node set-up, this trace: 43 at the start of issue 23 (38 in the review's
# trace, which had no find limit or repeat window), 26 measured before the connection
# caps counted across the nodes, 30 since (one round trip at each of the two sockets'
# connect and disconnect: store.redis_caps); docs/scaling.md says where the rest go and
# why the 12 is not met. A bound, not a timing.
ROUND_TRIPS_AT_MOST = 34


async def _stats(redis: Redis) -> tuple[int, int, int]:
    """Client reads processed, commands in all (script bodies included), script calls."""
    info = await redis.info("stats")
    commands = await redis.info("commandstats")
    total = sum(int(v["calls"]) for v in commands.values())
    scripts = sum(
        int(commands.get(k, {}).get("calls", 0)) for k in ("cmdstat_evalsha", "cmdstat_eval")
    )
    return int(info["total_reads_processed"]), total, scripts


async def _settle(redis: Redis) -> int:
    """Wait until the cluster is empty again; the round trips this took (one per poll)."""
    polls = 0
    while True:
        polls += 1
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget("rc:{lobby}:stats", "connected", "pairs")
            pipe.zcard("rc:{lobby}:q:video")
            (connected, pairs), waiting = await pipe.execute()
        if int(connected or 0) == int(pairs or 0) == waiting == 0:
            return polls
        await asyncio.sleep(0.05)


async def _call(one: str, two: str, n: int) -> None:
    alice = await ready(one, f"alice{n}")  # new users each time: no repeat rule applies
    bob = await ready(two, f"bob{n}")
    found_bob, _ = await match(alice, bob)
    caller, callee = (bob, alice) if found_bob["role"] == "initiator" else (alice, bob)
    await _exchange(caller, callee, "offer")
    await _exchange(callee, caller, "answer")
    await bob.emit("leave")
    await alice.expect("partner-left")
    for peer in (alice, bob):
        await peer.close()


async def _exchange(sender: Peer, receiver: Peer, kind: str) -> None:
    await sender.emit(f"signal-{kind}", {kind: {"type": kind, "sdp": "v=0 " + "a" * 2000}})
    for i in range(8):
        await sender.emit("signal-ice-candidate", {"candidate": {"candidate": f"candidate:{i}"}})
    await receiver.expect(f"signal-{kind}")
    await sender.expect(f"signal-{kind}-ack")
    got = 0
    while got < 8:
        event, data = await asyncio.wait_for(receiver.events.get(), 5)
        if event == "signal-ice-candidates-batch":
            got += len(data["candidates"])
        elif event == "signal-ice-candidate":
            got += 1


async def test_one_cross_node_call_costs_few_round_trips(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2)
    redis = Redis.from_url(redis_server.url)
    try:
        await _call(one.url, two.url, 0)  # warm: scripts loaded, pools open
        await _settle(redis)
        figures: list[tuple[float, float, float]] = []
        for n in range(1, 4):
            idle0, started = await _stats(redis), time.monotonic()
            await asyncio.sleep(1.0)
            idle1, idle_s = await _stats(redis), time.monotonic() - started
            before, started = await _stats(redis), time.monotonic()
            await _call(one.url, two.url, n)
            polls = await _settle(redis)
            after, busy_s = await _stats(redis), time.monotonic() - started
            rate = [(b - a) / idle_s for a, b in zip(idle0, idle1, strict=True)]
            cost = [b - a - r * busy_s for a, b, r in zip(before, after, rate, strict=True)]
            # This test's own: 2 INFO per _stats (idle rate included) and the polls.
            cost[0] -= 2 + polls
            cost[1] -= 2 * 2 + 2 * polls
            figures.append((cost[0], cost[1], cost[2]))
        best = min(figures)
        print(
            "per cross-node set-up: round trips "
            + ", ".join(f"{f[0]:.1f}" for f in figures)
            + "; commands (incl. in scripts) "
            + ", ".join(f"{f[1]:.1f}" for f in figures)
            + "; script calls "
            + ", ".join(f"{f[2]:.1f}" for f in figures)
        )
        assert best[0] <= ROUND_TRIPS_AT_MOST, figures
    finally:
        await redis.aclose()
