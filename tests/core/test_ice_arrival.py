"""Issue 22 (b): a match-found written by another node gets its TURN credentials on the node
that holds the socket, capped at that socket's own token (``lobby.ice``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from randomchat.auth import Identity
from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.lobby import Lobby
from randomchat.lobby.ice import arriving
from randomchat.metrics import Metrics
from randomchat.rules import Rules
from randomchat.store import MemoryStore
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
    got = arriving(lobby.ctx, "a", "match-found", sent)
    stun, turn = got["iceServers"]
    assert stun == STUN and turn["username"] == f"{int(now + 600)}:u-a"
    assert got["role"] == "receiver" and got["callId"] == "c"
    # An older node's uncapped credential is replaced too.
    stale = {**sent, "iceServers": [STUN, {**turn, "username": f"{int(now + 3600)}:u-a"}]}
    assert arriving(lobby.ctx, "a", "match-found", stale)["iceServers"] == [stun, turn]


async def test_other_events_and_sockets_not_held_here_pass_unchanged(lobby: Lobby) -> None:
    await lobby.connect("a", Identity("u-a", "A"))
    payload = {"iceServers": [STUN]}
    assert arriving(lobby.ctx, "a", "signal-offer", payload) is payload
    assert arriving(lobby.ctx, "gone", "match-found", payload) is payload
