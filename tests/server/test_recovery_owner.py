"""Issue 22 (a): a connection-state-recovery pid resumes a held socket for its own user only.

Real app, real port, raw Socket.IO clients (python-socketio has no recovery):
Alice's transport drops and her socket is held; Mallory, with a valid token of
her own and Alice's pid, must get a socket of her own, and Alice's stays held
until Alice comes back for it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.rawclient import NS, WsClient
from tests.server.harness import Live, live_server, make_token

pytestmark = pytest.mark.server


async def connect(http: aiohttp.ClientSession, live: Live, auth: dict[str, Any]) -> Any:
    """A new websocket that sent CONNECT with ``auth``: the client and the reply's data."""
    client = await WsClient.open(http, live.url)
    await client.send(f"40{NS},{json.dumps(auth)}")
    while True:
        reply = await client.packet()
        if reply.namespace == NS and reply.type in (0, 4):
            return client, reply.data


async def held(live: Live, pid: str) -> None:
    for _ in range(200):
        if pid in live.app.gateway.sio.holds:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the socket was not held")


def refused_resumes(live: Live) -> float:
    value = live.app.metrics.registry.get_sample_value(
        "randomchat_refused_requests_total", {"event": "recover"}
    )
    return value or 0.0


async def test_another_users_token_cannot_resume_a_held_socket() -> None:
    alice_token = make_token("Alice", "u-alice")
    async with live_server() as live, aiohttp.ClientSession() as http:
        alice, reply = await connect(http, live, {"token": alice_token, "recover": True})
        sid, pid = reply["sid"], reply["pid"]
        await alice.expect("connection-quality")
        await alice.close()  # the transport drops: the socket is held
        await held(live, pid)

        mallory_token = make_token("Mallory", "u-mallory")
        for auth in (
            {"token": mallory_token, "recover": True, "pid": pid, "offset": "1"},
            {"token": mallory_token, "pid": pid, "offset": "99"},  # cannot be answered
        ):
            mallory, got = await connect(http, live, auth)
            assert got["sid"] != sid and got.get("pid") != pid  # a socket of her own
            assert live.app.lobby.user_of(got["sid"]) == "u-mallory"
            assert pid in live.app.gateway.sio.holds  # Alice's stays held, untouched
            await mallory.close()
        # No valid token at all: refused as a resume, and then as a connection.
        stranger, got = await connect(http, live, {"pid": pid, "offset": "1"})
        assert "sid" not in got and pid in live.app.gateway.sio.holds
        await stranger.close()
        assert refused_resumes(live) == 3
        assert live.app.lobby.user_of(sid) == "u-alice"

        # Alice, with a new token (same user), takes her socket back.
        renewed = make_token("Alice", "u-alice", iat=1)
        back, again = await connect(
            http, live, {"token": renewed, "recover": True, "pid": pid, "offset": "1"}
        )
        assert again == {"sid": sid, "pid": pid}
        assert refused_resumes(live) == 3
        await back.close()


async def test_another_users_token_cannot_replace_a_live_connection() -> None:
    """A pid is also refused before the server has noticed its owner's transport die."""
    async with live_server() as live, aiohttp.ClientSession() as http:
        alice_auth = {"token": make_token("Alice", "u-alice"), "recover": True}
        alice, reply = await connect(http, live, alice_auth)
        await alice.expect("connection-quality")
        mallory_auth = {"token": make_token("Mallory", "u-mallory"), "pid": reply["pid"]}
        mallory, got = await connect(http, live, mallory_auth)
        assert got["sid"] != reply["sid"]
        # Alice's connection still works: nothing replaced it.
        await alice.emit("heartbeat", {"sentAt": 1})
        await alice.expect("heartbeat-ack", skip=("connection-quality",))
        await mallory.close()
        await alice.close()
