"""A call resumed with its two sides on two nodes (``resume-call``, ``store.redis_resume``).

After a restart the two pages of a call reconnect as new sockets, and behind a load
balancer they may reach different nodes. Here the sides' first sockets close (what
the server sees of a restart: the call is gone, the signed ticket is not) and their
new sockets connect to the two nodes of a real cluster on a real redis-server.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.cluster.conftest import Cluster, empty, eventually
from tests.redisserver import RedisServer
from tests.server.harness import Peer, match, ready

pytestmark = pytest.mark.process

WINDOW = 3  # --recovery-window, which is also the resume window: short, for the lone side


async def a_call_gone(one: str, two: str) -> dict[str, Any]:
    """Alice (on ``one``) and Bob (on ``two``) met and their sockets closed: the ticket."""
    alice = await ready(one, "alice")
    bob = await ready(two, "bob")
    found, _ = await match(alice, bob)
    await alice.close()
    await bob.expect("partner-disconnected")
    await bob.close()
    return {"callId": found["callId"], "resume": found["resume"]}


async def pending_entries(url: str) -> int:
    redis = Redis.from_url(url)
    try:
        return len([key async for key in redis.scan_iter("rc:{lobby}:rs:*")])
    finally:
        await redis.aclose()


async def test_a_call_resumes_with_its_sides_on_two_nodes(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2, recovery_window=WINDOW)
    ticket = await a_call_gone(one.url, two.url)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    await alice.emit("resume-call", ticket)
    await alice.quiet(0.3)  # alone: it waits, on node 1, for the other side
    assert await pending_entries(redis_server.url) == 1
    await bob.emit("resume-call", ticket)  # on node 2: finds Alice's side there
    assert await bob.expect("call-resumed") == {"callId": ticket["callId"]}
    # Alice's came through node 1's inbox, with nothing of the record it carried.
    assert await alice.expect("call-resumed") == {"callId": ticket["callId"]}
    assert await pending_entries(redis_server.url) == 0
    # The call works again across the nodes: signals both ways, then its end.
    await alice.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0 again"}})
    assert (await bob.expect("signal-offer"))["offer"]["sdp"] == "v=0 again"
    await alice.expect("signal-offer-ack")
    await bob.emit("signal-answer", {"answer": {"type": "answer", "sdp": "v=0 back"}})
    assert (await alice.expect("signal-answer"))["answer"]["sdp"] == "v=0 back"
    await bob.expect("signal-answer-ack")
    await alice.emit("leave")  # the pair is Alice's node's to end: it knows of it
    await bob.expect("partner-left")
    for peer in (alice, bob):
        await peer.close()
    await eventually(empty(redis_server.url))


async def test_a_side_that_left_while_waiting_is_not_resumed_with(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2, recovery_window=WINDOW)
    ticket = await a_call_gone(one.url, two.url)
    alice = await ready(one.url, "alice")
    await alice.emit("resume-call", ticket)
    await alice.quiet(0.3)
    await alice.close()  # gave up: node 1 withdraws its entry

    async def withdrawn() -> bool:
        return await pending_entries(redis_server.url) == 0

    await eventually(withdrawn)
    bob: Peer = await ready(two.url, "bob")
    await bob.emit("resume-call", ticket)
    # Nobody to resume with: Bob waits, then is told as when a partner is gone for good.
    assert await bob.expect("partner-disconnected", timeout=WINDOW + 5) == {}
    await bob.close()
    await eventually(empty(redis_server.url))
