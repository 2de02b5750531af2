"""Engine timers on a hand-driven clock: heartbeat, ping timeout, upgrade, connect, linger.

The engine arms every timer through its ``call_later``; these tests pass a
``HandClock`` so that each edge case is reached by moving the time on, never by
sleeping, and the boundaries (just before, just after) are exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from randomchat.sio.engine import Phase
from tests.sio.fakeasgi import FakeWebSocket, Recorder, eventually, handshake, http
from tests.sio.handclock import HandClock

pytestmark = pytest.mark.server


def recorder(hand: HandClock, **options: Any) -> Recorder:
    options.setdefault("ping_interval", 25.0)
    options.setdefault("ping_timeout", 20.0)
    return Recorder(clock=hand, call_later=hand.call_later, **options)


async def connected_ws(rec: Recorder) -> tuple[FakeWebSocket, str]:
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send("40/ns,")
    assert (await ws.next_text()).startswith("40/ns,")
    return ws, rec.connected[-1]


async def settle() -> None:
    """Let the tasks woken by a timer run (the writer, a spawned close handler)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_ping_every_interval_and_an_answered_ping_keeps_the_session() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, _ = await connected_ws(rec)
    for _ in range(3):
        # nothing fires for 24.9 s: neither the next ping nor (past 20 s) the
        # timeout of the ping answered in the previous round
        assert hand.advance(24.9) == 0
        assert hand.advance(0.1) == 1
        assert await ws.next_text(skip_pings=False) == "2"
        ws.send("3")
        await settle()
    assert ws.closed is None and not rec.disconnected


async def test_an_unanswered_ping_closes_the_session_at_interval_plus_timeout() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, ssid = await connected_ws(rec)
    hand.advance(25.0)
    assert await ws.next_text(skip_pings=False) == "2"
    hand.advance(19.9)
    await settle()
    assert not rec.disconnected
    hand.advance(0.1)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(ssid, "ping timeout")]
    await eventually(lambda: ws.task.done())
    assert not rec.engine.sessions and hand.pending == 0


async def test_a_websocket_that_stops_reading_is_dropped_at_its_ping_timeout() -> None:
    hand = HandClock()
    rec = recorder(hand, send_buffer_bytes=10**7)
    reader, target = await connected_ws(rec)
    reader.stall()
    assert await rec.server.emit("x", "y", to=target, namespace="/ns")  # the writer blocks
    hand.advance(25.0)  # the ping is queued behind the blocked write, never read
    hand.advance(20.0)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(target, "ping timeout")]
    await eventually(lambda: reader.task.done())
    assert not rec.engine.sessions


async def test_a_polling_client_that_stops_polling_is_closed_at_its_ping_timeout() -> None:
    hand = HandClock()
    rec = recorder(hand)
    sid = await handshake(rec.engine)
    assert await http(rec.engine, "POST", sid, b"40/ns,") == (200, "ok")
    status, body = await http(rec.engine, "GET", sid)
    assert status == 200 and body.startswith("40/ns,")
    hand.advance(25.0)  # the PING waits in the buffer for a GET that never comes
    hand.advance(20.0)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(rec.connected[0], "ping timeout")]
    assert sid not in rec.engine.sessions


async def test_an_upgrade_that_never_sends_5_is_abandoned_at_the_upgrade_timeout() -> None:
    hand = HandClock()
    rec = recorder(hand, upgrade_timeout=10.0)
    sid = await handshake(rec.engine)
    assert await http(rec.engine, "POST", sid, b"40/ns,") == (200, "ok")
    assert (await http(rec.engine, "GET", sid))[0] == 200
    ssid = rec.connected[0]
    ws = FakeWebSocket(rec.engine, sid)
    assert (await ws.next())["type"] == "websocket.accept"
    ws.send("2probe")
    assert await ws.next_text() == "3probe"
    session = rec.engine.sessions[sid]
    assert session.phase is Phase.PROBED
    await rec.server.emit("hello", 1, to=ssid, namespace="/ns")  # polling still carries data
    assert await http(rec.engine, "GET", sid) == (200, '42/ns,["hello",1]')
    hand.advance(9.9)
    await settle()
    assert ws.closed is None
    hand.advance(0.1)
    await eventually(lambda: ws.closed is not None)
    assert session.phase is Phase.OPEN and session.transport == "polling"
    await rec.server.emit("still", 2, to=ssid, namespace="/ns")
    assert await http(rec.engine, "GET", sid) == (200, '42/ns,["still",2]')


async def test_a_session_that_never_connects_a_namespace_is_closed_at_the_connect_timeout() -> None:
    hand = HandClock()
    rec = recorder(hand, connect_timeout=45.0)
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send('40/ns,{"refuse":true}')
    assert await ws.next_text() == '44/ns,{"message":"no"}'
    hand.advance(44.9)
    await settle()
    assert ws.closed is None
    hand.advance(0.1)
    await eventually(lambda: ws.closed is not None)
    assert not rec.engine.sessions


async def test_a_server_close_over_polling_is_kept_for_one_get_then_forgotten() -> None:
    hand = HandClock()
    rec = recorder(hand)
    sid = await handshake(rec.engine)
    assert await http(rec.engine, "POST", sid, b"40/ns,") == (200, "ok")
    assert (await http(rec.engine, "GET", sid))[0] == 200
    await rec.server.disconnect(rec.connected[0], namespace="/ns")
    assert sid in rec.engine.sessions  # the client has not collected its CLOSE yet
    hand.advance(19.9)
    assert sid in rec.engine.sessions
    hand.advance(0.1)
    assert sid not in rec.engine.sessions  # nobody came: forgotten at ping_timeout
    assert (await http(rec.engine, "GET", sid))[0] == 400
