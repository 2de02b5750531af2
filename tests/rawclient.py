"""Raw Engine.IO v4 / Socket.IO v5 clients for hostile tests.

python-socketio's client only sends well-formed packets and reads everything it
is sent. The fuzz and resource tests need clients that do neither: send any
bytes as a frame or a long-polling body, stop reading, never GET. Three are
here:

* ``WsClient``: a websocket (aiohttp) that sends raw frames and answers pings;
* ``PollClient``: long-polling (aiohttp) with raw POST bodies and explicit GETs;
* ``StalledWs``: a websocket over a bare TCP stream with a tiny receive buffer,
  which can stop reading altogether (a client that never drains its socket).

Plus ``ServerProcess``: figures of a server running as a separate process
(RSS and CPU seconds from ``/proc``) and a scan of its JSON log for failures.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

NS = "/random-chat"
EIO_QUERY = "/socket.io/?EIO=4&transport="


def connect_packet(token: str | None, namespace: str = NS) -> str:
    """A Socket.IO CONNECT (inside an Engine.IO message) carrying ``auth.token``."""
    auth = "" if token is None else json.dumps({"token": token})
    return f"40{namespace},{auth}"


def event_packet(event: str, *args: Any, ack: int | None = None, namespace: str = NS) -> str:
    """A Socket.IO EVENT (inside an Engine.IO message)."""
    return f"42{namespace},{'' if ack is None else ack}{json.dumps([event, *args])}"


@dataclass
class Packet:
    """A Socket.IO packet as the server sends it (well-formed, text only)."""

    type: int
    namespace: str
    data: Any
    id: int | None = None

    @property
    def event(self) -> str | None:
        if self.type == 2 and isinstance(self.data, list) and self.data:
            return str(self.data[0])
        return None

    @property
    def arg(self) -> Any:
        return self.data[1] if isinstance(self.data, list) and len(self.data) > 1 else None


def parse_message(text: str) -> Packet | None:
    """The Socket.IO packet in an Engine.IO MESSAGE (``4...``), else None."""
    if not text.startswith("4") or len(text) < 2:
        return None
    kind, rest = int(text[1]), text[2:]
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    ack = int(rest[:digits]) if digits else None
    rest = rest[digits:]
    return Packet(kind, namespace, json.loads(rest) if rest else None, ack)


class Closed(Exception):
    """The server closed the connection (``code`` None: without a close frame)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed by the server (code {code})")
        self.code = code


# -- websocket ------------------------------------------------------------------


class WsClient:
    """A raw websocket session: frames as given, pings answered while receiving."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, handshake: dict[str, Any]) -> None:
        self.ws = ws
        self.handshake = handshake
        self.close_code: int | None = None
        self.closed = False

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str) -> WsClient:
        ws = await http.ws_connect(
            url.replace("http", "ws", 1) + EIO_QUERY + "websocket",
            autoping=True,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=2),
        )
        first = await ws.receive(timeout=5)
        assert first.type == aiohttp.WSMsgType.TEXT and first.data.startswith("0"), first
        return cls(ws, json.loads(first.data[1:]))

    async def send(self, frame: str | bytes) -> bool:
        """Send one frame; False when the connection is already gone."""
        if self.closed or self.ws.closed:
            return False
        try:
            if isinstance(frame, str):
                await self.ws.send_str(frame)
            else:
                await self.ws.send_bytes(frame)
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return False
        return True

    async def recv(self, timeout: float = 5.0) -> str | bytes:
        """The next data frame (pings answered on the way); ``Closed`` when the server closes."""
        while True:
            if self.closed:
                raise Closed(self.close_code)
            msg = await self.ws.receive(timeout=timeout)
            if msg.type == aiohttp.WSMsgType.TEXT:
                if msg.data == "2":
                    await self.send("3")
                    continue
                return str(msg.data)
            if msg.type == aiohttp.WSMsgType.BINARY:
                return bytes(msg.data)
            # CLOSE carries the server's code; CLOSED/ERROR without a CLOSE: no close frame.
            self.closed = True
            if msg.type == aiohttp.WSMsgType.CLOSE:
                self.close_code = int(msg.data)
            else:
                self.close_code = self.ws.close_code if self.ws.close_code != 1006 else None
            raise Closed(self.close_code)

    async def packet(self, timeout: float = 5.0) -> Packet:
        """The next Socket.IO packet (other Engine.IO messages skipped)."""
        while True:
            frame = await self.recv(timeout)
            if isinstance(frame, str) and (found := parse_message(frame)) is not None:
                return found

    async def connect(self, token: str | None) -> Packet:
        """CONNECT to the namespace; the server's CONNECT or CONNECT_ERROR reply."""
        await self.send(connect_packet(token))
        while True:
            reply = await self.packet()
            if reply.namespace == NS and reply.type in (0, 4):
                return reply

    async def emit(self, event: str, *args: Any) -> bool:
        return await self.send(event_packet(event, *args))

    async def expect(self, event: str, timeout: float = 5.0, skip: Iterable[str] = ()) -> Any:
        """Wait for ``event``; events named in ``skip`` are passed over, others fail."""
        skipped = set(skip)
        while True:
            got = await self.packet(timeout)
            if got.event == event:
                return got.arg
            assert got.event in skipped, f"expected {event!r}, got {got}"

    async def close(self) -> None:
        self.closed = True
        await self.ws.close()


# -- long-polling -----------------------------------------------------------------


class PollClient:
    """A raw long-polling session: POST bodies as given, GET only when asked."""

    def __init__(self, http: aiohttp.ClientSession, url: str, handshake: dict[str, Any]) -> None:
        self.http = http
        self.url = url + EIO_QUERY + "polling&sid=" + handshake["sid"]
        self.handshake = handshake

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str) -> PollClient:
        async with http.get(url + EIO_QUERY + "polling") as resp:
            body = await resp.text()
        assert resp.status == 200 and body.startswith("0"), (resp.status, body)
        return cls(http, url, json.loads(body[1:]))

    async def post(self, body: str | bytes) -> int:
        """POST one body; the HTTP status."""
        data = body.encode() if isinstance(body, str) else body
        headers = {"content-type": "text/plain;charset=UTF-8"}
        # A stream, not bytes: aiohttp warns about large bytes bodies (filterwarnings=error).
        async with self.http.post(self.url, data=io.BytesIO(data), headers=headers) as resp:
            await resp.read()
            return resp.status

    async def get(self, timeout: float = 5.0) -> tuple[int, list[str | bytes]]:
        """One GET: its status and the packets in its body."""
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with self.http.get(self.url, timeout=client_timeout) as resp:
            body = await resp.text()
        if resp.status != 200:
            return resp.status, []
        packets: list[str | bytes] = [
            base64.b64decode(part[1:]) if part.startswith("b") else part
            for part in body.split("\x1e")
        ]
        return resp.status, packets

    async def packets(self, timeout: float = 5.0) -> list[Packet]:
        """GET until Socket.IO packets arrive (pings answered); ``Closed`` when it ends."""
        while True:
            status, frames = await self.get(timeout)
            if status != 200:
                raise Closed(status)
            found = []
            for frame in frames:
                if frame == "2":
                    await self.post("3")
                elif frame == "1":
                    raise Closed(1000)
                elif isinstance(frame, str) and (packet := parse_message(frame)) is not None:
                    found.append(packet)
            if found:
                return found

    async def connect(self, token: str | None) -> Packet:
        status = await self.post(connect_packet(token))
        assert status == 200, status
        while True:
            for reply in await self.packets():
                if reply.namespace == NS and reply.type in (0, 4):
                    return reply

    async def emit(self, event: str, *args: Any) -> int:
        return await self.post(event_packet(event, *args))

    async def close(self) -> None:
        """Send an Engine.IO CLOSE; harmless when the session is already gone."""
        with contextlib.suppress(aiohttp.ClientError):
            await self.post("1")


# -- a websocket that can stop reading ----------------------------------------------


class StalledWs:
    """A websocket over a bare TCP stream with a small receive buffer.

    While ``reading`` it parses frames like any client; once ``stop_reading()``
    is called nothing more is read from the socket, so the kernel buffers fill
    and the server's writes to it stop completing. It never answers pings.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, rcvbuf: int = 4096) -> StalledWs:
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the advertised window stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {EIO_QUERY}websocket HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        client = cls(reader, writer)
        first = await client.recv()
        assert first.startswith("0"), first
        return client

    async def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def recv(self, timeout: float = 5.0) -> str:
        """The next text frame (pings are not answered: this client is not well)."""
        while True:
            head = await asyncio.wait_for(self.reader.readexactly(2), timeout)
            opcode, size = head[0] & 0x0F, head[1] & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await asyncio.wait_for(self.reader.readexactly(size), timeout)
            if opcode == 0x8:
                raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == 0x1:
                return payload.decode()

    async def expect(self, event: str, timeout: float = 5.0) -> Any:
        while True:
            packet = parse_message(await self.recv(timeout))
            if packet is not None and packet.event == event:
                return packet.arg

    async def drained_to_close(self, timeout: float = 5.0) -> bool:
        """Read everything left; True if the server closed (close frame or EOF)."""
        try:
            while True:
                await self.recv(timeout)
        except (Closed, asyncio.IncompleteReadError, ConnectionError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.writer.transport.abort()


# -- the server process ------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ServerProcess:
    """Figures of a server process from ``/proc`` and failures in its JSON log."""

    pid: int
    log_path: Path
    marks: dict[str, tuple[int, float]] = field(default_factory=dict)

    def rss(self) -> int:
        """Resident set size in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu(self) -> float:
        """User + system CPU seconds used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def failures(self) -> list[str]:
        """Log lines that record an error or a traceback."""
        bad = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    bad.append(line)
                continue
            if not isinstance(record, dict):
                continue
            if (
                record.get("level") in ("error", "critical")
                or "exc" in record
                or "exc_info" in record
                or "Traceback" in line
            ):
                bad.append(line)
        return bad


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
