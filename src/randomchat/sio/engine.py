"""Engine.IO v4 sessions: heartbeat, output buffers, close, and the two transports.

Theory of operation. A session is one client connection, identified by its
``sid``, in one of three phases (``Phase``): OPEN, UPGRADING (a polling
session whose client is probing a WebSocket) and CLOSED. It starts on one of
two transports:

* WebSocket: the ASGI websocket call that opened it is the session's only
  reader: every message is handled inline, in order, before the next one is
  read. Writing is done by one writer task per session, which drains the
  session's output buffer into the ASGI ``send``. The reader yields to the
  loop every ``YIELD_EVERY`` messages or ``max_payload`` bytes, so that a
  burst from one client cannot starve the writers it relays to.
* HTTP long-polling: a GET waits for buffered packets (one future, woken by
  the first packet) and takes them all; a POST carries packets in, handled
  inline in order. A session that started on polling may move to WebSocket
  (``2probe``/``3probe``, then ``5``).

No task ever waits on another client's socket. ``Session.write`` only appends
to the session's output buffer (a deque) and wakes its writer or its open GET;
it never awaits. So an emit from one client's handler, a background job or
the heartbeat timer costs the same whether the recipient reads or not.

Limits, and the policy when one is exceeded (the session is closed; the
reason is what the handler's ``on_close`` receives):

* output buffer: ``send_buffer_bytes`` (characters of text plus bytes of
  binary; default twice ``max_payload``) queued and not yet written: a
  client that does not read (a stalled WebSocket, a polling client that never
  GETs) is closed with "send buffer full"; the buffer is dropped at once, the
  sender never waits.
* inbound message: ``max_payload`` per WebSocket message or POST body:
  "message too big" (HTTP 413 over polling).
* inbound rate: with ``packets_per_second`` > 0, a token bucket of
  ``packet_burst`` per session, one token per inbound Engine.IO packet
  (Socket.IO packets, binary attachments, pongs), checked before anything is
  parsed: "rate limit".
* heartbeat: one loop timer per session (``call_later``, not a task): after
  ``ping_interval`` it queues a ping and re-arms for ``ping_timeout``; a pong
  re-arms it for ``ping_interval``; if it fires while a pong is owed, the
  session is closed ("ping timeout"). A WebSocket client that stops reading
  never sees the ping, so it is dropped within one interval plus timeout even
  while its writer is stuck.
* upgrade: a probing WebSocket must send ``5`` within ``upgrade_timeout`` of
  connecting, or it is closed and the session stays on polling. During the
  upgrade, data keeps flowing over polling; only the GET open when the probe
  arrives is answered with a noop at once, and a later GET with nothing to
  carry gets one after ``UPGRADE_NOOP_DELAY`` (the client pauses polling on
  it; Node's server writes such a noop every 100 ms), so a client that stalls
  its upgrade gets at most ten answers a second, not a busy loop. A second
  WebSocket for a session that is upgrading or upgraded is refused.
* a GET whose connection drops while it waits closes the session ("transport
  error"), as Node's server does, so that nothing sent afterwards is lost
  silently.
* malformed input of any kind (``PacketError``): "parse error", a close
  frame over WebSocket, HTTP 400 over polling. An unexpected exception in a
  handler is logged and closes the session ("server error"); nothing escapes
  the ASGI call.

Closing. A WebSocket session closed deliberately (server disconnect, client
close, parse error) lets its writer finish what is buffered (for a server
disconnect) and send a close frame, for at most ``ping_timeout``; a session
closed because its client is gone or does not read (ping timeout, buffer
full, transport error) has its writer cancelled, its buffer dropped and no
close frame (sending one would wait on that client). The reader, parked in
``receive()``, is interrupted the same way; a reader busy in a handler is
never interrupted and stops after it. The handler's ``on_close`` runs once.

What a session carries (``Message``) goes to and comes from a ``Handler``:
the Socket.IO layer, or any other user of bare Engine.IO.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol
from urllib.parse import parse_qsl

from randomchat.sio.budget import Budget
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

YIELD_EVERY = 16
"""A WebSocket reader yields to the loop after this many messages (or ``max_payload`` bytes)."""

UPGRADE_NOOP_DELAY = 0.1
"""Seconds a GET with nothing to carry waits during an upgrade before its noop."""

CLOSE_FRAME_GRACE = 1.0
"""Seconds a refused or abandoned WebSocket may take to accept its close frame."""


class Timer(Protocol):
    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], Timer]


class Handler(Protocol):
    """What sits on top of Engine.IO (the Socket.IO server, or an echo server)."""

    def on_open(self, session: Session) -> None: ...

    async def on_message(self, session: Session, message: Message) -> None:
        """Handle one message; raise ``PacketError`` to close the session."""

    async def on_close(self, session: Session, reason: str) -> None: ...


class Phase(enum.Enum):
    OPEN = "open"
    UPGRADING = "upgrading"  # on polling, a WebSocket for this sid has connected
    PROBED = "probed"  # ... and has been answered ``3probe``: it may send ``5``
    CLOSED = "closed"


_UPGRADING = (Phase.UPGRADING, Phase.PROBED)


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
        "_budget",
        "_close_frame",
        "_kicked",
        "_out",
        "_out_bytes",
        "_parked",
        "_poll_waiter",
        "_posting",
        "_timer",
        "_upgrade_timer",
        "_writer",
        "_writer_waiter",
        "_ws_send",
        "_ws_task",
        "engine",
        "phase",
        "scope",
        "sid",
        "state",
    )

    def __init__(self, engine: Engine, sid: str, scope: Scope, ws_send: Send | None) -> None:
        self.engine = engine
        self.sid = sid
        self.scope = scope
        self.state: Any = None  # the handler's per-session object
        self.phase = Phase.OPEN
        self._ws_send = ws_send
        # Engine.IO packets not yet written: text with its type character, or binary.
        # Bounded by bytes (``_out_bytes`` against ``send_buffer_bytes`` in ``_push``):
        # past the bound the session is closed, never the sender stalled.
        self._out: deque[Message] = deque()  # bounded: _push aborts past send_buffer_bytes
        self._out_bytes = 0
        self._poll_waiter: asyncio.Future[None] | None = None  # the open GET
        self._writer: asyncio.Task[None] | None = None  # WebSocket only
        self._writer_waiter: asyncio.Future[None] | None = None
        self._close_frame = False
        self._ws_task: asyncio.Task[Any] | None = None  # the WebSocket's reader (or prober)
        self._parked = False  # that task is waiting for the client, not in a handler
        self._kicked = False
        self._timer: Timer | None = None
        self._upgrade_timer: Timer | None = None
        self._awaiting_pong = False
        self._posting = False
        rate = engine.packets_per_second
        self._budget = Budget(rate, engine.packet_burst, engine.clock()) if rate > 0 else None

    @property
    def transport(self) -> str:
        return "polling" if self._ws_send is None else "websocket"

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    @property
    def upgrading(self) -> bool:
        return self.phase in _UPGRADING

    @property
    def buffered(self) -> int:
        """Characters and bytes queued for the client and not yet written."""
        return self._out_bytes

    # -- sending ---------------------------------------------------------------

    def write(self, message: Message) -> None:
        """Queue one Engine.IO message (text without its ``4``, or binary); never waits."""
        self._push(MESSAGE + message if isinstance(message, str) else message)

    async def send(self, message: Message) -> None:
        """``write``, for callers that expect a coroutine."""
        self.write(message)

    def _push(self, packet: Message) -> None:
        if self.phase is Phase.CLOSED:
            return
        self._out.append(packet)
        self._out_bytes += len(packet)
        if self._out_bytes > self.engine.send_buffer_bytes:
            log.warning("send buffer full", extra={"sid": self.sid, "bytes": self._out_bytes})
            self.abort("send buffer full")
            return
        waiter = self._writer_waiter  # the hot path: a WebSocket writer waiting
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(None)
        elif self._poll_waiter is not None:
            self._wake()

    def _wake(self) -> None:
        for waiter in (self._poll_waiter, self._writer_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _take_all(self) -> list[Message]:
        queued = list(self._out)
        self._out.clear()
        self._out_bytes = 0
        return queued

    def _start_writer(self, send: Send) -> None:
        self._ws_send = send
        self._writer = asyncio.get_running_loop().create_task(self._write(send))

    async def _write(self, send: Send) -> None:
        """The one writer of a WebSocket session: drains the buffer in order."""
        out = self._out
        loop = asyncio.get_running_loop()
        try:
            while True:
                if out:
                    packet = out.popleft()
                    self._out_bytes -= len(packet)
                    if isinstance(packet, str):
                        await send({"type": "websocket.send", "text": packet})
                    else:
                        await send({"type": "websocket.send", "bytes": packet})
                elif self.phase is Phase.CLOSED:
                    if self._close_frame:
                        await send({"type": "websocket.close", "code": 1000})
                    return
                else:
                    self._writer_waiter = loop.create_future()
                    await self._writer_waiter
                    self._writer_waiter = None
        except Exception:  # the peer is gone (ClientDisconnected and the like)
            self._ws_send = None
            self.abort("transport error")
        finally:
            if self._timer is not None and self.phase is Phase.CLOSED:
                self._timer.cancel()  # the drain deadline
                self._timer = None

    async def _writer_done(self) -> None:
        writer = self._writer
        if writer is not None:
            await asyncio.wait([writer])

    def _stop_writer(self) -> None:
        self._timer = None
        if self._writer is not None:
            self._writer.cancel()

    # -- the WebSocket's waiting task ----------------------------------------------

    def _kick(self) -> None:
        """Interrupt the WebSocket task if it is waiting for its client (never a handler)."""
        task = self._ws_task
        if task is not None and self._parked and not self._kicked:
            self._kicked = True
            task.cancel()

    def _kicked_out(self) -> bool:
        """In ``except CancelledError``: whether it was ``_kick`` (and only it)."""
        if not self._kicked:
            return False
        self._kicked = False
        task = asyncio.current_task()
        return task is not None and task.uncancel() == 0

    # -- heartbeat -------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._timer = self.engine.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.phase is Phase.CLOSED:
            return
        if self._awaiting_pong:
            self.abort("ping timeout")
            return
        self._awaiting_pong = True
        self._arm(self.engine.ping_timeout)
        self._push(PING)

    def _pong(self) -> None:
        if self._awaiting_pong:
            self._awaiting_pong = False
            if self._timer is not None:
                self._timer.cancel()
            self._arm(self.engine.ping_interval)

    # -- upgrade ---------------------------------------------------------------------

    def _abandon_upgrade(self) -> None:
        self._upgrade_timer = None
        self._kick()

    # -- receiving -------------------------------------------------------------

    def _take_token(self) -> bool:
        """One inbound packet against the session's budget; False when it is spent."""
        budget = self._budget
        return budget is None or budget.take(self.engine.clock())

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
            self._push(PONG + packet[1:])
        else:
            raise PacketError("unknown packet type")

    # -- closing ---------------------------------------------------------------

    async def close(
        self, reason: str, *, by_client: bool = False, linger: bool = False, abort: bool = False
    ) -> None:
        """Close the session (once) and tell the handler.

        Over long-polling, the open GET (or, if none is open, the next one within
        ``ping_timeout``) is answered: with a noop when the client closed, with
        what was queued and a CLOSE packet when the server closed with ``linger``
        (a deliberate disconnect), with a CLOSE packet otherwise. Any later
        request gets HTTP 400. Over WebSocket, see the module docstring; ``abort``
        is for a client that is gone or does not read.
        """
        if self._shut(by_client=by_client, linger=linger, abort=abort):
            await self.engine.handler.on_close(self, reason)

    def abort(self, reason: str) -> None:
        """Close from code that cannot wait (timers, a full buffer): no close frame."""
        if self._shut(by_client=False, linger=False, abort=True):
            self.engine.spawn(self.engine.handler.on_close(self, reason))

    def _shut(self, *, by_client: bool, linger: bool, abort: bool) -> bool:
        """The synchronous part of closing; False if the session was already closed."""
        if self.phase is Phase.CLOSED:
            return False
        self.phase = Phase.CLOSED
        if self._upgrade_timer is not None:
            self._upgrade_timer.cancel()
            self._upgrade_timer = None
        if self._ws_send is not None:
            self._forget()
            if not linger or abort:
                self._take_all()
            self._close_frame = not abort
            if abort:
                self._stop_writer()
            else:  # the writer drains, sends the close frame, and is stopped if it cannot
                self._timer = self.engine.call_later(self.engine.ping_timeout, self._stop_writer)
                self._wake()
            self._kick()
            return True
        self._kick()  # a probing WebSocket, if any
        if by_client:
            self._take_all()
            self._out.append(NOOP)
        elif linger:
            self._out.append(CLOSE)
        else:
            self._take_all()
            if self._poll_waiter is not None:
                self._out.append(CLOSE)
        if self._poll_waiter is not None or not self._out:
            self._wake()
            self._forget()
        else:  # keep the session until the next GET collects it, or a timeout
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.engine.call_later(self.engine.ping_timeout, self._forget)
        return True

    def _forget(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.engine.sessions.get(self.sid) is self:
            del self.engine.sessions[self.sid]


class Engine:
    """The session table and the ASGI handling of ``/socket.io/`` requests.

    ``send_buffer_bytes`` bounds each session's output buffer (default: twice
    ``max_payload``); ``upgrade_timeout`` is how long a WebSocket may take from
    connecting with a polling session's sid to sending ``5``;
    ``packets_per_second`` (0: no limit) and ``packet_burst`` are each
    session's inbound packet budget; ``clock`` is what the budget reads and
    ``call_later`` arms every timer (heartbeat, ping timeout, upgrade, linger):
    both default to the event loop's, and tests pass a hand-driven pair so that
    timer edge cases run without sleeping.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_payload: int = 1_000_000,
        origin_check: OriginCheck | None = None,
        send_buffer_bytes: int | None = None,
        upgrade_timeout: float = 10.0,
        packets_per_second: float = 0.0,
        packet_burst: int = 60,
        polling: bool = True,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
    ) -> None:
        self.handler = handler
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.origin_check = origin_check
        self.send_buffer_bytes = send_buffer_bytes or 2 * max_payload
        self.upgrade_timeout = upgrade_timeout
        self.packets_per_second = packets_per_second
        self.packet_burst = packet_burst
        self.polling = polling
        self.clock = clock
        self.call_later: CallLater = call_later or _loop_call_later
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
        session = Session(self, sid, scope, None)
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
        if transport == "polling" and not self.polling:
            return query, POLLING_REFUSED
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
            session._ws_task = asyncio.current_task()
            session._out.append(packet)  # the first thing the writer sends
            session._start_writer(send)
            self.handler.on_open(session)
        else:
            found = self.sessions.get(sid)
            if found is None or found.phase is not Phase.OPEN or found._ws_send is not None:
                # Unknown, closed, already upgrading (Node refuses a second probe) or upgraded.
                await _close_ws(send, 1008)
                return
            if not await self._upgrade(found, receive, send):
                return
            session = found
        try:
            await self._read(session, receive)
        finally:
            if session.phase is not Phase.CLOSED:  # the client went away
                await session.close("transport close", abort=True)
            await session._writer_done()

    async def _upgrade(self, session: Session, receive: Receive, send: Send) -> bool:
        """Probe, then move a polling session onto this WebSocket.

        The session is UPGRADING from the moment this WebSocket connects until it
        sends ``5`` (then it is OPEN on WebSocket), fails, times out after
        ``upgrade_timeout`` or the session closes (then it stays or is CLOSED on
        polling). This task stays interruptible (``_kick``) throughout: it runs no
        handler.
        """
        session.phase = Phase.UPGRADING
        session._ws_task = asyncio.current_task()
        session._parked = True
        session._upgrade_timer = self.call_later(self.upgrade_timeout, session._abandon_upgrade)
        upgraded = refuse = False
        try:
            while session.phase in _UPGRADING:
                event = await receive()
                if event["type"] != "websocket.receive":
                    break
                text = event.get("text")
                if text == PING + "probe" and session.phase is Phase.UPGRADING:
                    await send({"type": "websocket.send", "text": PONG + "probe"})
                    session.phase = Phase.PROBED
                    session._wake()  # the GET open now answers a noop, so the client pauses
                elif text == UPGRADE and session.phase is Phase.PROBED:
                    session.phase = Phase.OPEN
                    session._wake()  # an open GET answers a noop; the buffer goes here
                    session._start_writer(send)
                    upgraded = True
                else:
                    refuse = True
                    break
        except asyncio.CancelledError:
            if not session._kicked_out():
                raise
            refuse = True  # the upgrade timed out, or the session closed
        finally:
            session._parked = False
            if session._upgrade_timer is not None:
                session._upgrade_timer.cancel()
                session._upgrade_timer = None
            if not upgraded:
                session._ws_task = None
                if session.phase in _UPGRADING:
                    session.phase = Phase.OPEN
        if refuse:
            await _close_ws(send, 1008 if session.phase is Phase.OPEN else 1000)
        return upgraded

    async def _read(self, session: Session, receive: Receive) -> None:
        """The one reader loop of a WebSocket session: each message handled in order."""
        limit = self.max_payload
        handler = self.handler
        count = size = 0
        while session.phase is not Phase.CLOSED:
            if count >= YIELD_EVERY or size >= limit:
                # receive() does not suspend while frames are queued: let the writers
                # of the sessions this client's packets were relayed to drain them,
                # or a burst would fill a fast reader's buffer.
                count = size = 0
                await asyncio.sleep(0)
            session._parked = True  # interruptible (see _kick) while waiting here only
            try:
                event = await receive()
            except asyncio.CancelledError:
                if session._kicked_out():
                    break
                raise
            finally:
                session._parked = False
            if event["type"] != "websocket.receive":
                break
            text = event.get("text")
            data: Message = text if text is not None else event.get("bytes") or b""
            count += 1
            size += len(data)
            if len(data) > limit:
                await session.close("message too big")
                break
            if not session._take_token():
                log.warning("packet budget exceeded", extra={"sid": session.sid})
                await session.close("rate limit")
                break
            try:
                if text is not None and text[:1] == MESSAGE:
                    await handler.on_message(session, text[1:])
                else:
                    await session.receive(data)
            except PacketError as exc:
                log.warning("protocol error", extra={"sid": session.sid, "problem": str(exc)})
                await session.close("parse error")
                break
            except Exception:
                log.exception("message handling failed", extra={"sid": session.sid})
                await session.close("server error")
                break

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
            await self._get(session_or_none, receive, send, cors)
        elif method == "POST":
            await self._post(session_or_none, receive, send, cors)
        else:
            await _respond(send, 400, _error_body("Bad request"), cors)

    async def _get(
        self, session: Session, receive: Receive, send: Send, cors: list[tuple[bytes, bytes]]
    ) -> None:
        if session._poll_waiter is not None:  # a second GET while one is open
            await _respond(send, 400, _error_body("Overlapping poll"), cors)
            await session.close("transport error")
            return
        if session.closed and not session._out:
            session._forget()
            await _respond(send, 400, _error_body("Session ID unknown"), cors)
            return
        if not session._out and not session.closed:
            waiter = asyncio.get_running_loop().create_future()
            session._poll_waiter = waiter
            # Listen for the client dropping this GET meanwhile: what we would
            # answer it would be lost, so the session ends (as in Node).
            gone = asyncio.ensure_future(_disconnected(receive))
            timeout = UPGRADE_NOOP_DELAY if session.phase is Phase.PROBED else None
            try:
                await asyncio.wait(
                    (waiter, gone), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                session._poll_waiter = None
                gone.cancel()
            if not waiter.done() and gone.done():
                await session.close("transport error")
                return
        if session._ws_send is not None or not session._out:
            await _respond(send, 200, NOOP.encode(), cors)
            return
        queued = session._take_all()
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
        reason: str | None = None
        try:
            for packet in packets:
                if session.closed:
                    break
                if not session._take_token():
                    log.warning("packet budget exceeded", extra={"sid": session.sid})
                    reason = "rate limit"
                    break
                await session.receive(packet)
        except PacketError as exc:
            log.warning("protocol error", extra={"sid": session.sid, "problem": str(exc)})
            reason = "parse error"
        except Exception:
            log.exception("message handling failed", extra={"sid": session.sid})
            reason = "server error"
        finally:
            session._posting = False
        if reason is not None:
            await _respond(send, 400, _error_body("Bad request"), cors)
            await session.close(reason)
            return
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


def _loop_call_later(delay: float, callback: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay, callback)


async def _disconnected(receive: Receive) -> None:
    """Return when the HTTP client goes away (its request body, if any, is discarded)."""
    with contextlib.suppress(Exception):  # a failing receive means the same
        while (await receive())["type"] != "http.disconnect":
            pass


async def _close_ws(send: Send, code: int) -> None:
    """Close a WebSocket of ours that has no writer, waiting at most ``CLOSE_FRAME_GRACE``."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_FRAME_GRACE):
            await send({"type": "websocket.close", "code": code})


# Without sticky sessions (several workers on one port) the requests of one long-polling
# session would reach different processes: refused up front, with the way out.
POLLING_REFUSED = (
    "Long-polling is off on this server (it runs several workers without sticky sessions): "
    "connect with transports: [websocket]"
)


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
