"""The lean websocket protocol: bounded inbox with pause and resume, handshake dropped."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import re
from typing import Any

import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.uri import parse_uri

from randomchat.wsprotocol import (
    INBOX_PAUSE,
    Inbox,
    LeanWebSocketProtocol,
    Writable,
    handshake_parser_between_frames,
)
from tests.conftest import free_port
from tests.server.harness import running

pytestmark = pytest.mark.server

BURST = 5 * INBOX_PAUSE
PIECE = 16 * 1024  # BURST pieces: 640 KB, more than one read of the socket takes


class SlowEcho:
    """Echoes each text message, but only once ``go`` is set: the inbox fills meanwhile."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await self.go.wait()
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await send({"type": "websocket.send", "text": message["text"]})


async def test_a_burst_waits_in_a_bounded_inbox_and_arrives_whole_and_in_order() -> None:
    app = SlowEcho()
    port = free_port()
    async with (
        running(app, port, lifespan="off") as server,
        connect(f"ws://127.0.0.1:{port}/", compression=None) as ws,
    ):
        for i in range(BURST):
            await ws.send(f"m{i:03d}".ljust(PIECE, "."))
        (protocol,) = server.server_state.connections
        assert isinstance(protocol, LeanWebSocketProtocol)
        assert not hasattr(protocol, "request") and not hasattr(protocol, "response")
        # nothing else holds the request the server parsed either (the client keeps its own)
        gc.collect()  # what earlier tests left in reference cycles is not counted
        assert [o for o in gc.get_objects() if isinstance(o, Request) and o is not ws.request] == []
        inbox = protocol.queue
        assert isinstance(inbox, Inbox)
        for _ in range(200):  # until the server has read what it will read
            if not protocol.transport.is_reading():
                break
            await asyncio.sleep(0.01)
        assert not protocol.transport.is_reading()  # paused: TCP holds the rest
        assert 0 < inbox.qsize() < BURST
        app.go.set()
        got = [str(await ws.recv())[:4] for _ in range(BURST)]
        assert got == [f"m{i:03d}" for i in range(BURST)]
        assert protocol.transport.is_reading() and inbox.empty()


class Flood:
    """Sends ``count`` messages of ``size`` characters as fast as the socket lets it."""

    def __init__(self, count: int, size: int) -> None:
        self.count, self.size = count, size
        self.sent = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        for i in range(self.count):
            await send({"type": "websocket.send", "text": f"{i:06d}".ljust(self.size, "x")})
            self.sent += 1
        await receive()  # until the client closes


async def test_a_client_that_does_not_read_holds_the_sender_back_until_it_reads() -> None:
    app = Flood(count=200, size=64 * 1024)  # 12.5 MB: past the socket buffers on the way
    port = free_port()
    async with running(app, port, lifespan="off") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            # A client that shakes hands and then reads nothing (sans-I/O: it only parses).
            client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"), max_size=None)
            client.send_request(client.connect())
            writer.write(b"".join(client.data_to_send()))
            for _ in range(300):  # until the server's socket is above its high-water mark
                found = [p for p in server.server_state.connections if hasattr(p, "writable")]
                if found and not found[0].writable.is_set():
                    break
                await asyncio.sleep(0.01)
            (protocol,) = server.server_state.connections
            assert isinstance(protocol, LeanWebSocketProtocol)
            assert not protocol.writable.is_set() and app.sent < app.count
            got: list[str] = []
            while len(got) < app.count:
                client.receive_data(await reader.read(1 << 20))
                got += [
                    bytes(e.data[:6]).decode()
                    for e in client.events_received()
                    if isinstance(e, Frame)
                ]
            assert got == [f"{i:06d}" for i in range(app.count)]
            assert app.sent == app.count and protocol.writable.is_set()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class LateEcho:
    """Accepts only once ``accept`` is set, then echoes each text message."""

    def __init__(self) -> None:
        self.accept = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await self.accept.wait()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})


async def test_a_frame_begun_before_the_handshake_response_is_read_whole() -> None:
    """A client that sends a frame's first bytes before it has seen the response gets
    the frame echoed: the parser that had begun reading it is kept at the accept."""
    app = LateEcho()
    port = free_port()
    async with running(app, port, lifespan="off") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
            client.send_request(client.connect())
            writer.write(b"".join(client.data_to_send()))
            for _ in range(300):  # until the websocket protocol has taken the connection
                found = [p for p in server.server_state.connections if hasattr(p, "conn")]
                if found:
                    break
                await asyncio.sleep(0.01)
            (protocol,) = found
            frame = Frame(Opcode.TEXT, b"early bird").serialize(mask=True)
            writer.write(frame[:2])
            for _ in range(300):  # until the server has read the frame's first bytes
                if not protocol.conn.reader.buffer and not handshake_parser_between_frames(
                    protocol.conn
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the server never began reading the frame")
            app.accept.set()
            writer.write(frame[2:])
            got: list[bytes] = []
            while not got:
                client.receive_data(await asyncio.wait_for(reader.read(1 << 16), 5))
                got += [bytes(e.data) for e in client.events_received() if isinstance(e, Frame)]
            assert got == [b"early bird"]
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def test_writable_wakes_every_waiter_even_when_one_is_cancelled() -> None:
    writable = Writable()
    writable.clear()
    waiters = [asyncio.ensure_future(writable.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters[1:])
    writable.set()
    assert await asyncio.gather(*waiters[1:]) == [True, True]
    assert waiters[0].cancelled()


def _uses(attribute: str) -> set[str]:
    """What uvicorn's websocket protocol does with ``self.<attribute>``."""
    source = inspect.getsource(WebSocketsSansIOProtocol)
    return set(re.findall(rf"self\.{attribute}\.(\w+)", source)) | {
        "=" for _ in re.finditer(rf"self\.{attribute}\s*=[^=]", source)
    }


def test_uvicorns_protocol_uses_only_what_the_lean_one_replaces() -> None:
    # If an upgrade of uvicorn changes any of these, wsprotocol.py needs a look.
    assert _uses("queue") <= {"=", "put_nowait", "get", "empty"}
    assert _uses("writable") <= {"=", "set", "clear", "wait", "is_set"}
    source = inspect.getsource(WebSocketsSansIOProtocol)
    # read only before the handshake completes (handle_connect, and send's accept branch)
    assert source.count("self.request") == 1 and source.count("self.response") == 6
    assert "read_paused" in source
