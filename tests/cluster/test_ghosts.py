"""No call with a ghost: a user waiting on a node that died or stalled is not matched.

Until the others evict a dead node (``--node-timeout``, 10 s by default, plus up to a
third of it), its waiting users are still in the queue. A seeker on a healthy node
must not be paired with one of them (a call with nobody, told only at the eviction):
a waiting entry is claimable only while its node's heartbeat is at most
``store.redis.FRESH_SECONDS`` old (issue 23; the measured window was 12 s before).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from randomchat.store.redis import FRESH_SECONDS
from tests.cluster.conftest import Cluster
from tests.redisserver import RedisServer
from tests.server.harness import Peer, ready

pytestmark = pytest.mark.process

TIMEOUT = 10.0  # the default: eviction comes long after the ghost window closes


async def _search(peer: Peer, interest: str) -> None:
    await peer.emit("find-partner", {"interests": [interest], "strictInterests": True})


async def _met(peer: Peer) -> None:
    """A match, at once or, on a machine so loaded that the other node's beat came late
    (its waiting user was passed over), at that node's late beat (its users look again)."""
    event, _ = await asyncio.wait_for(peer.events.get(), 10)
    if event == "waiting-for-partner":
        event, _ = await asyncio.wait_for(peer.events.get(), 10)
    assert event == "match-found", event


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP], ids=["kill-9", "sigstop"])
async def test_no_seeker_meets_a_user_waiting_on_a_dead_node(
    cluster: Cluster, redis_server: RedisServer, fault: signal.Signals
) -> None:
    one, two = cluster(2, node_timeout=TIMEOUT)
    # While both nodes beat, a seeker on one meets a user waiting on two.
    waiting = await ready(two.url, "waiting")
    await _search(waiting, "chess")
    await waiting.expect("waiting-for-partner")
    seeker = await ready(one.url, "seeker")
    await _search(seeker, "chess")
    await _met(seeker)
    ghost = await ready(two.url, "ghost")
    await _search(ghost, "go")
    await ghost.expect("waiting-for-partner")
    os.kill(two.process.pid, fault)
    faulted = time.monotonic()
    try:
        # The last beat came at most a second before the fault (liveness.BEAT_SECONDS).
        await asyncio.sleep(FRESH_SECONDS + 0.5)
        newcomer = await ready(one.url, "newcomer")
        await _search(newcomer, "go")
        event, _ = await asyncio.wait_for(newcomer.events.get(), 5)
        searched = time.monotonic() - faulted
        print(f"{fault.name}: a search {searched:.1f} s after the fault got {event}")
        assert event == "waiting-for-partner"
        assert time.monotonic() - faulted < TIMEOUT  # before the eviction: the window itself
        await newcomer.quiet(0.5)  # and nothing after it
        await newcomer.close()
    finally:
        if fault is signal.SIGSTOP:
            os.kill(two.process.pid, signal.SIGCONT)
    await seeker.close()


async def test_users_waiting_when_redis_restarts_empty_are_queued_again(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    """Redis restarted without its data: the queue is gone, but the pages still show
    "waiting". Each node queues its waiting users again (``cluster.state_lost``), so a
    newcomer finds them, on the same node or another."""
    one, two = cluster(2)
    waiting = await ready(two.url, "waiting")
    await _search(waiting, "chess")
    await waiting.expect("waiting-for-partner")
    idle = await ready(two.url, "idle")  # connected, never searched: stays idle
    redis_server.restart()
    started = time.monotonic()
    await waiting.expect("waiting-for-partner", timeout=20)  # queued again
    print(f"queued again {time.monotonic() - started:.1f} s after the restart")
    newcomer = await ready(one.url, "newcomer")
    await _search(newcomer, "chess")
    found = await newcomer.expect("match-found")
    assert found["partnerName"] == "waiting"
    assert (await waiting.expect("match-found"))["partnerName"] == "newcomer"
    await idle.quiet(0.3)
    for peer in (waiting, idle, newcomer):
        await peer.close()


async def test_a_user_passed_over_while_its_node_stalled_meets_the_seeker_after(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    """A node stalled past the freshness window but not evicted: a seeker elsewhere passes
    its waiting user over and waits too. When the node beats again, late, its waiting
    users look again (``liveness.on_late_beat``): the two meet."""
    one, two = cluster(2, node_timeout=TIMEOUT)
    waiting = await ready(two.url, "waiting")
    await _search(waiting, "chess")
    await waiting.expect("waiting-for-partner")
    seeker = await ready(one.url, "seeker")
    os.kill(two.process.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(FRESH_SECONDS + 0.5)
        await _search(seeker, "chess")
        await seeker.expect("waiting-for-partner")  # passed over: a call with nobody else
    finally:
        os.kill(two.process.pid, signal.SIGCONT)
    resumed = time.monotonic()
    assert (await seeker.expect("match-found", timeout=10))["partnerName"] == "waiting"
    assert (await waiting.expect("match-found", timeout=10))["partnerName"] == "seeker"
    print(f"met {time.monotonic() - resumed:.1f} s after the node resumed")
    for peer in (waiting, seeker):
        await peer.close()
