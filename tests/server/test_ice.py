"""ICE configuration on a real server: /api/ice-servers and match-found with TURN."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import httpx
import pytest

from tests.server.harness import live_server, make_token, match, ready

pytestmark = pytest.mark.server

TURN = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
SECRET = "turn-secret-for-tests"


def expected_password(username: str) -> str:
    return base64.b64encode(
        hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


async def test_ice_servers_need_a_token_and_carry_fresh_turn_credentials() -> None:
    async with live_server(
        stun_urls=("stun:127.0.0.1:3478",), turn_urls=tuple(TURN), turn_secrets=(SECRET,)
    ) as live:
        async with httpx.AsyncClient(base_url=live.url) as http:
            assert (await http.get("/api/ice-servers")).status_code == 401
            bad = {"Authorization": "Bearer not-a-token"}
            assert (await http.get("/api/ice-servers", headers=bad)).status_code == 401
            good = {"Authorization": f"Bearer {make_token('Alice', 'u-alice')}"}
            resp = await http.get("/api/ice-servers", headers=good)
        assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
        body = resp.json()
        assert body["iceTransportPolicy"] == "all"
        stun, turn = body["iceServers"]
        assert stun == {"urls": "stun:127.0.0.1:3478"} and turn["urls"] == TURN
        assert turn["username"].endswith(":u-alice")
        assert turn["credential"] == expected_password(turn["username"])


async def test_match_found_in_a_relay_deployment() -> None:
    async with live_server(
        stun_urls=(), turn_urls=tuple(TURN), turn_secrets=(SECRET,), ice_policy="relay"
    ) as live:
        alice, bob = await ready(live.url, "Alice"), await ready(live.url, "Bob")
        found_bob, found_alice = await match(alice, bob)
        for found, user in ((found_alice, "u-Alice"), (found_bob, "u-Bob")):
            assert found["iceTransportPolicy"] == "relay"
            (turn,) = found["iceServers"]
            assert turn["username"].endswith(f":{user}")
            assert turn["credential"] == expected_password(turn["username"])
        await alice.close()
        await bob.close()


async def test_ice_servers_are_limited_per_user_and_give_the_users_credential_again() -> None:
    """Issue 22 (b): 10 at once per user, then 429 with Retry-After; one credential reused."""
    async with (
        live_server(turn_urls=tuple(TURN), turn_secrets=(SECRET,)) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        alice = {"Authorization": f"Bearer {make_token('Alice', 'u-alice')}"}
        turns = []
        for _ in range(10):
            resp = await http.get("/api/ice-servers", headers=alice)
            assert resp.status_code == 200
            turns.append(resp.json()["iceServers"][-1])
        assert all(turn == turns[0] for turn in turns)  # not a new credential each time
        limited = await http.get("/api/ice-servers", headers=alice)
        assert limited.status_code == 429 and limited.json()["code"] == "rate-limited"
        assert int(limited.headers["retry-after"]) >= 1
        bob = {"Authorization": f"Bearer {make_token('Bob', 'u-bob')}"}
        assert (await http.get("/api/ice-servers", headers=bob)).status_code == 200


async def test_match_found_gives_the_credential_of_the_ice_servers_route_again() -> None:
    async with live_server(turn_urls=tuple(TURN), turn_secrets=(SECRET,)) as live:
        async with httpx.AsyncClient(base_url=live.url) as http:
            auth = {"Authorization": f"Bearer {make_token('Alice', 'u-Alice')}"}
            resp = await http.get("/api/ice-servers", headers=auth)
        kept = resp.json()["iceServers"][-1]
        await asyncio.sleep(1.1)  # a fresh mint would now end a second later
        alice, bob = await ready(live.url, "Alice"), await ready(live.url, "Bob")
        _, found_alice = await match(alice, bob)
        assert found_alice["iceServers"][-1] == kept
        await alice.close()
        await bob.close()
