"""Issue 8, item 10 on a real uvicorn: a WebSocket client that stops reading.

The non-reader is a raw TCP client with a small receive buffer: it completes
the handshake, connects to the namespace, then never reads again, so the
server's transport fills and its writes block. Another client floods it
through the server and must keep getting answers; the non-reader must be
closed by the server (buffer bound or ping timeout), never stall anyone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from randomchat import sio
from tests.conftest import free_port
from tests.server.harness import serving

pytestmark = pytest.mark.server

CHUNK = 32_000  # characters per flood message
MOST = 1_000  # messages per flood call at most (32 MB); it stops as soon as it has its effect


class RawWebSocket:
    """Just enough of a WebSocket client to connect and then stop reading."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, query: str) -> RawWebSocket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def recv_text(self) -> str:
        first, second = await self.reader.readexactly(2)
        assert first == 0x81, first  # one unfragmented text frame
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return (await self.reader.readexactly(length)).decode()

    def send_text(self, text: str) -> None:
        data = text.encode()
        assert len(data) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(bytes([0x81, 0x80 | len(data)]) + mask + masked)

    def close(self) -> None:
        self.writer.transport.abort()


@contextlib.asynccontextmanager
async def flood_server(**options: Any) -> AsyncIterator[tuple[sio.Server, int, list[Any]]]:
    server = sio.Server(events_per_second=0, **options)
    seen: list[Any] = []

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        seen.append(("connect", sid))

    async def disconnect(sid: str, reason: str) -> None:
        seen.append(("disconnect", sid, reason))

    async def flood(sid: str, target: str, backlog: int) -> str:
        """Emit to ``target`` until it is gone or ``backlog`` waits in its buffer."""
        for _ in range(MOST):
            found = server.sockets.get(target)
            if found is None:
                return "gone"
            if found.session.buffered >= backlog:
                return "backlogged"  # its writer is blocked: the client does not read
            await server.emit("x", "y" * CHUNK, to=target)
            await asyncio.sleep(0)  # let the server's other tasks run, as a real sender would
        return "still writable"

    async def echo(sid: str, data: Any) -> Any:
        return data

    server.on("connect", connect)
    server.on("disconnect", disconnect)
    server.on("flood", flood)
    server.on("echo", echo)
    port = free_port()
    async with serving(sio.ASGIApp(server), port, lifespan="off"):
        yield server, port, seen


async def non_reader(port: int, seen: list[Any]) -> tuple[RawWebSocket, str]:
    raw = await RawWebSocket.connect(port, "EIO=4&transport=websocket")
    assert (await raw.recv_text()).startswith("0{")
    raw.send_text("40")
    assert (await raw.recv_text()).startswith("40{")
    return raw, seen[-1][1]  # and from now on, it never reads


async def disconnected(seen: list[Any], sid: str) -> str:
    async with asyncio.timeout(20):
        while True:
            for entry in seen:
                if entry[0] == "disconnect" and entry[1] == sid:
                    return str(entry[2])
            await asyncio.sleep(0.05)


async def test_a_flooded_non_reader_is_closed_and_the_sender_keeps_its_answers() -> None:
    async with flood_server(
        ping_interval=5, ping_timeout=5, max_http_buffer_size=100_000, send_buffer_bytes=400_000
    ) as (server, port, seen):
        raw, target = await non_reader(port, seen)
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        try:
            assert await client.call("flood", (target, 10**9), timeout=10) == "gone"
            assert await client.call("echo", "still here", timeout=10) == "still here"
            assert await disconnected(seen, target) == "send buffer full"
            assert await client.call("echo", "and now", timeout=10) == "and now"
            assert target not in server.sockets
        finally:
            await client.disconnect()
            raw.close()


async def test_a_non_reader_with_a_blocked_writer_is_dropped_at_its_ping_timeout() -> None:
    # A buffer bound too large to be reached: only the heartbeat can drop it.
    async with flood_server(
        ping_interval=0.5, ping_timeout=0.5, max_http_buffer_size=100_000, send_buffer_bytes=10**8
    ) as (server, port, seen):
        raw, target = await non_reader(port, seen)
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        try:
            assert await client.call("flood", (target, 1_000_000), timeout=10) == "backlogged"
            assert await disconnected(seen, target) == "ping timeout"
            assert await client.call("echo", "alive", timeout=10) == "alive"
            assert target not in server.sockets
        finally:
            await client.disconnect()
            raw.close()
