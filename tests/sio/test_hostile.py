"""Hostile clients against the engine and server, driven through fake ASGI (no sockets).

Each test is a regression test for an item of issue 8; waits are bounded by
``eventually`` (a generous limit, never a measurement). The timer edge cases
(ping timeout of a non-reader, an abandoned upgrade, the connect timeout) run on
a hand-driven clock in ``test_engine_clock.py``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from randomchat.sio.budget import Budget
from tests.sio.fakeasgi import FakeWebSocket, Recorder, eventually, handshake, http

pytestmark = pytest.mark.server


async def connected_ws(rec: Recorder) -> tuple[FakeWebSocket, str]:
    """A WebSocket client connected to /ns; its socket id."""
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send("40/ns,")
    reply = await ws.next_text()
    assert reply.startswith("40/ns,"), reply
    return ws, rec.connected[-1]


async def connected_polling(rec: Recorder) -> tuple[str, str]:
    """A long-polling client connected to /ns: its session id and socket id."""
    sid = await handshake(rec.engine)
    assert await http(rec.engine, "POST", sid, b"40/ns,") == (200, "ok")
    status, body = await http(rec.engine, "GET", sid)
    assert status == 200 and body.startswith("40/ns,"), body
    return sid, rec.connected[-1]


# -- item 1: reserved names never reach lifecycle handlers ------------------------------


async def test_client_event_named_star_goes_to_the_catch_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder()
    ws, sid = await connected_ws(rec)
    ws.send('42/ns,["*",1]')
    await eventually(lambda: bool(rec.events))
    assert rec.events == [("*", sid, 1)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "packet", ['42/ns,["connect",{},{"token":"other"}]', '42/ns,["disconnect"]']
)
async def test_reserved_event_closes_its_sender_and_reaches_no_lifecycle_handler(
    packet: str,
) -> None:
    rec = Recorder()
    ws, sid = await connected_ws(rec)
    ws.send(packet)
    await eventually(lambda: ws.closed is not None)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.connected == [sid]  # the connect handler ran once, for the real CONNECT
    assert rec.disconnected == [(sid, "parse error")]
    assert not rec.server.sockets and not rec.engine.sessions


# -- item 2: binary attachments --------------------------------------------------------


@pytest.mark.parametrize(
    "messages",
    [['451-["x",{"_placeholder":true,"num":0}]'], [b"\x00" * 100], ['45²-["x"]']],
    ids=["announced", "raw", "superscript"],
)
async def test_binary_before_connect_closes_the_session(messages: list[str | bytes]) -> None:
    rec = Recorder()
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    for message in messages:
        ws.send(message)
    await eventually(lambda: ws.closed is not None)
    await eventually(lambda: not rec.engine.sessions)


async def test_too_many_or_too_large_attachments_close_the_session() -> None:
    rec = Recorder(max_http_buffer_size=1000)
    ws, sid = await connected_ws(rec)
    ws.send('451-/ns,["x",{"_placeholder":true,"num":0}]')
    ws.send(b"x" * 600)  # within the message limit, but the total...
    await eventually(lambda: bool(rec.events))  # one attachment: complete, handled
    ws.send('452-/ns,["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    ws.send(b"x" * 600)
    ws.send(b"x" * 600)  # ... of this packet's attachments is 1,200 > 1,000
    await eventually(lambda: ws.closed is not None)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(sid, "parse error")]

    ws, sid = await connected_ws(rec)
    ws.send("4511-/ns,[" + '"x"]')
    await eventually(lambda: ws.closed is not None)


# -- item 6: the connect handler's registration is atomic with the session's life ---------


async def test_sessions_closing_during_connect_never_leak_a_connected_socket() -> None:
    rec = Recorder()
    rec.connect_delay = 0.01  # the handler awaits, as the gateway's does

    async def overlapping_get() -> None:
        sid = await handshake(rec.engine)
        post = asyncio.ensure_future(http(rec.engine, "POST", sid, b"40/ns,"))
        await asyncio.sleep(0)  # the POST is now awaiting the connect handler
        first = asyncio.ensure_future(http(rec.engine, "GET", sid))
        await asyncio.sleep(0)
        assert (await http(rec.engine, "GET", sid))[0] == 400  # overlapping: session closed
        await asyncio.gather(post, first)

    async def concurrent_post() -> None:
        sid = await handshake(rec.engine)
        post = asyncio.ensure_future(http(rec.engine, "POST", sid, b"40/ns,"))
        await asyncio.sleep(0)
        assert (await http(rec.engine, "POST", sid, b"1"))[0] == 400  # closes the session
        await post

    await asyncio.gather(*(overlapping_get() for _ in range(200)))
    await asyncio.gather(*(concurrent_post() for _ in range(50)))
    assert len(rec.connected) == 250
    await eventually(lambda: len(rec.disconnected) >= len(rec.connected))
    assert sorted(sid for sid, _ in rec.disconnected) == sorted(rec.connected)  # once each
    assert not rec.server.sockets


async def test_a_websocket_timing_out_during_connect_gets_its_disconnect() -> None:
    rec = Recorder(ping_interval=0.05, ping_timeout=0.05)
    rec.connect_delay = 0.3  # longer than interval + timeout: the session dies meanwhile
    clients = [FakeWebSocket(rec.engine) for _ in range(100)]
    for ws in clients:
        await ws.open()
        ws.send("40/ns,")
    await eventually(lambda: len(rec.connected) == 100)
    await eventually(lambda: len(rec.disconnected) == 100)
    assert sorted(sid for sid, _ in rec.disconnected) == sorted(rec.connected)
    assert {reason for _, reason in rec.disconnected} == {"ping timeout"}
    assert not rec.server.sockets and not rec.engine.sessions


# -- item 7: bounded long-polling output ------------------------------------------------


async def test_polling_client_that_never_gets_is_closed_at_its_buffer_bound() -> None:
    rec = Recorder(max_http_buffer_size=1000, send_buffer_bytes=5000)
    sid, ssid = await connected_polling(rec)
    session = rec.engine.sessions[sid]
    for _ in range(100):  # 90 KB for a client allowed 5 KB of backlog; emit never fails
        assert await rec.server.emit("big", "x" * 900, to=ssid, namespace="/ns") in (True, False)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(ssid, "send buffer full")]
    assert session.closed and session.buffered <= len("1")  # dropped at once (or a CLOSE)


# -- item 10: no task waits on another client's socket ------------------------------------


async def test_a_websocket_that_stops_reading_never_stalls_the_sender() -> None:
    rec = Recorder(max_http_buffer_size=1000, send_buffer_bytes=20_000)

    async def flood(sid: str, target: str) -> str:
        for _ in range(200):  # 100 KB for a client allowed 20 KB of backlog
            await rec.server.emit("x", "y" * 500, to=target, namespace="/ns")
        return "done"

    rec.server.on("flood", flood, namespace="/ns")
    sender, _ = await connected_ws(rec)
    reader, target = await connected_ws(rec)
    reader.stall()
    sender.send(f'42/ns,1["flood","{target}"]')
    assert await sender.next_text() == '43/ns,1["done"]'
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(target, "send buffer full")]
    await eventually(lambda: reader.task.done())  # its ASGI call returned
    sender.send('42/ns,2["flood","nobody"]')
    assert await sender.next_text() == '43/ns,2["done"]'


# -- item 11: malformed input is a clean protocol close ------------------------------------


async def test_deep_json_over_polling_is_a_400_and_a_closed_session() -> None:
    rec = Recorder()
    sid, ssid = await connected_polling(rec)
    deep = b'42/ns,["e",' + b"[" * 100_000 + b"]" * 100_000 + b"]"
    assert (await http(rec.engine, "POST", sid, deep))[0] == 400
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(ssid, "parse error")]


@pytest.mark.parametrize("body", [b"4\xff\xfe", b'42/ns,["e",NaN]', b"45\xc2\xb2-"])
async def test_bad_bytes_over_polling_are_a_400_and_a_closed_session(body: bytes) -> None:
    rec = Recorder()
    sid, ssid = await connected_polling(rec)
    assert (await http(rec.engine, "POST", sid, body))[0] == 400
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(ssid, "parse error")]


# -- item 12: upgrades as Node does them ---------------------------------------------------


async def test_a_second_websocket_cannot_take_over_an_upgrade() -> None:
    rec = Recorder()
    sid, ssid = await connected_polling(rec)
    first = FakeWebSocket(rec.engine, sid)
    assert (await first.next())["type"] == "websocket.accept"
    await eventually(lambda: rec.engine.sessions[sid].upgrading)
    second = FakeWebSocket(rec.engine, sid)
    await eventually(lambda: second.closed is not None)
    assert second.closed == {"type": "websocket.close", "code": 1008}
    first.send("2probe")
    assert await first.next_text() == "3probe"
    first.send("5")
    await eventually(lambda: rec.engine.sessions[sid].transport == "websocket")
    await rec.server.emit("via", "ws", to=ssid, namespace="/ns")
    assert await first.next_text() == '42/ns,["via","ws"]'
    third = FakeWebSocket(rec.engine, sid)
    await eventually(lambda: third.closed is not None)


async def test_a_get_dropped_while_it_waits_closes_the_session() -> None:
    rec = Recorder()
    sid, ssid = await connected_polling(rec)
    dropped = asyncio.Event()
    get = asyncio.ensure_future(http(rec.engine, "GET", sid, dropped=dropped))
    await asyncio.sleep(0)
    dropped.set()
    await get
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(ssid, "transport error")]
    assert not await rec.server.emit("lost", 1, to=ssid, namespace="/ns")  # not silently


# -- item 9: the per-connection packet budget ---------------------------------------------


async def test_a_session_that_spends_its_packet_budget_is_closed() -> None:
    rec = Recorder(events_per_second=2, event_burst=5)
    now = [100.0]
    rec.engine.clock = lambda: now[0]
    ws, sid = await connected_ws(rec)  # 1 token
    for _ in range(4):
        ws.send('42/ns,["e"]')
    await eventually(lambda: len(rec.events) == 4)
    now[0] += 1.0  # two more tokens
    ws.send('42/ns,["e"]')
    ws.send('42/ns,["e"]')
    await eventually(lambda: len(rec.events) == 6)
    assert ws.closed is None
    ws.send('42/ns,["e"]')
    await eventually(lambda: ws.closed is not None)
    assert len(rec.events) == 6
    assert rec.disconnected == [(sid, "rate limit")]


def test_budget_refills_at_its_rate_up_to_its_burst() -> None:
    budget = Budget(rate=10.0, burst=3, now=0.0)
    assert [budget.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert budget.take(0.1) and not budget.take(0.1)
    assert [budget.take(100.0) for _ in range(4)] == [True, True, True, False]


async def test_events_per_second_zero_means_no_budget() -> None:
    rec = Recorder(events_per_second=0)
    ws, _ = await connected_ws(rec)
    for _ in range(500):
        ws.send('42/ns,["e"]')
    await eventually(lambda: len(rec.events) == 500)
    assert ws.closed is None


async def test_a_burst_from_one_client_does_not_overflow_a_reading_partner() -> None:
    # Frames already queued are received without suspending; the reader must still
    # let the partner's writer drain, or a fast reader is closed for another's burst.
    rec = Recorder(max_http_buffer_size=1000, send_buffer_bytes=2000)

    async def relay(sid: str, target: str, text: str) -> None:
        await rec.server.emit("relayed", text, to=target, namespace="/ns")

    rec.server.on("relay", relay, namespace="/ns")
    sender, _ = await connected_ws(rec)
    partner, target = await connected_ws(rec)
    for _ in range(100):  # 50 KB relayed to a client allowed 2 KB of backlog
        sender.send(f'42/ns,["relay","{target}","{"x" * 500}"]')
    for _ in range(100):
        assert (await partner.next_text()).startswith('42/ns,["relayed"')
    assert rec.disconnected == []
