"""The seed protocol end to end: a real server on a real port, python-socketio clients."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from typing import Any

import jwt
import pytest
import socketio

from tests.conftest import SECRET
from tests.server.harness import NS, Live, Peer, live_server, make_token, match, ready

pytestmark = pytest.mark.server

OFFER = {"offer": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}}
ANSWER = {"answer": {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}}


def candidate(n: int) -> dict[str, Any]:
    return {
        "candidate": f"candidate:{n} 1 UDP 2130706431 10.0.0.{n} 5000{n} typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }


@pytest.fixture
async def live() -> Any:
    async with live_server() as server:
        yield server


async def matched_pair(live: Live) -> tuple[Peer, Peer]:
    a = await ready(live.url, "alice")
    b = await ready(live.url, "bob")
    await match(a, b)
    return a, b


# -- connecting --------------------------------------------------------------


def _alg_none_token() -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'x', 'exp': 2**40})}."


REFUSED = {
    "missing": None,
    "malformed": "not-a-jwt",
    "bad_signature": jwt.encode(
        {"sub": "x", "exp": 2**40}, "another-secret-" + "y" * 40, algorithm="HS256"
    ),
    "expired": jwt.encode({"sub": "x", "exp": int(time.time()) - 10}, SECRET, algorithm="HS256"),
    "bad_algorithm": _alg_none_token(),
    "missing_claim": jwt.encode({"sub": "x"}, SECRET, algorithm="HS256"),
    "invalid": jwt.encode({"sub": 5, "exp": 2**40}, SECRET, algorithm="HS256"),
}


@pytest.mark.parametrize("reason", list(REFUSED))
async def test_bad_tokens_are_refused_and_logged_without_the_token(
    live: Live, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = REFUSED[reason]
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            live.url,
            namespaces=[NS],
            transports=["websocket"],
            auth={"token": token} if token else {},
            wait_timeout=5,
        )
    assert len(errors) == 1 and errors[0]["message"].startswith("Authentication failed: ")
    await client.disconnect()
    refusals = [r for r in caplog.records if r.getMessage() == "connection refused"]
    assert [getattr(r, "reason", None) for r in refusals] == [reason]
    if token:
        assert token not in caplog.text
    metrics = live.app.metrics.refused.labels(reason)._value.get()  # type: ignore[attr-defined]
    assert metrics == 1
    await live.assert_empty()


async def test_bearer_header_is_accepted(live: Live) -> None:
    client = socketio.AsyncClient(reconnection=False)
    got: asyncio.Queue[Any] = asyncio.Queue()
    client.on("connection-quality", got.put, namespace=NS)
    await client.connect(
        live.url,
        namespaces=[NS],
        transports=["websocket"],
        headers={"Authorization": "Bearer " + make_token("hdr")},
        wait_timeout=5,
    )
    assert await asyncio.wait_for(got.get(), 5) == {"quality": "excellent"}
    await client.disconnect()


async def test_long_polling_transport_works() -> None:
    # A short ping interval: a long-polling client's close waits for its open poll to return.
    async with live_server(ping_interval=0.5, ping_timeout=5) as live:
        await _polling_call(live)


async def _polling_call(live: Live) -> None:
    a = await Peer("poller").connect(live.url, transports=["polling"])
    await a.expect("connection-quality")
    b = await ready(live.url, "socket")
    _, found = await match(a, b)
    assert found["partnerName"] == "socket"
    await b.emit("signal-offer", OFFER)
    assert await a.expect("signal-offer") == OFFER
    await a.close()
    await b.close()
    await live.assert_empty()


# -- pairing and relaying ------------------------------------------------------


async def test_pairing_roles_and_full_negotiation(live: Live) -> None:
    a = await Peer("alice").connect(live.url)
    b = await Peer("bob").connect(live.url)
    assert await a.expect("connection-quality") == {"quality": "excellent"}
    await b.expect("connection-quality")
    await a.emit_raw("find-partner")
    waiting = await a.expect("waiting-for-partner")
    assert waiting["queuePosition"] == 1 and isinstance(waiting["timestamp"], int)
    await b.emit_raw("find-partner")
    mb = await b.expect("match-found")
    ma = await a.expect("match-found")
    assert (mb["role"], mb["partnerName"]) == ("initiator", "alice")
    assert (ma["role"], ma["partnerName"]) == ("receiver", "bob")
    assert mb["iceServers"] == [] and isinstance(mb["timestamp"], int)

    await b.emit("signal-offer", OFFER)
    assert await a.expect("signal-offer") == OFFER
    assert await b.expect("signal-offer-ack") is None
    await a.emit("signal-answer", ANSWER)
    assert await b.expect("signal-answer") == ANSWER
    await a.expect("signal-answer-ack")

    for n in range(8):
        await b.emit("signal-ice-candidate", {"candidate": candidate(n)})
    received: list[Any] = []
    while len(received) < 8:
        event, data = await asyncio.wait_for(a.events.get(), 5)
        if event == "signal-ice-candidate":
            received.append(data["candidate"])
        else:
            assert event == "signal-ice-candidates-batch", event
            received.extend(data["candidates"])
    assert received == [candidate(n) for n in range(8)]
    await a.quiet()
    await b.quiet()
    await a.close()
    assert await b.expect("partner-disconnected") == {}
    await b.close()
    await live.assert_empty()


async def test_signal_without_partner_goes_nowhere(live: Live) -> None:
    a = await Peer("alone").connect(live.url)
    b = await Peer("other").connect(live.url)
    await a.expect("connection-quality")
    await b.expect("connection-quality")
    await a.emit("signal-offer", OFFER)
    await a.emit("signal-ice-candidate", {"candidate": candidate(1)})
    await a.emit("heartbeat", {"sentAt": 1})
    assert (await a.expect("heartbeat-ack"))["sentAt"] == 1
    await b.quiet()
    await a.close()
    await b.close()


async def test_two_tabs_of_one_user_are_not_paired(live: Live) -> None:
    tab1 = await Peer("alice", sub="same").connect(live.url)
    tab2 = await Peer("alice2", sub="same").connect(live.url)
    for tab in (tab1, tab2):
        await tab.expect("connection-quality")
        await tab.emit_raw("find-partner")
    await tab1.expect("waiting-for-partner")
    assert (await tab2.expect("waiting-for-partner"))["queuePosition"] == 2
    c = await Peer("carol").connect(live.url)
    await c.expect("connection-quality")
    await c.emit_raw("find-partner")
    assert (await c.expect("match-found"))["partnerName"] == "alice"
    for p in (tab1, tab2, c):
        await p.close()
    await live.assert_empty()


async def test_already_in_queue_and_in_match(live: Live) -> None:
    a, b = await matched_pair(live)
    await a.emit_raw("find-partner")
    assert await a.expect("error") == {
        "message": "Already in a match",  # the seed's wording
        "event": "find-partner",
        "code": "refused",
    }
    c = await Peer("carol").connect(live.url)
    await c.expect("connection-quality")
    await c.emit_raw("find-partner")
    await c.expect("waiting-for-partner")
    await c.emit_raw("find-partner")
    assert await c.expect("error") == {
        "message": "Already in queue",
        "event": "find-partner",
        "code": "refused",
    }
    for p in (a, b, c):
        await p.close()


async def test_find_partner_is_rate_limited_per_user() -> None:
    async with live_server(find_rate_limit_ms=1000) as live:
        a = await Peer("fast").connect(live.url)
        await a.expect("connection-quality")
        await a.emit_raw("find-partner")
        await a.expect("waiting-for-partner")
        await a.emit_raw("leave")
        await a.emit_raw("find-partner")
        limited = await a.expect("rate-limited")
        assert limited["message"] == "Please wait before searching again"
        assert 0 < limited["retryAfter"] <= 1000
        await a.close()


async def test_next_and_leave(live: Live) -> None:
    a, b = await matched_pair(live)
    c = await Peer("carol").connect(live.url)
    await c.expect("connection-quality")
    await c.emit_raw("find-partner")
    await c.expect("waiting-for-partner")
    await b.emit_raw("next")
    assert await a.expect("partner-left") == {"reason": "next"}
    assert (await b.expect("match-found"))["partnerName"] == "carol"
    assert (await c.expect("match-found"))["partnerName"] == "bob"
    await c.emit_raw("leave")
    assert await b.expect("partner-left") == {"reason": "leave"}
    await a.emit_raw("find-partner")
    await a.expect("waiting-for-partner")
    await a.emit_raw("leave")  # stop waiting
    await b.emit_raw("find-partner")
    await b.expect("waiting-for-partner")  # alice is no longer in the queue
    counts = await live.app.store.counts()
    assert (counts.waiting, counts.pairs) == (1, 0)
    for p in (a, b, c):
        await p.close()
    await live.assert_empty()


async def test_an_operator_gets_one_info_line_per_finished_call(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    a, b = await matched_pair(live)
    c = await Peer("carol").connect(live.url)
    await c.expect("connection-quality")
    await c.emit_raw("find-partner")
    await c.expect("waiting-for-partner")
    await b.emit_raw("next")  # ends the call with alice, and meets carol
    await a.expect("partner-left")
    await c.expect("match-found")
    await b.close()
    await c.expect("partner-disconnected")
    lines = [r for r in caplog.records if r.name.startswith("randomchat")]
    ended = [(getattr(r, "reason", None), getattr(r, "user", None)) for r in lines]
    assert ended == [("next", "u-bob"), ("disconnect", "u-bob")]
    assert all(r.getMessage() == "call ended" for r in lines)
    assert all(isinstance(getattr(r, "seconds", None), float) for r in lines)
    for p in (a, c):
        await p.close()
    await live.assert_empty()


async def test_heartbeat_ack(live: Live) -> None:
    a = await Peer("hb").connect(live.url)
    await a.expect("connection-quality")
    before = int(time.time() * 1000)
    await a.emit("heartbeat", {"sentAt": 1234.5})
    ack = await a.expect("heartbeat-ack")
    assert ack["sentAt"] == 1234.5 and ack["serverTime"] >= before
    await a.close()


# -- bad input ---------------------------------------------------------------

MALFORMED: list[tuple[str, tuple[Any, ...], str]] = [
    ("signal-offer", (), "signal-offer: expected one JSON object, got nothing"),
    ("signal-offer", (None,), "got NoneType"),
    ("signal-offer", ("sdp",), "got str"),
    ("signal-offer", ({"offer": 1},), "'offer' must be an object"),
    ("signal-answer", ({"answer": {"type": "answer"}},), "'answer.sdp'"),
    ("signal-ice-candidate", ({"candidate": "x"},), "'candidate' must be"),
    ("signal-ice-candidate", ([1, 2],), "got list"),
    ("heartbeat", ({},), "'sentAt' must be a number"),
    ("heartbeat", ({"sentAt": 2**70},), "'sentAt' must be a number"),
    ("find-partner", (7,), "find-partner: expected one JSON object, got int"),
    ("next", ("x",), "next: expected one JSON object"),
    ("leave", (1, 2), "got several"),
    ("call-stats", ({"timeToMediaMs": "fast"},), "timeToMediaMs"),
    ("no-such-event", ({},), "Unknown event 'no-such-event'"),
]


@pytest.mark.parametrize(("event", "args", "message"), MALFORMED)
async def test_malformed_payloads_get_an_error_and_change_nothing(
    live: Live, event: str, args: tuple[Any, ...], message: str
) -> None:
    a, b = await matched_pair(live)
    await a.emit_raw(event, *args)
    error = await a.expect("error")
    assert message in error["message"]
    code = "unknown_event" if event == "no-such-event" else "invalid_payload"
    assert (error["event"], error["code"]) == (event, code)
    await b.quiet(0.1)
    # The call is intact: signaling still flows both ways.
    await a.emit("signal-offer", OFFER)
    assert await b.expect("signal-offer") == OFFER
    await a.expect("signal-offer-ack")
    await a.close()
    await b.close()


async def test_oversized_message_closes_only_that_socket() -> None:
    async with live_server(max_message_bytes=10_000) as live:
        a, b = await matched_pair(live)
        big = {"offer": {"type": "offer", "sdp": "x" * 20_000}}
        await a.emit("signal-offer", big)
        await asyncio.wait_for(a.disconnected.wait(), 5)
        assert await b.expect("partner-disconnected") == {}
        c = await Peer("carol").connect(live.url)
        await c.expect("connection-quality")
        await b.emit_raw("find-partner")
        await b.expect("waiting-for-partner")
        await c.emit_raw("find-partner")
        await c.expect("match-found")
        await b.close()
        await c.close()
        await live.assert_empty()


# -- cleanup on every path out -------------------------------------------------


@pytest.mark.parametrize("state", ["idle", "waiting", "matched", "negotiating"])
async def test_disconnect_in_every_state_leaves_nothing(live: Live, state: str) -> None:
    if state in ("idle", "waiting"):
        a = await Peer("a").connect(live.url)
        await a.expect("connection-quality")
        if state == "waiting":
            await a.emit_raw("find-partner")
            await a.expect("waiting-for-partner")
        await a.close()
    else:
        a, b = await matched_pair(live)
        if state == "negotiating":
            await b.emit("signal-offer", OFFER)
            for n in range(3):
                await b.emit("signal-ice-candidate", {"candidate": candidate(n)})
        await b.close()
        while True:
            event, _ = await asyncio.wait_for(a.events.get(), 5)
            if event == "partner-disconnected":
                break
            assert event.startswith("signal-")
        await a.close()
    await live.assert_empty()


async def test_churn_leaves_the_store_empty(live: Live) -> None:
    rng = random.Random(7)
    peers: list[Peer] = []
    for round_ in range(6):
        fresh = [Peer(f"p{round_}-{i}") for i in range(8)]
        await asyncio.gather(*(p.connect(live.url) for p in fresh))
        peers.extend(fresh)
        for p in rng.sample(peers, len(peers) // 2):
            await p.emit_raw(rng.choice(["find-partner", "next", "leave"]))
            if rng.random() < 0.5:
                await p.emit("signal-ice-candidate", {"candidate": candidate(1)})
        await asyncio.sleep(0.05)
        leaving = rng.sample(peers, len(peers) // 3)
        await asyncio.gather(*(p.close() for p in leaving))
        peers = [p for p in peers if p not in leaving]
    await asyncio.gather(*(p.close() for p in peers))
    await live.assert_empty()
    assert live.app.lobby.local_sizes()["rate_limit_buckets"] == 0


async def test_numbers_beyond_64_bits_are_relayed_as_sent(live: Live) -> None:
    a, b = await matched_pair(live)
    offer = {"offer": {"type": "offer", "sdp": "v=0"}, "seq": 2**70}
    await a.emit("signal-offer", offer)
    assert await b.expect("signal-offer") == offer
    await a.close()
    await b.close()
