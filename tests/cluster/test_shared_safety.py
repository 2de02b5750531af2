"""Issue 22 on a real cluster: two ``randomchat serve`` processes on one real redis-server.

(c) A solved proof of work is spent once in the whole cluster: the second node
refuses what the first accepted. (b) The TURN credential of a partner on
another node ends with that partner's own token, not the searching user's.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.cluster.conftest import Cluster
from tests.powsolve import solve
from tests.server.harness import Peer, make_token, match

pytestmark = pytest.mark.process

TURN_SECRET = "turn-secret-for-tests"


async def solved(http: httpx.AsyncClient, url: str) -> str:
    """A solution of a challenge fetched from ``url``, as the page's ALTCHA payload."""
    return solve((await http.get(f"{url}/api/altcha")).json())


async def test_a_proof_of_work_accepted_on_one_node_is_refused_on_another(
    cluster: Cluster,
) -> None:
    one, two = cluster(2, pow="always", pow_max_number=2000)
    async with httpx.AsyncClient(timeout=10) as http:
        rules = (await http.get(f"{one.url}/api/rules")).json()["version"]

        async def session(url: str, altcha: str) -> httpx.Response:
            body = {"username": "Alice", "rulesVersion": rules, "altcha": altcha}
            return await http.post(f"{url}/api/session", json=body)

        payload = await solved(http, one.url)
        assert (await session(one.url, payload)).status_code == 201
        for url in (two.url, one.url):  # the other node, and the same one again
            replayed = await session(url, payload)
            assert replayed.status_code == 403 and replayed.json()["code"] == "pow-invalid"
        # A challenge of one node is good on the other, once.
        assert (await session(two.url, await solved(http, one.url))).status_code == 201


async def test_a_partner_on_another_node_gets_turn_credentials_ending_with_its_own_token(
    cluster: Cluster,
) -> None:
    one, two = cluster(2, turn_url="turn:127.0.0.1:3478", turn_secret=TURN_SECRET)
    short = int(time.time()) + 600  # Alice's token ends long before the credentials' hour
    alice = await Peer("alice").connect(one.url, token=make_token("alice", "u-alice", exp=short))
    await alice.expect("connection-quality")
    bob = await Peer("bob").connect(two.url)
    await bob.expect("connection-quality")
    # Alice waits on node one; Bob's search on node two pairs them there.
    found_bob, found_alice = await match(alice, bob)
    turn_alice = found_alice["iceServers"][-1]
    assert turn_alice["username"] == f"{short}:u-alice"
    assert turn_alice["urls"] == ["turn:127.0.0.1:3478"]
    assert int(found_bob["iceServers"][-1]["username"].split(":")[0]) > short + 2000
    for peer in (alice, bob):
        await peer.close()
