"""Connection-state recovery: the outbox, the holds, and the server on a fake transport.

The server is driven through fake ASGI WebSockets and a hand-driven clock: the
window passes because the test moves the time on, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from randomchat.sio.recovery import Holds, Outbox
from tests.sio.fakeasgi import FakeWebSocket, Recorder, eventually
from tests.sio.handclock import HandClock

pytestmark = pytest.mark.server

WINDOW = 30.0

# -- the outbox ---------------------------------------------------------------------


def test_offsets_count_up_and_since_returns_what_followed() -> None:
    box = Outbox(max_packets=10, max_bytes=1000)
    for n in range(3):
        assert box.next_offset() == str(n + 1)
        assert box.add([f"p{n + 1}"])
    assert box.since("1") == ["p2", "p3"]
    assert box.since("3") == []
    assert box.since(None) == ["p1", "p2", "p3"]  # the client handled nothing yet


@pytest.mark.parametrize("offset", ["4", "0x1", "-1", "", "1" * 16, 2, ["1"], {"a": 1}])
def test_offsets_we_never_issued_cannot_be_recovered(offset: Any) -> None:
    box = Outbox(max_packets=10, max_bytes=1000)
    for n in range(3):
        box.add([f"p{n}"])
    assert box.since(offset) is None


def test_full_by_count_drops_the_oldest_and_older_offsets_cannot_be_recovered() -> None:
    box = Outbox(max_packets=2, max_bytes=1000)
    assert box.add(["a"]) and box.add(["b"])
    assert not box.add(["c"])  # "a" (offset 1) dropped
    assert len(box) == 2 and box.dropped_through == 1
    assert box.since("1") == ["b", "c"]  # the client had "a": nothing it needs is gone
    assert box.since(None) is None  # it needs "a", which is gone
    assert box.since("0") is None


def test_full_by_bytes_drops_the_oldest() -> None:
    box = Outbox(max_packets=100, max_bytes=10)
    box.add(["12345"])
    box.add(["12345"])
    assert box.bytes == 10
    assert not box.add(["x"])
    assert box.bytes == 6 and box.since("1") == ["12345", "x"]


def test_holds_expire_in_deadline_order_and_a_taken_hold_never_expires() -> None:
    holds: Holds[str] = Holds(window=WINDOW)
    holds.hold("a", "A", now=0.0)
    holds.hold("b", "B", now=5.0)
    holds.hold("c", "C", now=10.0)
    assert holds.take("b") == "B" and holds.take("b") is None
    assert holds.expired(29.9) == []
    assert holds.expired(40.0) == ["A", "C"]
    assert len(holds) == 0


# -- the server ------------------------------------------------------------------------


def recorder(hand: HandClock, **options: Any) -> Recorder:
    return Recorder(clock=hand, call_later=hand.call_later, recovery_window=WINDOW, **options)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def event_of(text: str) -> list[Any]:
    assert text.startswith("42/ns,"), text
    return list(json.loads(text[len("42/ns,") :]))


async def connect(rec: Recorder, auth: dict[str, Any]) -> tuple[FakeWebSocket, dict[str, Any]]:
    """A WebSocket that sent CONNECT with ``auth``; the CONNECT reply's data."""
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send("40/ns," + json.dumps(auth))
    reply = await ws.next_text()
    assert reply.startswith("40/ns,"), reply
    return ws, dict(json.loads(reply[len("40/ns,") :]))


async def test_without_asking_a_client_gets_no_pid_no_offsets_and_no_hold() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {})
    assert "pid" not in reply
    await rec.server.emit("hello", {"a": 1}, to=reply["sid"], namespace="/ns")
    assert event_of(await ws.next_text()) == ["hello", {"a": 1}]
    ws.hang_up()
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(reply["sid"], "transport close")]


async def test_a_dropped_socket_is_resumed_with_its_sid_and_the_events_it_missed() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {"recover": True})
    sid, pid = reply["sid"], reply["pid"]
    assert len(pid) >= 20
    await rec.server.emit("a", {"n": 1}, to=sid, namespace="/ns")
    await rec.server.emit("b", None, to=sid, namespace="/ns")  # no payload: the offset only
    assert event_of(await ws.next_text()) == ["a", {"n": 1}, "1"]
    assert event_of(await ws.next_text()) == ["b", "2"]
    ws.stall()  # "c" is written into a transport that is dying: never read
    await rec.server.emit("c", {"n": 3}, to=sid, namespace="/ns")
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    await settle()
    assert rec.disconnected == []  # held, not left
    assert await rec.server.emit("d", {"n": 4}, to=sid, namespace="/ns")  # kept for it

    again, reply2 = await connect(rec, {"recover": True, "pid": pid, "offset": "2"})
    assert reply2 == {"sid": sid, "pid": pid}
    assert event_of(await again.next_text()) == ["c", {"n": 3}, "3"]
    assert event_of(await again.next_text()) == ["d", {"n": 4}, "4"]
    assert rec.connected == [sid]  # the connect handler ran once
    again.send('42/ns,["ping",1]')  # events flow on the new transport
    await eventually(lambda: bool(rec.events))
    assert rec.events == [("ping", sid, 1)]
    hand.advance(WINDOW + 1)  # the hold's timer finds nothing to end
    await settle()
    assert rec.disconnected == []


async def test_the_disconnect_handler_runs_when_the_window_passes() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {"recover": True})
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    hand.advance(WINDOW - 0.1)
    await settle()
    assert rec.disconnected == []
    hand.advance(0.1)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(reply["sid"], "transport close")]
    assert not await rec.server.emit("late", None, to=reply["sid"], namespace="/ns")
    # too late to resume: a new socket, after the old one's disconnect
    _, reply2 = await connect(rec, {"recover": True, "pid": reply["pid"], "offset": "0"})
    assert reply2["sid"] != reply["sid"] and reply2["pid"] != reply["pid"]


async def test_an_offset_that_cannot_be_answered_ends_the_old_socket_before_the_new_connect() -> (
    None
):
    hand = HandClock()
    rec = recorder(hand)
    order: list[str] = []
    connect_handler = rec.server.connect_handlers["/ns"]
    disconnect_handler = rec.server.disconnect_handlers["/ns"]

    async def on_connect(sid: str, environ: Any, auth: Any) -> None:
        order.append(f"connect {sid}")
        await connect_handler(sid, environ, auth)

    async def on_disconnect(sid: str, reason: str) -> None:
        order.append(f"disconnect {sid}")
        await disconnect_handler(sid, reason)

    rec.server.on("connect", on_connect, namespace="/ns")
    rec.server.on("disconnect", on_disconnect, namespace="/ns")
    ws, reply = await connect(rec, {"recover": True})
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    _, reply2 = await connect(rec, {"recover": True, "pid": reply["pid"], "offset": "99"})
    assert reply2["sid"] != reply["sid"]
    assert order == [
        f"connect {reply['sid']}",
        f"disconnect {reply['sid']}",
        f"connect {reply2['sid']}",
    ]


async def test_a_hold_whose_outbox_overflows_is_given_up_at_once() -> None:
    hand = HandClock()
    rec = recorder(hand, recovery_packets=3)
    ws, reply = await connect(rec, {"recover": True})
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    for n in range(3):
        await rec.server.emit("x", n, to=reply["sid"], namespace="/ns")
    await settle()
    assert rec.disconnected == []
    await rec.server.emit("x", 3, to=reply["sid"], namespace="/ns")  # the 4th drops the 1st
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(reply["sid"], "transport close")]


@pytest.mark.parametrize("leave", ["41/ns,", "1"])
async def test_a_clean_goodbye_is_not_held(leave: str) -> None:
    """A namespace DISCONNECT ends the socket; so does an Engine.IO close, the sid is gone."""
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {"recover": True})
    ws.send(leave)
    if leave == "41/ns,":
        await eventually(lambda: bool(rec.disconnected))
        assert rec.disconnected == [(reply["sid"], "client disconnect")]
    else:
        # An Engine.IO close packet is what a dying page may also send: still recoverable.
        await eventually(lambda: ws.task.done())
        await settle()
        assert rec.disconnected == []


async def test_a_server_disconnect_of_a_held_socket_ends_it() -> None:
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {"recover": True})
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    await rec.server.disconnect(reply["sid"], namespace="/ns")
    assert rec.disconnected == [(reply["sid"], "server disconnect")]
    assert not rec.server.holds and not rec.server.by_pid and not rec.server.sockets


async def test_a_client_back_before_the_server_noticed_takes_its_socket_over() -> None:
    hand = HandClock()
    rec = recorder(hand)
    old, reply = await connect(rec, {"recover": True})
    old.stall()  # its transport is dead, but nothing told the server yet
    await rec.server.emit("lost", {}, to=reply["sid"], namespace="/ns")
    new, reply2 = await connect(rec, {"recover": True, "pid": reply["pid"], "offset": None})
    assert reply2["sid"] == reply["sid"]
    assert event_of(await new.next_text()) == ["lost", {}, "1"]
    assert rec.disconnected == []
    old.reading.set()
    await eventually(lambda: old.task.done())  # the old session is closed ("replaced")
    await settle()
    assert rec.disconnected == [] and len(rec.engine.sessions) == 1


async def test_a_pid_for_another_namespace_or_a_stranger_gets_a_new_socket() -> None:
    hand = HandClock()
    rec = recorder(hand)
    _, reply = await connect(rec, {"recover": True, "pid": "not-a-pid", "offset": "1"})
    assert reply["sid"] and reply["pid"] != "not-a-pid"
    assert rec.connected == [reply["sid"]]


async def test_drop_closes_the_transport_without_a_goodbye_and_holds_a_recoverable_socket() -> None:
    """What a draining server does: the client reconnects by itself and resumes."""
    hand = HandClock()
    rec = recorder(hand)
    ws, reply = await connect(rec, {"recover": True})
    plain, plain_reply = await connect(rec, {})
    await rec.server.drop(reply["sid"], namespace="/ns")
    await rec.server.drop(plain_reply["sid"], namespace="/ns")
    await eventually(lambda: ws.closed is not None and plain.closed is not None)
    assert rec.disconnected == [(plain_reply["sid"], "transport close")]  # no DISCONNECT packet
    assert reply["pid"] in rec.server.holds
    _, again = await connect(rec, {"recover": True, "pid": reply["pid"], "offset": None})
    assert again["sid"] == reply["sid"]


# -- who may take a held socket over -------------------------------------------------------


def owners(rec: Recorder) -> dict[str, str]:
    """An owner check as the gateway's: ``auth.user`` must be the one the socket had."""
    owner_of: dict[str, str] = {}
    connect_handler = rec.server.connect_handlers["/ns"]

    async def on_connect(sid: str, environ: Any, auth: Any) -> None:
        await connect_handler(sid, environ, auth)
        owner_of[sid] = auth.get("user", "")

    rec.server.on("connect", on_connect, namespace="/ns")
    rec.server.may_resume = lambda sid, environ, auth: owner_of.get(sid) == auth.get("user")
    return owner_of


async def test_another_users_pid_gets_a_new_socket_and_the_hold_stays_for_its_user() -> None:
    hand = HandClock()
    rec = recorder(hand)
    owners(rec)
    ws, reply = await connect(rec, {"recover": True, "user": "alice"})
    sid, pid = reply["sid"], reply["pid"]
    ws.hang_up()
    await eventually(lambda: ws.task.done())
    await rec.server.emit("for-alice", {"n": 1}, to=sid, namespace="/ns")
    # Someone else with Alice's pid (and an offset the outbox can answer): a new socket.
    _, stranger = await connect(rec, {"recover": True, "user": "mallory", "pid": pid})
    assert stranger["sid"] != sid and stranger["pid"] != pid
    assert rec.connected == [sid, stranger["sid"]] and rec.disconnected == []
    assert pid in rec.server.holds  # still held for Alice, her events still kept
    # ... and an offset that cannot be answered does not end Alice's hold either.
    await connect(rec, {"recover": True, "user": "mallory", "pid": pid, "offset": "99"})
    assert rec.disconnected == [] and pid in rec.server.holds
    back, again = await connect(rec, {"recover": True, "user": "alice", "pid": pid})
    assert again == {"sid": sid, "pid": pid}
    assert event_of(await back.next_text()) == ["for-alice", {"n": 1}, "1"]


async def test_another_users_pid_does_not_replace_a_live_connection() -> None:
    hand = HandClock()
    rec = recorder(hand)
    owners(rec)
    alice, reply = await connect(rec, {"recover": True, "user": "alice"})
    _, stranger = await connect(rec, {"recover": True, "user": "mallory", "pid": reply["pid"]})
    assert stranger["sid"] != reply["sid"]
    await rec.server.emit("still-yours", None, to=reply["sid"], namespace="/ns")
    assert event_of(await alice.next_text()) == ["still-yours", "1"]
    assert not alice.task.done() and rec.disconnected == []
