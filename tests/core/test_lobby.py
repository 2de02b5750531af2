"""The lobby with the in-memory store and a fake clock: rules as values, no sockets."""

from typing import Any

import pytest

from randomchat.auth import Identity
from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.errors import IllegalMove, InvalidPayload, TooManyConnections
from randomchat.lobby import Emit, FlushLater, HangUp, Lobby
from randomchat.metrics import Metrics
from randomchat.proxy import network_of
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from randomchat.turn import IceConfig
from tests.fakes import FakeClock, written

pytestmark = pytest.mark.pure

OFFER = {"offer": {"type": "offer", "sdp": "v=0"}}


def cand(n: int) -> dict[str, Any]:
    return {"candidate": {"candidate": f"candidate:{n}", "sdpMid": "0", "sdpMLineIndex": 0}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Any) -> Any:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'lobby.db'}")
    yield database
    await database.close()


@pytest.fixture
def lobby(clock: FakeClock, db: Database) -> Lobby:
    rules = Rules(
        find_limit=Limit.one_per(1000),
        heartbeat_interval=5.0,
        ice=IceConfig(stun_urls=("stun:stun.example:3478",)),
    )
    return Lobby(MemoryStore(), db, clock, Metrics(), rules)


async def connect(lobby: Lobby, *sids: str) -> None:
    for sid in sids:
        effects = await lobby.connect(sid, Identity("u-" + sid, sid.upper()))
        assert effects == [Emit(sid, "connection-quality", {"quality": "excellent"})]


async def pair(lobby: Lobby, a: str, b: str) -> None:
    await lobby.search.find_partner(a, ())
    written(lobby, await lobby.search.find_partner(b, ()))


async def test_match_emits_roles_names_and_ice_servers(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a", "b")
    assert await lobby.search.find_partner("a", ()) == [
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_000_000})
    ]
    clock.advance(2)
    effects = await lobby.search.find_partner("b", ({},))
    # both sides name the same call and carry the same resume ticket (tests/core/test_resume.py)
    calls = {(e.data.pop("callId"), e.data.pop("resume")) for e in effects}  # type: ignore[union-attr]
    assert len(calls) == 1
    ice = [{"urls": "stun:stun.example:3478"}]
    assert effects == [
        Emit(
            "b",
            "match-found",
            {
                "role": "initiator",
                "partnerName": "A",
                "timestamp": 1_002_000,
                "iceServers": ice,
                "commonInterests": [],
                "commonLanguages": [],
                "iceTransportPolicy": "all",
                "mode": "video",
            },
            "a",  # the partner each side is told of (delivery lets its events through)
        ),
        Emit(
            "a",
            "match-found",
            {
                "role": "receiver",
                "partnerName": "B",
                "timestamp": 1_002_000,
                "iceServers": ice,
                "commonInterests": [],
                "commonLanguages": [],
                "iceTransportPolicy": "all",
                "mode": "video",
            },
            "b",
        ),
    ]
    assert lobby.metrics.wait_time._sum.get() == 2.0  # type: ignore[attr-defined]


async def test_find_partner_rate_limit_and_refusals(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.search.find_partner("a", ())
    clock.advance(0.25)
    assert await lobby.search.find_partner("a", ()) == [
        Emit(
            "a",
            "rate-limited",
            {
                "message": "Please wait before searching again",
                "retryAfter": 750,
                "event": "find-partner",
            },
        )
    ]
    clock.advance(1)
    with pytest.raises(IllegalMove, match=r"^Already in queue$"):  # the seed's wording
        await lobby.search.find_partner("a", ())


async def test_signals_reach_partner_only_with_acks(lobby: Lobby) -> None:
    await connect(lobby, "a", "b", "c")
    await pair(lobby, "a", "b")
    assert await lobby.relay.offer("b", (OFFER,)) == [
        Emit("a", "signal-offer", OFFER, "b"),  # source: the sender, checked on delivery
        Emit("b", "signal-offer-ack"),
    ]
    assert await lobby.relay.offer("c", (OFFER,)) == []  # no partner: goes nowhere


async def test_candidates_coalesce_in_order_and_flush_before_descriptions(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    assert await lobby.relay.ice_candidate("a", (cand(1),)) == [FlushLater("a")]
    assert await lobby.relay.ice_candidate("a", (cand(2),)) == []
    assert await lobby.relay.flush_candidates("a") == [
        Emit(
            "b",
            "signal-ice-candidates-batch",
            {"candidates": [cand(1)["candidate"], cand(2)["candidate"]]},
            "a",
        )
    ]
    assert await lobby.relay.ice_candidate("a", (cand(3),)) == [FlushLater("a")]
    answer = {"answer": {"type": "answer", "sdp": "v=0"}}
    assert await lobby.relay.answer("a", (answer,)) == [
        Emit("b", "signal-ice-candidate", {"candidate": cand(3)["candidate"]}, "a"),
        Emit("b", "signal-answer", answer, "a"),
        Emit("a", "signal-answer-ack"),
    ]
    assert await lobby.relay.flush_candidates("a") == []


async def test_a_senders_partner_is_the_one_it_was_told_of(
    lobby: Lobby,
) -> None:
    """The relay sends to the partner the sender's socket was told of; a call ended
    elsewhere (another node, here the store directly) is over for the sender when a
    call event is written to it."""
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    offer = Emit("b", "signal-offer", OFFER, "a")
    assert (await lobby.relay.offer("a", (OFFER,)))[0] == offer
    assert len(lobby.ctx.told) == 2  # both sides were told of the call
    await lobby.store.leave("b")  # b pressed Next on another node
    # Until a's node writes that partner-left, a's offer still goes to b: b's node
    # drops it where it would be written (tests/test_delivery.py).
    assert (await lobby.relay.offer("a", (OFFER,)))[0] == offer
    written(lobby, [Emit("a", "partner-left", {"reason": "next"}, "b")])  # reached a
    assert len(lobby.ctx.told) == 1  # b's node has not told b yet (here: the test)
    assert await lobby.relay.offer("a", (OFFER,)) == []


async def test_pending_candidates_never_reach_the_next_partner(
    lobby: Lobby, clock: FakeClock
) -> None:
    await connect(lobby, "a", "b", "c")
    await pair(lobby, "a", "b")
    await lobby.relay.ice_candidate("a", (cand(1),))
    clock.advance(2)
    effects = await lobby.search.next("a", ())
    assert effects == [
        HangUp("a"),
        Emit("b", "partner-left", {"reason": "next"}, "a"),
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_002_000}),
    ]
    await lobby.search.find_partner("c", ())
    assert await lobby.relay.flush_candidates("a") == []
    assert lobby.local_sizes()["pending_batches"] == 0


async def test_next_while_waiting_keeps_place(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.search.find_partner("a", ())
    clock.advance(1)
    assert await lobby.search.next("a", ()) == [
        Emit("a", "waiting-for-partner", {"queuePosition": 1, "timestamp": 1_001_000})
    ]


async def test_next_while_waiting_is_rate_limited_too(lobby: Lobby, clock: FakeClock) -> None:
    """A ``next`` flood while waiting gets ``rate-limited``, not a queue scan each (item 9)."""
    await connect(lobby, "a")
    await lobby.search.find_partner("a", ())
    effects = await lobby.search.next("a", ())
    assert [e.event for e in effects if isinstance(e, Emit)] == ["rate-limited"]


async def test_next_is_rate_limited_and_then_changes_nothing(
    lobby: Lobby, clock: FakeClock
) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    effects = await lobby.search.next("b", ())
    assert [e.event for e in effects if isinstance(e, Emit)] == ["rate-limited"]
    assert await lobby.store.partner_of("b") == "a"


async def test_leave_and_disconnect_notify_partner(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    assert await lobby.search.leave("a", ()) == [
        HangUp("a"),
        Emit("b", "partner-left", {"reason": "leave"}, "a"),
    ]
    assert await lobby.search.leave("a", ()) == [HangUp("a")]  # no call: nothing to tell
    await connect(lobby, "c")
    await lobby.search.find_partner("c", ())
    assert await lobby.disconnect("b") == []
    assert await lobby.disconnect("c") == []
    await lobby.disconnect("a")
    assert (await lobby.store.counts()).empty


async def test_disconnect_mid_call(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    await lobby.relay.ice_candidate("b", (cand(1),))
    assert await lobby.disconnect("a") == [Emit("b", "partner-disconnected", {}, "a")]
    assert lobby.local_sizes()["pending_batches"] == 0
    assert await lobby.relay.flush_candidates("b") == []


async def test_heartbeat_ack_and_quality(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    clock.advance(5)
    assert await lobby.telemetry.heartbeat("a", ({"sentAt": 42},)) == [
        Emit("a", "heartbeat-ack", {"sentAt": 42.0, "serverTime": 1_005_000})
    ]
    clock.advance(12)
    effects = await lobby.telemetry.heartbeat("a", ({"sentAt": 43},))
    assert effects[0] == Emit("a", "connection-quality", {"quality": "good"})
    metrics = lobby.metrics_of("a")
    assert metrics is not None and metrics.heartbeat_count == 2 and metrics.message_count == 2


async def test_call_stats_once_per_call(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    stats = {"timeToMediaMs": 900, "candidateType": "host", "rttMs": 3}
    with pytest.raises(IllegalMove, match="One report per call"):
        await lobby.telemetry.call_stats("a", (stats,))
    await pair(lobby, "a", "b")
    assert await lobby.telemetry.call_stats("a", (stats,)) == []
    with pytest.raises(IllegalMove):
        await lobby.telemetry.call_stats("a", (stats,))
    assert lobby.metrics.candidate_types.labels("host")._value.get() == 1  # type: ignore[attr-defined]
    await lobby.telemetry.call_stats("b", ({"outcome": "failed"},))
    outcomes = lobby.metrics.call_outcomes
    assert outcomes.labels("connected")._value.get() == 1  # type: ignore[attr-defined]
    assert outcomes.labels("failed")._value.get() == 1  # type: ignore[attr-defined]


async def test_rate_limit_buckets_are_pruned(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a")
    await lobby.search.find_partner("a", ())
    clock.advance(5)
    await lobby.disconnect("a")
    await lobby.housekeeping()
    sizes = lobby.local_sizes()
    assert (sizes["connections"], sizes["users"], sizes["rate_limit_buckets"]) == (0, 0, 0)


async def test_interests_widen_after_the_wait(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "fan", "plain")
    await lobby.search.find_partner("fan", ({"interests": ["music"]},))
    await lobby.search.find_partner("plain", ())
    clock.advance(4.9)
    assert await lobby.search.widen_waiting() == []
    clock.advance(0.1)
    effects = await lobby.search.widen_waiting()
    assert [(e.to, e.event, e.data["role"]) for e in effects if isinstance(e, Emit)] == [
        ("fan", "match-found", "initiator"),
        ("plain", "match-found", "receiver"),
    ]


async def test_widening_alone_repeats_waiting(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "fan", "strict")
    await lobby.search.find_partner("fan", ({"interests": ["music"]},))
    await lobby.search.find_partner("strict", ({"interests": ["chess"], "strict": True},))
    clock.advance(6)
    effects = await lobby.search.widen_waiting()
    assert [(e.to, e.event) for e in effects if isinstance(e, Emit)] == [
        ("fan", "waiting-for-partner")
    ]
    clock.advance(60)
    assert await lobby.search.widen_waiting() == []


async def test_common_interests_in_match_found(lobby: Lobby) -> None:
    await connect(lobby, "a", "b")
    await lobby.search.find_partner("a", ({"interests": ["Music", "art"]},))
    effects = await lobby.search.find_partner("b", ({"interests": ["music", "chess"]},))
    assert all(e.data["commonInterests"] == ["music"] for e in effects if isinstance(e, Emit))


async def test_no_repeat_partner_while_someone_else_waits(
    lobby: Lobby, clock: FakeClock, db: Database
) -> None:
    await db.block("u-x", "u-b", 0.0)  # keeps x and b apart, so both wait
    await connect(lobby, "a", "b", "x")
    await pair(lobby, "a", "b")
    await lobby.search.leave("a", ())
    clock.advance(2)
    await lobby.search.find_partner("b", ())
    await lobby.search.find_partner("x", ())
    assert (await lobby.store.counts()).waiting == 2
    await lobby.search.find_partner("a", ())  # b waited longer, but a just met b
    assert await lobby.store.partner_of("a") == "x"


async def test_no_repeat_partner_within_the_window(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    clock.advance(2)
    await lobby.search.next("a", ())
    # An exclusion, not a preference: with nobody else online, both keep waiting.
    assert (await lobby.search.find_partner("b", ()))[0].event == "waiting-for-partner"  # type: ignore[union-attr]


async def test_chat_relay_ack_and_rate_limit(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a", "b")
    with pytest.raises(IllegalMove, match="No partner"):
        await lobby.chat.chat_message("a", ({"text": "hi", "id": "0"},))
    await pair(lobby, "a", "b")
    effects = await lobby.chat.chat_message("a", ({"text": " hi ", "id": "m1"},))
    assert effects == [
        Emit("b", "chat-message", {"text": "hi", "id": "m1", "sentAt": 1_000_000}, "a"),
        Emit("a", "chat-message-ack", {"id": "m1"}),
    ]
    for n in range(9):
        await lobby.chat.chat_message("a", ({"text": "x", "id": n},))
    limited = await lobby.chat.chat_message("a", ({"text": "x", "id": 99},))
    assert limited[0].event == "rate-limited"  # type: ignore[union-attr]
    assert limited[0].data == {
        "message": "You are sending messages too fast",  # type: ignore[union-attr]
        "retryAfter": 200,
        "event": "chat-message",
        "id": 99,
    }
    assert await lobby.chat.typing("a", ({"active": True},)) == [
        Emit("b", "typing", {"active": True}, "a")
    ]


async def test_block_ends_call_and_they_never_meet_again(lobby: Lobby, clock: FakeClock) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    effects = await lobby.moderation.block_partner("a", ())
    assert effects == [
        HangUp("a"),
        Emit("b", "partner-left", {"reason": "leave"}, "a"),
        Emit("a", "block-partner-ack", {}),
    ]
    clock.advance(5)
    await lobby.search.find_partner("a", ())
    assert (await lobby.search.find_partner("b", ()))[0].event == "waiting-for-partner"  # type: ignore[union-attr]
    await lobby.disconnect("b")
    # A new connection of the blocked user loads the block from the database.
    await lobby.connect("b2", Identity("u-b", "B"))
    clock.advance(5)
    assert (await lobby.search.find_partner("b2", ()))[0].event == "waiting-for-partner"  # type: ignore[union-attr]


async def test_report_records_chat_and_cools_down_at_threshold(
    lobby: Lobby, clock: FakeClock, db: Database
) -> None:
    await connect(lobby, "bad")
    for n in range(3):
        reporter = f"r{n}"
        # Reports from one /24 count once (tests/core/test_safety*.py): three networks.
        await lobby.connect(reporter, Identity("u-" + reporter, reporter), f"192.0.{n}.2")
        clock.advance(2)
        await lobby.search.find_partner("bad", ())
        written(lobby, await lobby.search.find_partner(reporter, ()))
        await lobby.chat.chat_message("bad", ({"text": f"rude {n}", "id": "1"},))
        effects = written(
            lobby,
            await lobby.moderation.report_partner(
                reporter, ({"reason": "harassment", "note": "!"},)
            ),
        )
        events = [
            (e.to, e.event) if isinstance(e, Emit) else ("kick", e.sid)
            for e in effects
            if not isinstance(e, FlushLater | HangUp)
        ]
        assert HangUp(reporter) in effects  # the reporter ended the call
        assert events[:2] == [("bad", "partner-left"), (reporter, "report-partner-ack")]
        if n < 2:
            assert len(events) == 2
        else:
            assert events[2] == ("kick", "bad")
    reports = await db.reports(user_id="u-bad")
    assert len(reports) == 3 and reports[0].chat[-1].text == "rude 2"
    ban = await db.active_ban("u-bad", clock.wall_ms() / 1000)
    assert ban is not None and ban.reason == "cool-down: reported by 3 users from 3 networks"
    assert ban.address_hash is None and ban.until - ban.created_at == 600


async def test_report_after_the_partner_left_still_counts(lobby: Lobby) -> None:
    await connect(lobby, "a", "b", "lonely")
    await pair(lobby, "a", "b")
    await lobby.search.leave("b", ())
    effects = await lobby.moderation.report_partner("a", ({"reason": "spam"},))
    assert [e.event for e in effects if isinstance(e, Emit)] == ["report-partner-ack"]
    with pytest.raises(IllegalMove, match="No partner"):
        await lobby.moderation.report_partner("lonely", ({"reason": "spam"},))


async def test_one_report_per_call_and_a_report_rate(
    lobby: Lobby, db: Database, clock: FakeClock
) -> None:
    """A flood of reports stores one per call and then meets a per-user rate (item 5)."""
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    await lobby.moderation.report_partner("a", ({"reason": "spam"},))
    for _ in range(50):
        with pytest.raises(IllegalMove, match="already reported"):
            await lobby.moderation.report_partner("a", ({"reason": "spam"},))
    assert len(await db.reports(user_id="u-b")) == 1
    replies: list[str] = []
    for n in range(5):  # new partners, each reported at once: the per-user rate takes over
        clock.advance(1)
        await lobby.search.leave("a", ())  # a rate-limited report leaves the call on
        await connect(lobby, f"x{n}")
        await lobby.search.find_partner(f"x{n}", ())
        await lobby.search.find_partner("a", ())
        effects = await lobby.moderation.report_partner("a", ({"reason": "spam"},))
        replies += [e.event for e in effects if isinstance(e, Emit) and e.to == "a"]
    assert replies.count("report-partner-ack") == 2  # the burst of 3, one already used
    assert replies.count("rate-limited") == 3
    assert len(await db.reports()) == 3


async def test_blocking_twice_writes_once(lobby: Lobby, db: Database, monkeypatch: Any) -> None:
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    writes: list[str] = []
    real = db.block

    async def counting(blocker: str, blocked: str, now: float) -> None:
        writes.append(blocked)
        await real(blocker, blocked, now)

    monkeypatch.setattr(db, "block", counting)
    for _ in range(20):
        effects = await lobby.moderation.block_partner("a", ())
        assert Emit("a", "block-partner-ack", {}) in effects
    assert writes == ["u-b"]


async def test_connection_caps_per_user_and_per_address(lobby: Lobby) -> None:
    """At most ``max_sockets_per_user`` per user and ``..._per_address`` per network."""
    for n in range(4):
        await lobby.connect(f"tab{n}", Identity("u-same", "S"), network_of("203.0.113.9"))
    with pytest.raises(TooManyConnections, match="per user"):
        await lobby.connect("tab4", Identity("u-same", "S"), network_of("198.51.100.1"))
    await lobby.disconnect("tab0")
    await lobby.connect("tab4", Identity("u-same", "S"), "198.51.100.1")
    for n in range(60):  # one IPv6 /64 counts as one address, whatever the host part
        await lobby.connect(f"v6-{n}", Identity(f"u-{n}", "V"), network_of(f"2001:db8::{n:x}"))
    with pytest.raises(TooManyConnections, match="per address"):
        for n in range(60, 70):
            await lobby.connect(
                f"v6-{n}", Identity(f"u-{n}", "V"), network_of(f"2001:db8::1:{n:x}")
            )
    # Another /64 of the same /48 (one subscriber's) counts towards the same cap (issue 22).
    with pytest.raises(TooManyConnections, match="per address"):
        await lobby.connect("same48", Identity("u-48", "O"), network_of("2001:db8:0:1::1"))
    await lobby.connect("other", Identity("u-other", "O"), network_of("2001:db8:1::1"))
    for sid in [f"v6-{n}" for n in range(64)] + ["other", "tab1", "tab2", "tab3", "tab4"]:
        await lobby.disconnect(sid)
    assert lobby.local_sizes()["addresses"] == 0 and lobby.local_sizes()["users"] == 0


SDP_WITH_CANDIDATES = (
    "v=0\r\n"
    "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host generation 0\r\n"
    "a=candidate:2 1 udp 1686052607 203.0.113.7 50001 typ srflx raddr 192.168.1.20 rport 50000\r\n"
    "a=candidate:3 1 udp 41885439 198.51.100.2 3478 typ relay raddr 203.0.113.7 rport 50001\r\n"
    "a=candidate:4 1 udp 1845501695 abcd.local 50002 typ prflx\r\n"
    "a=end-of-candidates\r\n"
)


def turn_lobby(clock: FakeClock, db: Database, **ice: Any) -> Lobby:
    config = IceConfig(
        turn_urls=("turn:127.0.0.1:3478",), turn_secrets=("turn-secret-0123456",), **ice
    )
    rules = Rules(find_limit=Limit.one_per(0), ice=config)
    return Lobby(MemoryStore(), db, clock, Metrics(), rules)


async def test_privacy_mode_relays_only_relay_candidates(clock: FakeClock, db: Database) -> None:
    """One user asks for privacy: the call is relay-only for both, and no host, srflx or
    prflx candidate reaches the other side, in a candidate event or inside SDP."""
    lobby = turn_lobby(clock, db)
    await connect(lobby, "a", "b")
    await lobby.search.find_partner("a", ({"privacy": True},))
    effects = written(lobby, await lobby.search.find_partner("b", ()))
    policies = {e.to: e.data["iceTransportPolicy"] for e in effects if isinstance(e, Emit)}
    assert policies == {"a": "relay", "b": "relay"}
    for sender, receiver in (("a", "b"), ("b", "a")):
        relayed: list[Any] = []
        for n, typ in enumerate(("host", "srflx", "prflx", "relay", "host")):
            line = f"candidate:{n} 1 udp 1 10.0.0.{n} 5000{n} typ {typ}"
            cand = {"candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}}
            if await lobby.relay.ice_candidate(sender, (cand,)):
                relayed += await lobby.relay.flush_candidates(sender)
        end = {"candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}}
        await lobby.relay.ice_candidate(sender, (end,))
        relayed += await lobby.relay.flush_candidates(sender)
        sent = [e.data for e in relayed if isinstance(e, Emit) and e.to == receiver]
        lines = [c["candidate"] for d in sent for c in d.get("candidates", [d.get("candidate")])]
        assert lines == ["candidate:3 1 udp 1 10.0.0.3 50003 typ relay", ""]
    effects = await lobby.relay.offer(
        "b", ({"offer": {"type": "offer", "sdp": SDP_WITH_CANDIDATES}},)
    )
    sdp = next(e.data["offer"]["sdp"] for e in effects if isinstance(e, Emit) and e.to == "a")
    assert "typ host" not in sdp and "typ srflx" not in sdp and "typ prflx" not in sdp
    assert "typ relay" in sdp and sdp.startswith("v=0\r\n") and "a=end-of-candidates" in sdp


async def test_ordinary_calls_relay_every_candidate(clock: FakeClock, db: Database) -> None:
    lobby = turn_lobby(clock, db)
    await connect(lobby, "a", "b")
    await pair(lobby, "a", "b")
    effects = await lobby.relay.offer(
        "b", ({"offer": {"type": "offer", "sdp": SDP_WITH_CANDIDATES}},)
    )
    offer = {"offer": {"type": "offer", "sdp": SDP_WITH_CANDIDATES}}
    assert Emit("a", "signal-offer", offer, "b") in (effects)


async def test_turn_credentials_per_user_capped_at_their_token(
    clock: FakeClock, db: Database
) -> None:
    lobby = turn_lobby(clock, db)
    short = clock.wall_ms() / 1000 + 600
    await lobby.connect("a", Identity("u-a", "A", expires_at=short))
    await lobby.connect("b", Identity("u-b", "B", expires_at=None))
    await lobby.search.find_partner("a", ())
    effects = await lobby.search.find_partner("b", ())
    turn = {e.to: e.data["iceServers"][-1] for e in effects if isinstance(e, Emit)}
    assert turn["a"]["username"] == f"{int(short)}:u-a"
    assert turn["b"]["username"] == f"{int(clock.wall_ms() / 1000) + 3600}:u-b"


async def test_privacy_cannot_be_asked_where_the_deployment_forbids_it(
    clock: FakeClock, db: Database
) -> None:
    lobby = turn_lobby(clock, db, privacy_allowed=False)
    await connect(lobby, "a", "b")
    await lobby.search.find_partner("a", ({"privacy": True},))
    effects = written(lobby, await lobby.search.find_partner("b", ()))
    assert {e.data["iceTransportPolicy"] for e in effects if isinstance(e, Emit)} == {"all"}


async def test_a_signal_or_chat_line_naming_another_call_is_not_relayed(lobby: Lobby) -> None:
    """Sent as its call ended (the sender had not read that the server moved it on), a
    signal names that call's id: it must not reach the next partner (issue 23's churn
    finding). One naming the current call, or none (a seed client), is relayed."""
    await connect(lobby, "a", "b")
    await lobby.search.find_partner("a", ())
    effects = written(lobby, await lobby.search.find_partner("b", ()))
    call_id = effects[0].data["callId"]  # type: ignore[union-attr]
    stale = {**OFFER, "callId": "an-earlier-call"}
    assert await lobby.relay.offer("a", (stale,)) == []
    candidate = {"candidate": cand(1)["candidate"], "callId": "an-earlier-call"}
    assert await lobby.relay.ice_candidate("a", (candidate,)) == []
    current = {**OFFER, "callId": call_id}
    assert (await lobby.relay.offer("a", (current,)))[0] == Emit("b", "signal-offer", current, "a")
    assert (await lobby.relay.offer("a", (OFFER,)))[0] == Emit("b", "signal-offer", OFFER, "a")
    with pytest.raises(IllegalMove):
        await lobby.chat.chat_message("a", ({"text": "hi", "id": 1, "callId": "an-earlier-call"},))
    sent = await lobby.chat.chat_message("a", ({"text": "hi", "id": 2, "callId": call_id},))
    assert [e.to for e in sent if isinstance(e, Emit) and e.event == "chat-message"] == ["b"]
    with pytest.raises(InvalidPayload):
        await lobby.relay.offer("a", ({**OFFER, "callId": 5},))
