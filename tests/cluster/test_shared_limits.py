"""Connection caps and the guest-session limiter hold across the nodes of a cluster.

Real ``randomchat serve`` nodes on one real redis-server (``cluster``), real
python-socketio clients and HTTP requests. Every client here comes from 127.0.0.1,
so one address for the per-address cap and the session limiter, whichever node
it reaches.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
import socketio
from redis.asyncio import Redis

from randomchat.config import Settings
from randomchat.guests import RulesDocument
from tests.cluster.conftest import NODE_TIMEOUT, Cluster, eventually
from tests.redisserver import RedisServer
from tests.server.harness import NS, Peer, ready

pytestmark = pytest.mark.process

RULES = RulesDocument.load(Settings()).version


async def refused(url: str, name: str, sub: str) -> str:
    """Connect and expect a refusal: its message, as the server sent it."""
    peer = Peer(name, sub)
    reasons: list[object] = []
    peer.client.on("connect_error", reasons.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(url)
    await peer.close()
    assert len(reasons) == 1, reasons
    return str(reasons[0])


async def leases(url: str, key: str) -> int:
    redis = Redis.from_url(url)
    try:
        return int(await redis.zcard(key))
    finally:
        await redis.aclose()


async def test_the_cap_per_user_holds_across_two_nodes(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2, max_sockets_per_user=2)
    first = await ready(one.url, "Same", sub="u-same")
    second = await ready(two.url, "Same", sub="u-same")
    # Two connections on two nodes: each node alone holds one, the cluster two.
    for node in (one, two):
        message = await refused(node.url, "Same", "u-same")
        assert "at most 2 connections per user" in message, message
    other = await ready(two.url, "Other", sub="u-other")  # another user is not held back
    await first.close()

    async def admitted() -> bool:  # the closed socket stops counting (its release)
        return await leases(redis_server.url, "rc:{caps}:u:u-same") == 1

    await eventually(admitted)
    third = await ready(one.url, "Same", sub="u-same")
    for peer in (second, third, other):
        await peer.close()

    async def released() -> bool:
        return await leases(redis_server.url, "rc:{caps}:u:u-same") == 0

    await eventually(released)


async def test_the_cap_per_address_holds_across_two_nodes(cluster: Cluster) -> None:
    one, two = cluster(2, max_sockets_per_address=3)
    peers = [await ready(node.url, f"p{i}") for i, node in enumerate((one, two, two))]
    message = await refused(one.url, "p3", "u-p3")
    assert "at most 3 connections per address" in message, message
    for peer in peers:
        await peer.close()


async def test_a_killed_nodes_connections_stop_counting(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2, max_sockets_per_user=2)
    stays = await ready(one.url, "Same", sub="u-same")
    await ready(two.url, "Same", sub="u-same")  # dies with its node, never disconnected
    assert "per user" in await refused(one.url, "Same", "u-same")
    os.kill(two.process.pid, signal.SIGKILL)
    two.process.wait()
    killed = time.monotonic()
    admitted: list[Peer] = []

    async def connects() -> bool:
        try:
            admitted.append(await ready(one.url, "Same", sub="u-same"))
        except socketio.exceptions.ConnectionError:
            return False
        return True

    await eventually(connects, timeout=NODE_TIMEOUT * 3 + 5)
    print(
        f"a killed node's connection stopped counting {time.monotonic() - killed:.2f} s "
        f"after kill -9 (lease = node timeout = {NODE_TIMEOUT} s, renewed every third)"
    )
    # Only the dead one stopped counting: the cap is full again with the two live ones.
    assert "per user" in await refused(one.url, "Same", "u-same")
    assert await leases(redis_server.url, "rc:{caps}:u:u-same") == 2
    for peer in (stays, *admitted):
        await peer.close()


async def test_the_session_limiter_holds_across_two_nodes(cluster: Cluster) -> None:
    one, two = cluster(2, sessions_per_minute=1, session_burst=2, pow="never")
    body = {"username": "A", "rulesVersion": RULES}
    codes = []
    async with httpx.AsyncClient() as http:
        for node in (one, two, one, two):
            codes.append((await http.post(node.url + "/api/session", json=body)).status_code)
        last = await http.post(two.url + "/api/session", json=body)
    # The burst of 2 is the address's on the cluster, not 2 per node.
    assert codes == [201, 201, 429, 429]
    assert 1 <= int(last.headers["retry-after"]) <= 60
