"""Engine.IO v4 sessions: heartbeat, close, and the two transports.

Theory of operation. A session is one client connection, identified by its
``sid``. It starts on one of two transports:

* WebSocket: the ASGI websocket call that opened it runs the session's only
  reader loop; every message is handled inline, in order, before the next one
  is read. Sends go straight to the ASGI ``send`` of that call: no queue, no
  writer task.
* HTTP long-polling: a GET waits for queued packets (one future, woken by the
  first packet), a POST carries packets in, handled inline in order. A session
  that started on polling may move to WebSocket (``2probe``/``3probe``, then
  ``5``); while it is upgrading, GETs are answered with a noop so that the
  client can pause polling, and queued packets wait for the WebSocket.

The heartbeat is one loop timer per session (``call_later``), not a task: it
fires after ``ping_interval`` to send a ping and re-arms itself for
``ping_timeout``; a pong re-arms it for ``ping_interval``; if it fires while a
pong is still owed, the session is closed. Only sending a ping or close over
WebSocket from the timer needs a (short-lived) task, since ASGI sends are
coroutines.

What a session carries (``Message``) goes to and comes from a ``Handler``:
the Socket.IO layer, or any other user of bare Engine.IO.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol
from urllib.parse import parse_qsl

from randomchat.sio.eio import (
    CLOSE,
    MESSAGE,
    NOOP,
    PING,
    PONG,
    UPGRADE,
    Message,
    PacketError,
    decode_payload,
    encode_payload,
    open_packet,
)

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
OriginCheck = Callable[[str | None, dict[str, Any]], bool]


class Handler(Protocol):
    """What sits on top of Engine.IO (the Socket.IO server, or an echo server)."""

    def on_open(self, session: Session) -> None: ...

    async def on_message(self, session: Session, message: Message) -> None:
        """Handle one message; raise ``PacketError`` to close the session."""

    async def on_close(self, session: Session, reason: str) -> None: ...


def environ_from_scope(scope: Scope) -> dict[str, Any]:
    """A WSGI-style environ for handlers (``HTTP_*`` headers, scheme, query)."""
    scheme = scope.get("scheme", "http")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", ""),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "wsgi.url_scheme": "https" if scheme in ("https", "wss") else "http",
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        key = "HTTP_" + raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if "HTTP_CONTENT_TYPE" in environ:
        environ["CONTENT_TYPE"] = environ["HTTP_CONTENT_TYPE"]
    return environ


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Session:
    __slots__ = (
        "_awaiting_pong",
        "_posting",
        "_queue",
        "_timer",
        "_waiter",
        "_ws_send",
        "closed",
        "engine",
        "scope",
        "sid",
        "state",
        "upgrading",
    )

    def __init__(self, engine: Engine, sid: str, scope: Scope, ws_send: Send | None) -> None:
        self.engine = engine
        self.sid = sid
        self.scope = scope
        self.state: Any = None  # the handler's per-session object
        self.closed = False
        self.upgrading = False
        self._ws_send = ws_send
        self._queue: list[Message] = []
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting_pong = False
        self._posting = False

    @property
    def transport(self) -> str:
        return "polling" if self._ws_send is None else "websocket"

    # -- sending ---------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send one Engine.IO message (text without its ``4``, or binary)."""
        if self.closed:
            return
        if self._ws_send is None:
            self._push(MESSAGE + message if isinstance(message, str) else message)
        elif isinstance(message, str):
            await self._ws({"type": "websocket.send", "text": MESSAGE + message})
        else:
            await self._ws({"type": "websocket.send", "bytes": message})

    async def _ws(self, event: dict[str, Any]) -> None:
        send = self._ws_send
        if send is None:
            return
        try:
            await send(event)
        except Exception:  # the peer is gone; the reader loop sees the disconnect
            self._ws_send = None
            self.closed = True
            self.engine.spawn(self._finish("transport error"))

    def _push(self, packet: Message) -> None:
        self._queue.append(packet)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- heartbeat -------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.closed:
            return
        if self._awaiting_pong:
            self.engine.spawn(self.close("ping timeout"))
            return
        self._awaiting_pong = True
        self._arm(self.engine.ping_timeout)
        if self._ws_send is None:
            self._push(PING)
        else:
            self.engine.spawn(self._ws({"type": "websocket.send", "text": PING}))

    def _pong(self) -> None:
        if self._awaiting_pong:
            self._awaiting_pong = False
            if self._timer is not None:
                self._timer.cancel()
            self._arm(self.engine.ping_interval)

    # -- receiving -------------------------------------------------------------

    async def receive(self, packet: Message) -> None:
        """One packet from the client, on either transport."""
        if isinstance(packet, bytes):
            await self.engine.handler.on_message(self, packet)
            return
        kind = packet[:1]
        if kind == MESSAGE:
            await self.engine.handler.on_message(self, packet[1:])
        elif kind == PONG:
            self._pong()
        elif kind == CLOSE:
            await self.close("transport close", by_client=True)
        elif kind in (UPGRADE, NOOP):
            pass
        elif kind == PING:  # not sent by v4 clients except as a probe; answer anyway
            if self._ws_send is None:
                self._push(PONG + packet[1:])
            else:
                await self._ws({"type": "websocket.send", "text": PONG + packet[1:]})
        else:
            raise PacketError("unknown packet type")

    # -- closing ---------------------------------------------------------------

    async def close(self, reason: str, *, by_client: bool = False, linger: bool = False) -> None:
        """Close the session (once) and tell the handler.

        Over long-polling, the open GET (or, if none is open, the next one within
        ``ping_timeout``) is answered: with a noop when the client closed, with
        what was queued and a CLOSE packet when the server closed with ``linger``
        (a deliberate disconnect). Any later request gets HTTP 400.
        """
        if self.closed:
            return
        self.closed = True
        if self._ws_send is not None:
            send, self._ws_send = self._ws_send, None
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1000})
            self._forget()
        else:
            if by_client:
                self._queue = [NOOP]
            elif linger or self._waiter is not None:
                self._queue.append(CLOSE)
            else:
                self._queue.clear()
            if self._waiter is not None or not self._queue:
                self._wake()
                self._forget()
            else:  # keep the session until the next GET collects it, or a timeout
                if self._timer is not None:
                    self._timer.cancel()
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.engine.ping_timeout, self._forget)
        await self.engine.handler.on_close(self, reason)

    async def _finish(self, reason: str) -> None:
        self._forget()
        await self.engine.handler.on_close(self, reason)

    def _forget(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.engine.sessions.get(self.sid) is self:
            del self.engine.sessions[self.sid]


class Engine:
    """The session table and the ASGI handling of ``/socket.io/`` requests."""

    def __init__(
        self,
        handler: Handler,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_payload: int = 1_000_000,
        origin_check: OriginCheck | None = None,
    ) -> None:
        self.handler = handler
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.origin_check = origin_check
        self.sessions: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed", exc_info=task.exception())

    def _open(self, scope: Scope, ws_send: Send | None) -> tuple[Session, str]:
        sid = secrets.token_urlsafe(15)
        session = Session(self, sid, scope, ws_send)
        self.sessions[sid] = session
        upgrades = [] if ws_send is not None else ["websocket"]
        packet = open_packet(sid, upgrades, self.ping_interval, self.ping_timeout, self.max_payload)
        session._arm(self.ping_interval)
        return session, packet

    def _check(self, scope: Scope, transport: str) -> tuple[dict[str, str], str | None]:
        """Query and an error message, if the request is not acceptable."""
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if query.get("EIO") != "4":
            return query, "Unsupported protocol version"
        if query.get("transport") != transport:
            return query, "Transport unknown"
        if not self._origin_ok(scope):
            return query, "Not allowed origin"
        return query, None

    def _origin_ok(self, scope: Scope) -> bool:
        if self.origin_check is None:
            return True
        origin = _header(scope, b"origin")
        return self.origin_check(origin, environ_from_scope(scope))

    # -- WebSocket ---------------------------------------------------------------

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        query, error = self._check(scope, "websocket")
        if error is not None:
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        sid = query.get("sid")
        if sid is None:
            session, packet = self._open(scope, send)
            await send({"type": "websocket.send", "text": packet})
            self.handler.on_open(session)
        else:
            found = self.sessions.get(sid)
            if found is None or found.closed or found._ws_send is not None or found.upgrading:
                await send({"type": "websocket.close", "code": 1008})
                return
            if not await self._upgrade(found, receive, send):
                return
            session = found
        await self._read(session, receive)

    async def _upgrade(self, session: Session, receive: Receive, send: Send) -> bool:
        """Probe, then move a polling session onto this WebSocket."""
        try:
            while True:
                event = await receive()
                text = event.get("text") if event["type"] == "websocket.receive" else None
                if text == PING + "probe" and not session.closed:
                    await send({"type": "websocket.send", "text": PONG + "probe"})
                    session.upgrading = True
                    session._wake()  # an open GET returns a noop
                elif text == UPGRADE and session.upgrading and not session.closed:
                    session._ws_send = send
                    session.upgrading = False
                    queued, session._queue = session._queue, []
                    session._wake()
                    for packet in queued:
                        if isinstance(packet, str):
                            await send({"type": "websocket.send", "text": packet})
                        else:
                            await send({"type": "websocket.send", "bytes": packet})
                    return True
                else:
                    session.upgrading = False
                    if event["type"] == "websocket.receive":
                        await send({"type": "websocket.close", "code": 1008})
                    return False
        except BaseException:
            session.upgrading = False
            raise

    async def _read(self, session: Session, receive: Receive) -> None:
        """The one reader loop of a WebSocket session: each message handled in order."""
        limit = self.max_payload
        handler = self.handler
        reason = "transport close"
        try:
            while not session.closed:
                event = await receive()
                if event["type"] != "websocket.receive":
                    break
                text = event.get("text")
                data: Message = text if text is not None else event.get("bytes") or b""
                if len(data) > limit:
                    reason = "message too big"
                    await session.close(reason)
                    break
                try:
                    if text is not None and text[:1] == MESSAGE:
                        await handler.on_message(session, text[1:])
                    else:
                        await session.receive(data)
                except PacketError:
                    reason = "parse error"
                    await session.close(reason)
                    break
        finally:
            if not session.closed:
                session.closed = True
                session._ws_send = None
                await session._finish(reason)

    # -- HTTP long-polling -----------------------------------------------------------

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        cors = self._cors_headers(scope)
        if method == "OPTIONS":
            allowed = cors and self._origin_ok(scope)
            await _respond(send, 204 if allowed else 400, b"", cors + _PREFLIGHT if allowed else [])
            return
        query, error = self._check(scope, "polling")
        if error is not None:
            await _respond(send, 400, _error_body(error), cors, "application/json")
            return
        sid = query.get("sid")
        if sid is None:
            if method != "GET":
                await _respond(send, 400, _error_body("Bad handshake method"), cors)
                return
            session, packet = self._open(scope, None)
            await _respond(send, 200, packet.encode(), cors)
            self.handler.on_open(session)
            return
        session_or_none = self.sessions.get(sid)
        if session_or_none is None or session_or_none._ws_send is not None:
            await _respond(send, 400, _error_body("Session ID unknown"), cors)
            return
        if method == "GET":
            await self._get(session_or_none, send, cors)
        elif method == "POST":
            await self._post(session_or_none, receive, send, cors)
        else:
            await _respond(send, 400, _error_body("Bad request"), cors)

    async def _get(self, session: Session, send: Send, cors: list[tuple[bytes, bytes]]) -> None:
        if session._waiter is not None:  # a second GET while one is open
            await _respond(send, 400, _error_body("Overlapping poll"), cors)
            await session.close("transport error")
            return
        if session.closed and not session._queue:
            session._forget()
            await _respond(send, 400, _error_body("Session ID unknown"), cors)
            return
        if not session._queue and not session.upgrading and not session.closed:
            waiter = asyncio.get_running_loop().create_future()
            session._waiter = waiter
            try:
                await waiter
            finally:
                session._waiter = None
        if session.upgrading or session._ws_send is not None or not session._queue:
            await _respond(send, 200, NOOP.encode(), cors)
            return
        queued, session._queue = session._queue, []
        if session.closed:
            session._forget()
        await _respond(send, 200, encode_payload(queued).encode(), cors)

    async def _post(
        self, session: Session, receive: Receive, send: Send, cors: list[tuple[bytes, bytes]]
    ) -> None:
        if session.closed or session._posting:
            await _respond(send, 400, _error_body("Bad request"), cors)
            await session.close("transport error")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            event = await receive()
            if event["type"] != "http.request":
                return
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > self.max_payload:
                await _respond(send, 413, _error_body("Payload too large"), cors)
                await session.close("message too big")
                return
            chunks.append(chunk)
            more = event.get("more_body", False)
        try:
            packets = decode_payload(b"".join(chunks).decode())
        except (PacketError, UnicodeDecodeError):
            await _respond(send, 400, _error_body("Bad request"), cors)
            await session.close("parse error")
            return
        session._posting = True
        try:
            for packet in packets:
                if session.closed:
                    break
                await session.receive(packet)
        except PacketError:
            await _respond(send, 400, _error_body("Bad request"), cors)
            await session.close("parse error")
            return
        finally:
            session._posting = False
        await _respond(send, 200, b"ok", cors)

    def _cors_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = _header(scope, b"origin")
        if origin is None or not self._origin_ok(scope):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
        ]


_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
]


def _error_body(message: str) -> bytes:
    return b'{"message":"' + message.encode() + b'"}'


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: str = "text/plain; charset=UTF-8",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
