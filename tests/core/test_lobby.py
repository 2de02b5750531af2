"""The lobby with the in-memory store and a fake clock: rules as values, no sockets."""

from typing import Any

import pytest

from randomchat.auth import Identity
from randomchat.core.ratelimit import Limit
from randomchat.errors import InvalidPayload
from randomchat.lobby import Emit, FlushLater, Lobby
from randomchat.metrics import Metrics
from randomchat.store import MemoryStore
from tests.fakes import FakeClock

OFFER = {"offer": {"type": "offer", "sdp": "v=0"}}


def cand(n: int) -> dict[str, Any]:
    return {"candidate": {"candidate": f"candidate:{n}", "sdpMid": "0", "sdpMLineIndex": 0}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lobby(clock: FakeClock) -> Lobby:
    return Lobby(
        MemoryStore(),
        clock,
        Metrics(),
        find_limit=Limit.one_per(1000),
        heartbeat_interval=5.0,
        ice_servers=[{"urls": "stun:stun.example:3478"}],
    )


async def connect(lobby: Lobby, *sids: str) -> None:
    for sid in sids:
        effects = await lobby.connect(sid, Identity("u-" + sid, sid.upper()))
        assert effects == [Emit(sid, "connection-quality", {"quality": "excellent"})]


async def pair(lobby: Lobby, a: str, b: str) -> None:
    await lobby.find_partner(a, ())
    await lobby.find_partner(b, ())


async def test_match_emits_roles_names_and_ice_servers(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a", "b")
    assert await lobby.find_partner("a", ()) == [
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_000_000})
    ]
    clock.advance(2)
    effects = await lobby.find_partner("b", ({},))
    ice = [{"urls": "stun:stun.example:3478"}]
    assert effects == [
        Emit(
            "b",
            "match-found",
            {"role": "initiator", "partnerName": "A", "timestamp": 1_002_000, "iceServers": ice},
        ),
        Emit(
            "a",
            "match-found",
            {"role": "receiver", "partnerName": "B", "timestamp": 1_002_000, "iceServers": ice},
        ),
    ]
    assert lobby.metrics.wait_time._sum.get() == 2.0  # type: ignore[attr-defined]


async def test_find_partner_rate_limit_and_refusals(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.find_partner("a", ())
    clock.advance(0.25)
    assert await lobby.find_partner("a", ()) == [
        Emit(
            "a",
            "rate-limited",
            {"message": "Please wait before searching again", "retryAfter": 750},
        )
    ]
    clock.advance(1)
    assert await lobby.find_partner("a", ()) == [
        Emit("a", "error", {"message": "Already in queue"})
    ]


async def test_signals_reach_partner_only_with_acks(lobby: Lobby) -> None:
    await connect(lobby, "a", "b", "c")
    await pair(lobby, "a", "b")
    assert await lobby.offer("b", (OFFER,)) == [
        Emit("a", "signal-offer", OFFER),
        Emit("b", "signal-offer-ack"),
    ]
    assert await lobby.offer("c", (OFFER,)) == []  # no partner: goes nowhere


async def test_candidates_coalesce_in_order_and_flush_before_descriptions(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    assert await lobby.ice_candidate("a", (cand(1),)) == [FlushLater("a")]
    assert await lobby.ice_candidate("a", (cand(2),)) == []
    assert await lobby.flush_candidates("a") == [
        Emit(
            "b",
            "signal-ice-candidates-batch",
            {"candidates": [cand(1)["candidate"], cand(2)["candidate"]]},
        )
    ]
    assert await lobby.ice_candidate("a", (cand(3),)) == [FlushLater("a")]
    answer = {"answer": {"type": "answer", "sdp": "v=0"}}
    assert await lobby.answer("a", (answer,)) == [
        Emit("b", "signal-ice-candidate", {"candidate": cand(3)["candidate"]}),
        Emit("b", "signal-answer", answer),
        Emit("a", "signal-answer-ack"),
    ]
    assert await lobby.flush_candidates("a") == []


async def test_pending_candidates_never_reach_the_next_partner(
    lobby: Lobby, clock: FakeClock
) -> None:
    await connect(lobby, "a", "b", "c")
    await pair(lobby, "a", "b")
    await lobby.ice_candidate("a", (cand(1),))
    clock.advance(2)
    effects = await lobby.next("a", ())
    assert effects == [
        Emit("b", "partner-left", {"reason": "next"}),
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_002_000}),
    ]
    await lobby.find_partner("c", ())
    assert await lobby.flush_candidates("a") == []
    assert lobby.local_sizes()["pending_batches"] == 0


async def test_next_while_waiting_keeps_place(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.find_partner("a", ())
    assert await lobby.next("a", ()) == [
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_000_000})
    ]


async def test_next_is_rate_limited_and_then_changes_nothing(
    lobby: Lobby, clock: FakeClock
) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    effects = await lobby.next("b", ())
    assert [e.event for e in effects if isinstance(e, Emit)] == ["rate-limited"]
    assert await lobby.store.partner_of("b") == "a"


async def test_leave_and_disconnect_notify_partner(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    assert await lobby.leave("a", ()) == [Emit("b", "partner-left", {"reason": "leave"})]
    assert await lobby.leave("a", ()) == []
    await connect(lobby, "c")
    await lobby.find_partner("c", ())
    assert await lobby.disconnect("b") == []
    assert await lobby.disconnect("c") == []
    await lobby.disconnect("a")
    assert (await lobby.store.counts()).empty


async def test_disconnect_mid_call(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    await lobby.ice_candidate("b", (cand(1),))
    assert await lobby.disconnect("a") == [Emit("b", "partner-disconnected", {})]
    assert lobby.local_sizes()["pending_batches"] == 0
    assert await lobby.flush_candidates("b") == []


async def test_heartbeat_ack_and_quality(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    clock.advance(5)
    assert await lobby.heartbeat("a", ({"sentAt": 42},)) == [
        Emit("a", "heartbeat-ack", {"sentAt": 42.0, "serverTime": 1_005_000})
    ]
    clock.advance(12)
    effects = await lobby.heartbeat("a", ({"sentAt": 43},))
    assert effects[0] == Emit("a", "connection-quality", {"quality": "good"})
    metrics = lobby.metrics_of("a")
    assert metrics is not None and metrics.heartbeat_count == 2 and metrics.message_count == 2


async def test_call_stats_once_per_call(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    stats = {"timeToMediaMs": 900, "candidateType": "host", "rttMs": 3}
    with pytest.raises(InvalidPayload, match="one report per call"):
        await lobby.call_stats("a", (stats,))
    await pair(lobby, "a", "b")
    assert await lobby.call_stats("a", (stats,)) == []
    with pytest.raises(InvalidPayload):
        await lobby.call_stats("a", (stats,))
    assert lobby.metrics.candidate_types.labels("host")._value.get() == 1  # type: ignore[attr-defined]


async def test_rate_limit_buckets_are_pruned(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.find_partner("a", ())
    clock.advance(5)
    await lobby.disconnect("a")
    assert lobby.local_sizes() == {"connections": 0, "pending_batches": 0, "rate_limit_buckets": 0}
