"""Engine.IO v4: the session table and the ASGI requests of ``/socket.io/``.

Theory of operation. A session (``session.Session``) is one client connection,
identified by its ``sid``; its phases and every move between them are in
``session`` (OPEN, UPGRADING and PROBED while a polling session's client probes
a WebSocket, CLOSED), its transports' own state in ``transports``, and the
long-polling requests in ``polling``. This module routes the requests and runs
the WebSocket's reader and upgrade. A session starts on one of two transports:

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
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from randomchat.sio import polling
from randomchat.sio.eio import (
    MESSAGE,
    PING,
    PONG,
    UPGRADE,
    Message,
    PacketError,
    open_packet,
)
from randomchat.sio.polling import POLLING_REFUSED, PREFLIGHT, error_body, respond
from randomchat.sio.scope import OriginCheck, Scope, environ_from_scope, header
from randomchat.sio.session import (
    UPGRADING,
    CallLater,
    Handler,
    Phase,
    Session,
    Timer,
)
from randomchat.sio.transports import Polling

__all__ = [  # the session's types too: the layers above import them from here
    "CallLater",
    "Engine",
    "Handler",
    "Phase",
    "Receive",
    "Scope",
    "Send",
    "Session",
    "Timer",
    "environ_from_scope",
]

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

YIELD_EVERY = 16
"""A WebSocket reader yields to the loop after this many messages (or ``max_payload`` bytes)."""

CLOSE_FRAME_GRACE = 1.0
"""Seconds a refused or abandoned WebSocket may take to accept its close frame."""


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
        session = Session(self, sid, scope)
        self.sessions[sid] = session
        upgrades = [] if ws_send is not None else ["websocket"]
        packet = open_packet(sid, upgrades, self.ping_interval, self.ping_timeout, self.max_payload)
        session.start_heartbeat()
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
        origin = header(scope, b"origin")
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
            session.start_websocket(send, packet)  # the OPEN packet is written first
            self.handler.on_open(session)
        else:
            found = self.sessions.get(sid)
            if found is None or found.phase is not Phase.OPEN or found.on_websocket:
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
            await session.writer_done()

    async def _upgrade(self, session: Session, receive: Receive, send: Send) -> bool:
        """Probe, then move a polling session onto this WebSocket.

        The session is UPGRADING from the moment this WebSocket connects until it
        sends ``5`` (then it is OPEN on WebSocket), fails, times out after
        ``upgrade_timeout`` or the session closes (then it stays or is CLOSED on
        polling). This task stays interruptible (``_kick``) throughout: it runs no
        handler.
        """
        session.begin_upgrade()
        reader = session.reader
        assert reader is not None
        upgraded = refuse = False
        try:
            while session.phase in UPGRADING:
                event = await receive()
                if event["type"] != "websocket.receive":
                    break
                text = event.get("text")
                if text == PING + "probe" and session.phase is Phase.UPGRADING:
                    await send({"type": "websocket.send", "text": PONG + "probe"})
                    session.probed()
                elif text == UPGRADE and session.phase is Phase.PROBED:
                    session.upgraded(send)
                    upgraded = True
                else:
                    refuse = True
                    break
        except asyncio.CancelledError:
            if not reader.kicked_out():
                raise
            refuse = True  # the upgrade timed out, or the session closed
        finally:
            session.end_upgrade(upgraded)
        if refuse:
            await _close_ws(send, 1008 if session.phase is Phase.OPEN else 1000)
        return upgraded

    async def _read(self, session: Session, receive: Receive) -> None:
        """The one reader loop of a WebSocket session: each message handled in order."""
        limit = self.max_payload
        handler = self.handler
        reader = session.reader
        assert reader is not None
        count = size = 0
        while session.phase is not Phase.CLOSED:
            if count >= YIELD_EVERY or size >= limit:
                # receive() does not suspend while frames are queued: let the writers
                # of the sessions this client's packets were relayed to drain them,
                # or a burst would fill a fast reader's buffer.
                count = size = 0
                await asyncio.sleep(0)
            reader.parked = True  # interruptible (Reader.kick) while waiting here only
            try:
                event = await receive()
            except asyncio.CancelledError:
                if reader.kicked_out():
                    break
                raise
            finally:
                reader.parked = False
            if event["type"] != "websocket.receive":
                break
            text = event.get("text")
            data: Message = text if text is not None else event.get("bytes") or b""
            count += 1
            size += len(data)
            if len(data) > limit:
                await session.close("message too big")
                break
            if not session.take_token():
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
            await respond(send, 204 if allowed else 400, b"", cors + PREFLIGHT if allowed else [])
            return
        query, error = self._check(scope, "polling")
        if error is not None:
            await respond(send, 400, error_body(error), cors, "application/json")
            return
        sid = query.get("sid")
        if sid is None:
            if method != "GET":
                await respond(send, 400, error_body("Bad handshake method"), cors)
                return
            session, packet = self._open(scope, None)
            await respond(send, 200, packet.encode(), cors)
            self.handler.on_open(session)
            return
        session_or_none = self.sessions.get(sid)
        if session_or_none is None or not isinstance(session_or_none.wire, Polling):
            await respond(send, 400, error_body("Session ID unknown"), cors)
            return
        if method == "GET":
            await polling.get(session_or_none, receive, send, cors)
        elif method == "POST":
            await polling.post(session_or_none, receive, send, cors)
        else:
            await respond(send, 400, error_body("Bad request"), cors)

    def _cors_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = header(scope, b"origin")
        if origin is None or not self._origin_ok(scope):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
        ]


def _loop_call_later(delay: float, callback: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay, callback)


async def _close_ws(send: Send, code: int) -> None:
    """Close a WebSocket of ours that has no writer, waiting at most ``CLOSE_FRAME_GRACE``."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_FRAME_GRACE):
            await send({"type": "websocket.close", "code": code})
