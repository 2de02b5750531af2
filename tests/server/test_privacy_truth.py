"""Issue 24: "Hide my IP" is offered only where a relay-only call can happen, and a
privacy search where it cannot is refused, never quietly paired host to host."""

from __future__ import annotations

import httpx
import pytest

from tests.server.harness import live_server, ready

pytestmark = pytest.mark.server

TURN = ("turn:127.0.0.1:3478?transport=udp",)
SECRET = "turn-secret-for-tests"


async def rules_privacy(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        body = (await http.get("/api/rules")).json()
    return str(body["privacy"])


async def test_a_privacy_search_without_turn_is_refused_with_its_code() -> None:
    async with live_server() as live:  # the default install: no TURN server
        assert await rules_privacy(live.url) == "no-turn"
        alice, bob = await ready(live.url, "Alice"), await ready(live.url, "Bob")
        await alice.emit("find-partner", {"privacy": True})
        error = await alice.expect("error")
        assert error["code"] == "privacy_unavailable" and error["event"] == "find-partner"
        assert "TURN" in error["message"]
        # refused, not queued: a plain searcher waits instead of meeting Alice host to host
        await bob.emit_raw("find-partner")
        await bob.expect("waiting-for-partner")
        await alice.quiet()
        # in a call, `next` with privacy is refused before anything ends: the call goes on
        await alice.emit_raw("find-partner")
        await alice.expect("match-found")
        await bob.expect("match-found")
        await alice.emit("next", {"privacy": True, "interests": ["jazz"]})
        error = await alice.expect("error")
        assert (error["code"], error["event"]) == ("privacy_unavailable", "next")
        await bob.quiet()
        await alice.close()
        await bob.close()


async def test_the_rules_answer_says_whether_hide_my_ip_can_be_offered() -> None:
    async with live_server(turn_urls=TURN, turn_secrets=(SECRET,)) as live:
        assert await rules_privacy(live.url) == "available"
        alice, bob = await ready(live.url, "Alice"), await ready(live.url, "Bob")
        await alice.emit("find-partner", {"privacy": True})
        await alice.expect("waiting-for-partner")
        await bob.emit_raw("find-partner")
        assert (await bob.expect("match-found"))["iceTransportPolicy"] == "relay"
        await alice.close()
        await bob.close()
    relay = {"turn_urls": TURN, "turn_secrets": (SECRET,), "ice_policy": "relay"}
    async with live_server(**relay) as live:
        assert await rules_privacy(live.url) == "always"
    off = {"turn_urls": TURN, "turn_secrets": (SECRET,), "allow_privacy_mode": False}
    async with live_server(**off) as live:
        assert await rules_privacy(live.url) == "off"
