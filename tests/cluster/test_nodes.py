"""A cluster of real ``randomchat serve`` processes on one real redis-server.

Each node is its own process on its own port, as behind a load balancer; all
share Redis and one SQLite database file. Clients are python-socketio peers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import NODE_TIMEOUT, Cluster, empty, eventually
from tests.redisserver import RedisServer
from tests.server.harness import Peer, match, ready

pytestmark = pytest.mark.process


async def test_users_on_two_nodes_pair_and_signal_in_order(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    found_bob, found_alice = await match(alice, bob)
    assert found_bob["partnerName"] == "alice" and found_alice["partnerName"] == "bob"
    assert {found_bob["role"], found_alice["role"]} == {"initiator", "receiver"}
    caller, callee = (bob, alice) if found_bob["role"] == "initiator" else (alice, bob)
    await caller.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0 offer"}})
    assert (await callee.expect("signal-offer"))["offer"]["sdp"] == "v=0 offer"
    await caller.expect("signal-offer-ack")
    await callee.emit("signal-answer", {"answer": {"type": "answer", "sdp": "v=0 answer"}})
    assert (await caller.expect("signal-answer"))["answer"]["sdp"] == "v=0 answer"
    await callee.expect("signal-answer-ack")
    for i in range(20):  # one batch or several, but in the order sent
        await caller.emit("signal-ice-candidate", {"candidate": {"candidate": f"candidate:{i}"}})
    got: list[str] = []
    while len(got) < 20:
        event, data = await asyncio.wait_for(callee.events.get(), 5)
        if event == "signal-ice-candidates-batch":
            got += [c["candidate"] for c in data["candidates"]]
        else:
            assert event == "signal-ice-candidate", event
            got.append(data["candidate"]["candidate"])
    assert got == [f"candidate:{i}" for i in range(20)]
    await alice.emit("leave")
    await bob.expect("partner-left")
    for peer in (alice, bob):
        await peer.close()
    await eventually(empty(redis_server.url))


async def test_a_killed_node_is_evicted_and_leaves_no_ghost(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    await match(alice, bob)
    ghost = await ready(two.url, "ghost")
    await ghost.emit_raw("find-partner")
    await ghost.expect("waiting-for-partner")
    os.kill(two.process.pid, signal.SIGKILL)
    two.process.wait()
    started = time.monotonic()
    await alice.expect("partner-disconnected", timeout=NODE_TIMEOUT * 3 + 5)
    waited = time.monotonic() - started
    print(f"partner-disconnected {waited:.2f} s after kill -9 (node timeout {NODE_TIMEOUT} s)")
    # The ghost's queue entry is gone: a newcomer waits rather than meeting it.
    carol = await ready(one.url, "carol")
    await carol.emit_raw("find-partner")
    assert (await carol.expect("waiting-for-partner"))["queuePosition"] == 1
    await alice.emit_raw("find-partner")
    assert (await alice.expect("match-found"))["partnerName"] == "carol"
    await carol.expect("match-found")
    for peer in (alice, carol, bob, ghost):  # bob's and ghost's node is dead: just release
        await peer.close()
    await eventually(empty(redis_server.url))


async def test_a_node_restarted_with_its_name_inherits_nothing(
    cluster: Cluster,
    server_factory: Any,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    stale = await ready(two.url, "stale")
    await stale.emit_raw("find-partner")
    await stale.expect("waiting-for-partner")
    os.kill(two.process.pid, signal.SIGKILL)
    two.process.wait()
    server_factory(
        redis_url=redis_server.url,
        node_name="n2",
        node_timeout=60,  # the others would not evict it for a minute: the restart must
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
    )
    await alice.emit_raw("find-partner")
    assert (await alice.expect("waiting-for-partner"))["queuePosition"] == 1
    await alice.close()
    await stale.close()


async def test_redis_down_means_unavailable_then_pairing_resumes(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    redis_server.stop()
    await alice.emit_raw("find-partner")
    error = await alice.expect("error", timeout=20)
    assert error["code"] == "unavailable" and error["event"] == "find-partner"
    await bob.emit_raw("next")
    assert (await bob.expect("error", timeout=20))["code"] == "unavailable"
    redis_server.start()  # empty: searching writes the records again

    def searches(peer: Peer, *answers: str) -> Callable[[], Awaitable[bool]]:
        """Search until the answer is one of ``answers`` (Redis is reachable again)."""

        async def check() -> bool:
            await peer.emit_raw("find-partner")
            event, data = await asyncio.wait_for(peer.events.get(), 20)
            if event in answers:
                if event == "match-found":
                    await peer.events.put((event, data))  # for the expect below
                return True
            if event == "rate-limited":
                await asyncio.sleep(1.0)
                return False
            assert event == "error" and data["code"] == "unavailable", (event, data)
            return False

        return check

    await eventually(searches(alice, "waiting-for-partner"), timeout=30)
    # Bob meets alice at once, or (her node not beating again yet: she is passed over)
    # waits, and her node has her look again at its next beat.
    await eventually(searches(bob, "match-found", "waiting-for-partner"), timeout=30)
    if bob.events.empty():
        await bob.expect("match-found", timeout=10)
    await alice.expect("match-found", timeout=10)
    for peer in (alice, bob):
        await peer.close()
    for node in (one, two):
        assert "Traceback" not in node.log()  # one line per failed request, no traceback
        assert node.process.poll() is None  # still serving


async def test_a_call_redis_lost_with_its_data_ends_on_both_sides(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    """Redis restarted empty: each node registers its sockets again and tells the ones
    that were in a call that it is over, so no two pages go on signaling in a call the
    cluster no longer has (and chat refuses with "no partner")."""
    one, two = cluster(2)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    await match(alice, bob)
    await alice.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0"}})
    await bob.expect("signal-offer")  # the call works, and alice's node kept its partner
    await alice.expect("signal-offer-ack")
    redis_server.restart()
    await alice.expect("partner-disconnected", timeout=20)
    await bob.expect("partner-disconnected", timeout=20)
    await alice.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0 again"}})
    await bob.quiet(0.5)  # nothing of the lost call passes any more
    for peer in (alice, bob):
        await peer.close()
    for node in (one, two):
        assert node.process.poll() is None


async def test_a_drained_node_sends_its_clients_to_another_node(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    one, two = cluster(2, drain_seconds=5)
    alice = await ready(one.url, "alice")
    bob = await ready(two.url, "bob")
    carol = await ready(one.url, "carol")
    await match(bob, carol)  # carol's call is fresh: the drain lets it negotiate
    await alice.emit_raw("find-partner")
    await alice.expect("waiting-for-partner")
    one.process.send_signal(signal.SIGTERM)

    async def draining() -> bool:
        async with httpx.AsyncClient() as client:
            response = await client.get(one.url + "/healthz")
        return response.status_code == 503 and response.json() == {"status": "draining"}

    await eventually(draining)
    # While it drains: no new connections, no searches; the other node is untouched.
    late = Peer("late")
    with pytest.raises(Exception, match="failed to connect"):
        await late.connect(one.url)
    await late.close()
    assert "draining" in one.log()  # the refusal's reason
    await alice.emit_raw("next")
    assert (await alice.expect("error"))["code"] == "unavailable"
    await asyncio.wait_for(alice.disconnected.wait(), 20)
    assert one.process.wait(timeout=20) is not None
    await alice.close()
    # alice reconnects through the load balancer: here, to the other node.
    alice = await ready(two.url, "alice")
    await bob.expect("partner-disconnected", timeout=10)  # carol's node closed her socket
    found_bob, _ = await match(alice, bob)
    assert found_bob["partnerName"] == "alice"
    for peer in (alice, bob, carol):
        await peer.close()
    assert "Traceback" not in two.log()
