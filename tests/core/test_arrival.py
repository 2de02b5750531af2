"""Events from another node, completed on the node that holds the socket (``lobby.arrival``):
a match-found gets its TURN credentials there, capped at that socket's own token (issue
22), and starts the socket's call record there, and the record keeps the chat lines and
the call's end (issue 23: no call record in Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from randomchat.auth import Identity
from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.lobby import Lobby
from randomchat.lobby.arrival import arriving, with_record
from randomchat.metrics import Metrics
from randomchat.protocol import MatchFound
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from randomchat.store.shared import CallRecord
from randomchat.turn import IceConfig
from tests.fakes import FakeClock

pytestmark = pytest.mark.pure

STUN = {"urls": "stun:stun.example:3478"}


@pytest.fixture
async def lobby(tmp_path: Path) -> AsyncIterator[Lobby]:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'lobby.db'}")
    ice = IceConfig(("stun:stun.example:3478",), ("turn:t:3478",), ("turn-secret-0123456",))
    rules = Rules(find_limit=Limit.one_per(0), ice=ice)
    yield Lobby(MemoryStore(), db, FakeClock(), Metrics(), rules)
    await db.close()


async def test_the_holding_node_adds_turn_capped_at_the_sockets_own_token(lobby: Lobby) -> None:
    now = lobby.ctx.wall()
    await lobby.connect("a", Identity("u-a", "A", expires_at=now + 600))
    sent = {"role": "receiver", "iceServers": [STUN], "callId": "c"}  # STUN alone, as sent
    got = await arriving(lobby.ctx, "a", "match-found", sent)
    stun, turn = got["iceServers"]
    assert stun == STUN and turn["username"] == f"{int(now + 600)}:u-a"
    assert got["role"] == "receiver" and got["callId"] == "c"
    # An older node's uncapped credential is replaced too.
    stale = {**sent, "iceServers": [STUN, {**turn, "username": f"{int(now + 3600)}:u-a"}]}
    assert (await arriving(lobby.ctx, "a", "match-found", stale))["iceServers"] == [stun, turn]


async def test_other_events_and_sockets_not_held_here_pass_unchanged(lobby: Lobby) -> None:
    await lobby.connect("a", Identity("u-a", "A"))
    payload = {"iceServers": [STUN]}
    assert await arriving(lobby.ctx, "a", "signal-offer", payload) is payload
    assert await arriving(lobby.ctx, "gone", "match-found", payload) is payload


async def test_the_call_record_starts_keeps_chat_and_ends_on_the_holding_node(
    lobby: Lobby,
) -> None:
    await lobby.connect("n2.a", Identity("u-a", "A"))
    match: MatchFound = {"role": "receiver", "iceServers": [STUN], "callId": "c1"}  # type: ignore[typeddict-item]
    record = CallRecord("n1.b", "u-b", True, "net-b", call_id="c1")
    sent = with_record(match, record)
    got = await arriving(lobby.ctx, "n2.a", "match-found", sent)
    assert "_call" not in got  # never written out to the page
    kept = await lobby.ctx.calls.get("n2.a")
    assert kept is not None
    assert (kept.partner_sid, kept.partner_user, kept.relay) == ("n1.b", "u-b", True)
    assert (kept.partner_address, kept.call_id) == ("net-b", "c1")
    line = {"text": "hello", "id": "m1", "sentAt": 1_000}
    assert await arriving(lobby.ctx, "n2.a", "chat-message", line) == line
    assert [(c.sender, c.text) for c in kept.chat] == [("u-b", "hello")]
    await arriving(lobby.ctx, "n2.a", "partner-left", {"reason": "next"})
    # Ended, and still there to be reported a while.
    assert await lobby.ctx.calls.get("n2.a") is not None


async def test_a_record_not_of_this_version_starts_nothing(lobby: Lobby) -> None:
    await lobby.connect("n2.a", Identity("u-a", "A"))
    for junk in (None, "x", [1, 2], ["n1.b", 5, True, None, "c"]):
        sent = {"role": "receiver", "iceServers": [STUN], "_call": junk}
        got = await arriving(lobby.ctx, "n2.a", "match-found", sent)
        assert "_call" not in got
    assert await lobby.ctx.calls.get("n2.a") is None
