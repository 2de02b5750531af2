"""Drive ``randomchat.sio``'s engine with no server: fake ASGI requests and WebSockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat import sio
from randomchat.sio.engine import Engine

EVENTUALLY = 5.0  # seconds; a generous bound for "eventually", never a measurement


async def eventually(check: Callable[[], bool], what: str = "condition") -> None:
    """Wait until ``check()`` holds; fail after ``EVENTUALLY`` seconds."""
    async with asyncio.timeout(EVENTUALLY):
        while not check():  # noqa: ASYNC110 (polling state owned by the code under test)
            await asyncio.sleep(0.005)


def _scope(kind: str, query: str, method: str = "GET") -> dict[str, Any]:
    return {
        "type": kind,
        "method": method,
        "path": "/socket.io/",
        "query_string": query.encode(),
        "headers": [],
        "client": ("127.0.0.1", 1),
    }


async def http(
    engine: Engine,
    method: str,
    sid: str | None = None,
    body: bytes = b"",
    dropped: asyncio.Event | None = None,
) -> tuple[int, str]:
    """One long-polling request; ``dropped`` set means the client hangs up."""
    query = "EIO=4&transport=polling" + (f"&sid={sid}" if sid else "")
    sent: list[dict[str, Any]] = []
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": body, "more_body": False}
        await (dropped.wait() if dropped is not None else asyncio.Event().wait())
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await engine.http(_scope("http", query, method), receive, send)
    if not sent:
        return 0, ""  # no response: the client had gone
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


async def handshake(engine: Engine) -> str:
    status, body = await http(engine, "GET")
    assert status == 200, body
    return str(json.loads(body[1:])["sid"])


class FakeWebSocket:
    """The client side of an ASGI WebSocket; ``stall()`` makes it stop reading."""

    def __init__(self, engine: Engine, sid: str | None = None) -> None:
        query = "EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reading = asyncio.Event()
        self.reading.set()
        self.closed: dict[str, Any] | None = None
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(
            engine.websocket(_scope("websocket", query), self.inbox.get, self._send)
        )

    async def _send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()  # as uvicorn's send waits for a writable transport
        if message["type"] == "websocket.close":
            self.closed = message
        self.received.put_nowait(message)

    def stall(self) -> None:
        self.reading.clear()

    def send(self, text: str | bytes) -> None:
        key = "text" if isinstance(text, str) else "bytes"
        self.inbox.put_nowait({"type": "websocket.receive", key: text})

    def hang_up(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1006})

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(EVENTUALLY):
            return await self.received.get()

    async def next_text(self, skip_pings: bool = True) -> str:
        while True:
            message = await self.next()
            text = message.get("text")
            if skip_pings and text == "2":
                continue
            assert text is not None, message
            return str(text)

    async def open(self) -> str:
        """Wait for the accept and the OPEN packet; the session id."""
        assert (await self.next())["type"] == "websocket.accept"
        return str(json.loads((await self.next_text())[1:])["sid"])


Handler = Callable[..., Awaitable[Any]]


class Recorder:
    """A server on namespace /ns whose lifecycle calls are recorded."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("events_per_second", 0)
        self.server = sio.Server(**options)
        self.connected: list[str] = []
        self.disconnected: list[tuple[str, str]] = []
        self.events: list[tuple[Any, ...]] = []
        self.connect_delay = 0.0
        self.server.on("connect", self._connect, namespace="/ns")
        self.server.on("disconnect", self._disconnect, namespace="/ns")
        self.server.on("*", self._any, namespace="/ns")

    @property
    def engine(self) -> Engine:
        return self.server.engine

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        if self.connect_delay:
            await asyncio.sleep(self.connect_delay)
        if auth.get("refuse"):
            raise sio.ConnectionRefusedError("no")
        self.connected.append(sid)

    async def _disconnect(self, sid: str, reason: str) -> None:
        self.disconnected.append((sid, reason))

    async def _any(self, event: Any, sid: str, *args: Any) -> None:
        self.events.append((event, sid, *args))
