"""The Socket.IO v5 server: namespaces, handlers, emits, on top of ``engine``.

The API is the part of python-socketio's ``AsyncServer`` that the gateway
uses: ``on(event, handler, namespace)`` (with ``connect``, ``disconnect`` and
the catch-all ``*``), ``emit(event, data, to=sid, namespace=...)`` and
``disconnect(sid, namespace=...)``. Handlers run inline in the connection's
reader loop, in the order the client sent the packets (python-socketio's
``async_handlers=False``). An emit encodes the packet once and appends it to
the recipient session's output buffer: it never waits for the recipient (see
``engine`` for the buffer's bound and what happens when it fills).

Lifecycle handlers live apart from the user-event table: ``connect``,
``disconnect`` and the catch-all each have their own slot per namespace, and
the codec refuses EVENT packets named after a reserved event, so no client
packet can reach a lifecycle handler. An event with no handler, including
one named ``*``, goes to the catch-all as ``(event, sid, *args)``.

A connect handler refuses a connection by raising an exception that carries
``error_args`` (``{"message": ..., "data": ...}``), ``ConnectionRefusedError``
below, or by returning False. Whenever it returns success, exactly one call
of the namespace's disconnect handler follows for that socket, whichever way
the connection ends: if the session closed, or the client left the
namespace, while the connect handler was awaiting, the disconnect handler
runs as soon as the connect handler returns. Emits to a socket whose connect
handler is still running are held (within the session's buffer bound) and
sent after the CONNECT reply.

Limits enforced here: no binary packet (BINARY_EVENT, BINARY_ACK or an
attachment) before the session has a connected namespace socket, at most
``max_attachments`` attachments per packet and ``max_http_buffer_size`` bytes
of them (each a protocol error that closes the session); a session with no
connected namespace socket is closed after ``connect_timeout`` (a refused
CONNECT does not stop that clock; a successful one does).

Connection-state recovery (``recovery_window`` > 0): a client that asks for it
(``recover: true`` in its CONNECT auth) gets a ``pid`` and offsets, and its
socket is held when its transport drops; ``recovery``'s docstring has the
mechanism, its bounds, and who may take a held socket over (``may_resume``).

Scale-out: a socket id is only known to the process that holds its
connection; ``emit(to=sid)`` returns whether it was delivered here, so a
later cross-process manager can publish the emit to the owning node instead.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat.sio import codec
from randomchat.sio.codec import Decoder, Packet
from randomchat.sio.eio import Message, PacketError
from randomchat.sio.engine import (
    CallLater,
    Engine,
    OriginCheck,
    Session,
    Timer,
    environ_from_scope,
)
from randomchat.sio.recovery import RECOVERABLE, Holds, MayResume, Outbox, anyone

log = logging.getLogger(__name__)

HELD_EMIT_DELAY = 0.001  # seconds; see _connect

EventHandler = Callable[..., Awaitable[Any]]
Origins = OriginCheck | str | list[str] | tuple[str, ...] | None


class ConnectionRefusedError(Exception):  # the name python-socketio uses
    """Raised by a connect handler: ``message`` and optional ``data`` go to the client."""

    def __init__(self, message: str = "Connection rejected by server", data: Any = None) -> None:
        super().__init__(message)
        self.error_args: dict[str, Any] = {"message": str(message)}
        if data is not None:
            self.error_args["data"] = data


class Socket:
    """One client's membership of one namespace."""

    __slots__ = (
        "connected",
        "held",
        "held_bytes",
        "hold_reason",
        "left",
        "namespace",
        "outbox",
        "pid",
        "session",
        "sid",
    )

    def __init__(self, sid: str, namespace: str, session: Session) -> None:
        self.sid = sid
        self.namespace = namespace
        # None while the socket is on hold (its transport dropped; see recovery)
        self.session: Session | None = session
        self.pid: str | None = None  # set when the client asked for recovery
        self.outbox: Outbox | None = None
        self.hold_reason = ""
        self.connected = False  # the connect handler accepted it; events are dispatched
        # Emits held until the CONNECT reply is out (None once they are flushed).
        self.held: list[Message] | None = []
        self.held_bytes = 0
        self.left: str | None = None  # why it left while its connect handler ran

    def deliver(self, messages: list[Message]) -> None:
        """Queue an encoded packet for this socket's client; never waits.

        On hold there is no client: an event is in the outbox already (see
        ``Server.emit``), anything else would be meaningless after a reconnection.
        """
        session = self.session
        if session is None:
            return
        held = self.held
        if held is None:
            for message in messages:
                session.write(message)
            return
        held.extend(messages)
        self.held_bytes += sum(len(message) for message in messages)
        if self.held_bytes > session.engine.send_buffer_bytes:
            session.abort("send buffer full")


class Client:
    """Per Engine.IO session: its sockets by namespace, and its packet decoder."""

    __slots__ = ("connect_timer", "decoder", "sockets")

    def __init__(self, decoder: Decoder) -> None:
        self.sockets: dict[str, Socket] = {}
        self.decoder = decoder
        self.connect_timer: Timer | None = None

    def connected(self) -> bool:
        return any(socket.connected for socket in self.sockets.values())


def _origin_check(origins: Origins) -> OriginCheck | None:
    if origins is None or callable(origins):
        return origins
    if origins == "*":
        return None
    allowed = {origins} if isinstance(origins, str) else set(origins)
    return lambda origin, environ: origin is None or origin in allowed


class Server:
    """A Socket.IO server; ``ASGIApp(server)`` serves it.

    Parameters (all keyword-only; the limits' policies are in the module docstrings):

    - ``ping_interval``, ``ping_timeout`` (25.0, 20.0 s): the Engine.IO heartbeat.
    - ``max_http_buffer_size`` (1,000,000): the largest inbound message or POST
      body, and the total size of one packet's binary attachments.
    - ``cors_allowed_origins`` ("*"): "*", an origin, a list, or a check function.
    - ``connect_timeout`` (45.0 s): a session with no connected namespace is closed.
    - ``send_buffer_bytes`` (None: twice ``max_http_buffer_size``): a session's
      output buffer; past it the session is closed ("send buffer full").
    - ``upgrade_timeout`` (10.0 s): a WebSocket upgrade not completed in time is
      abandoned (the session stays on polling).
    - ``max_attachments`` (10): binary attachments per packet.
    - ``events_per_second`` (30.0; 0 disables) and ``event_burst`` (60): each
      session's inbound packet budget; a session that spends it is closed
      ("rate limit").
    - ``sid_prefix`` (""): put before every socket id; a cluster node puts its
      name there, so any node knows where a socket lives without asking Redis.
    - ``polling`` (True): False refuses long-polling with a message saying why
      (WebSocket only), for workers sharing a port without sticky sessions.
    - ``clock``, ``call_later`` (the event loop's): what the engine reads the time
      from and arms its timers with; tests pass a hand-driven pair.
    - ``recovery_window`` (0.0 s: off): how long a dropped socket that asked for
      recovery is held; ``recovery_packets`` (500) and ``recovery_bytes``
      (256 KiB): each such socket's outbox (see ``recovery``).
    """

    def __init__(
        self,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_http_buffer_size: int = 1_000_000,
        cors_allowed_origins: Origins = "*",
        connect_timeout: float = 45.0,
        send_buffer_bytes: int | None = None,
        upgrade_timeout: float = 10.0,
        max_attachments: int = codec.MAX_ATTACHMENTS,
        events_per_second: float = 30.0,
        event_burst: int = 60,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
        recovery_window: float = 0.0,
        recovery_packets: int = 500,
        recovery_bytes: int = 256 * 1024,
        sid_prefix: str = "",
        polling: bool = True,
    ) -> None:
        self.sid_prefix = sid_prefix
        self.engine = Engine(
            self,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_payload=max_http_buffer_size,
            origin_check=_origin_check(cors_allowed_origins),
            send_buffer_bytes=send_buffer_bytes,
            upgrade_timeout=upgrade_timeout,
            packets_per_second=events_per_second,
            packet_burst=event_burst,
            clock=clock,
            call_later=call_later,
            polling=polling,
        )
        self.connect_timeout = connect_timeout
        self.max_attachments = max_attachments
        self.max_attachment_bytes = max_http_buffer_size
        # User events only, by namespace; lifecycle handlers have their own slots.
        self.handlers: dict[str, dict[str | int, EventHandler]] = {}
        self.connect_handlers: dict[str, EventHandler] = {}
        self.disconnect_handlers: dict[str, EventHandler] = {}
        self.catch_all: dict[str, EventHandler] = {}
        self.sockets: dict[str, Socket] = {}  # socket id -> socket
        self.recovery_window = recovery_window
        self.recovery_packets = recovery_packets
        self.recovery_bytes = recovery_bytes
        self.by_pid: dict[str, Socket] = {}  # recoverable sockets, live or held
        self.holds: Holds[Socket] = Holds(recovery_window)
        self.may_resume: MayResume = anyone  # the application's owner check (recovery)

    def on(
        self, event: str, handler: EventHandler | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` in ``namespace``; without it, a decorator.

        ``connect``, ``disconnect`` and ``*`` (the catch-all) are lifecycle slots;
        other reserved names cannot be handled (no client may send them).
        """
        namespace = namespace or "/"
        if event != "connect" and event != "disconnect" and event in codec.RESERVED:
            raise ValueError(f"{event!r} is a reserved event name")

        def register(func: EventHandler) -> EventHandler:
            events = self.handlers.setdefault(namespace, {})
            if event == "connect":
                self.connect_handlers[namespace] = func
            elif event == "disconnect":
                self.disconnect_handlers[namespace] = func
            elif event == "*":
                self.catch_all[namespace] = func
            else:
                events[event] = func
            return func

        if handler is not None:
            register(handler)
            return None
        return register

    # -- outgoing ----------------------------------------------------------------------

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        room: str | None = None,
        namespace: str | None = None,
    ) -> bool:
        """Emit to one socket (``to``/``room`` = its id) or, without one, to the namespace.

        ``data`` as in python-socketio: None for no argument, a tuple for several.
        Returns False when the target socket is not connected to this process.
        Only queues: never waits for the recipient. Raises ``codec.EncodeError``
        if ``data`` is not JSON (bytes allowed), before anything is queued.
        """
        namespace = namespace or "/"
        args = [] if data is None else list(data) if isinstance(data, tuple) else [data]
        messages = codec.encode_event(namespace, event, args)
        target = to or room
        if target is None:
            for socket in list(self.sockets.values()):
                if socket.namespace == namespace and socket.connected:
                    self._send_event(socket, event, args, messages)
            return True
        found = self.sockets.get(target)
        if found is None or found.namespace != namespace:
            return False
        self._send_event(found, event, args, messages)
        return True

    def _send_event(
        self, socket: Socket, event: str, args: list[Any], plain: list[Message]
    ) -> None:
        outbox = socket.outbox
        if outbox is None:
            socket.deliver(plain)
            return
        # The offset rides as the last argument (socket.io's format), so it is encoded
        # per recipient; the data was encodable above, so this cannot fail.
        messages = codec.encode_event(socket.namespace, event, [*args, outbox.next_offset()])
        if not outbox.add(messages) and socket.session is None:
            # Missed events were dropped: the client can no longer resume this socket.
            self._give_up(socket)
            return
        socket.deliver(messages)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """Disconnect a socket from its namespace; the connection closes with its last one."""
        socket = self.sockets.get(sid)
        if socket is None or socket.namespace != (namespace or "/"):
            return
        session = socket.session
        if session is None:  # on hold: nobody to tell
            await self._end_hold(socket, "server disconnect")
            return
        client: Client = session.state
        if socket.connected:
            socket.deliver(codec.encode(codec.DISCONNECT, socket.namespace))
        await self._leave(client, socket, "server disconnect")
        if not client.sockets:
            await session.close("server disconnect", linger=True)

    async def drop(self, sid: str, namespace: str | None = None) -> None:
        """Close ``sid``'s connection as a failed transport would: no DISCONNECT packet.

        For a server going away (a drain before a restart): socket.io-client
        reconnects by itself after this (after a DISCONNECT from the server it
        does not), and a socket that asked for recovery is held rather than left,
        so its partner is not told it left (``recovery``). Others leave as usual.
        """
        socket = self.sockets.get(sid)
        if socket is None or socket.namespace != (namespace or "/") or socket.session is None:
            return
        await socket.session.close("transport close")

    # -- Engine.IO handler -----------------------------------------------------------

    def on_open(self, session: Session) -> None:
        session.state = Client(Decoder(self.max_attachments, self.max_attachment_bytes))
        self._arm_connect_timer(session)

    def _arm_connect_timer(self, session: Session) -> None:
        client: Client = session.state
        if client.connect_timer is None and not session.closed:
            client.connect_timer = session.engine.call_later(
                self.connect_timeout, lambda: self._connect_timeout(session)
            )

    def _connect_timeout(self, session: Session) -> None:
        client: Client = session.state
        client.connect_timer = None
        if not client.connected():
            self.engine.spawn(session.close("connect timeout"))

    async def on_close(self, session: Session, reason: str) -> None:
        client: Client | None = session.state
        if client is None:
            return
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None
        for socket in list(client.sockets.values()):
            if socket.connected and socket.pid is not None and reason in RECOVERABLE:
                self._hold(client, socket, reason)
            else:
                await self._leave(client, socket, reason)

    async def on_message(self, session: Session, message: Message) -> None:
        client: Client = session.state
        # Cheap state check before any parsing: binary packets are for connected sockets.
        if (isinstance(message, bytes) or message[:1] in ("5", "6")) and not client.connected():
            raise PacketError("binary packet before a namespace CONNECT")
        packet = client.decoder.feed(message)
        if packet is None:
            return
        kind = packet.type
        if kind == codec.EVENT:
            socket = client.sockets.get(packet.namespace)
            if socket is not None and socket.connected:
                await self._event(socket, packet)
        elif kind == codec.CONNECT:
            await self._connect(session, client, packet)
        elif kind == codec.DISCONNECT:
            socket = client.sockets.get(packet.namespace)
            if socket is not None:
                await self._leave(client, socket, "client disconnect")
                if not client.sockets:
                    self._arm_connect_timer(session)
        # ACK: the server asks for none, so there is nothing to match it to.

    async def _event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        namespace = socket.namespace
        try:
            handler = self.handlers[namespace].get(event)
            if handler is not None:
                result = await handler(socket.sid, *args)
            elif (catch_all := self.catch_all.get(namespace)) is not None:
                result = await catch_all(event, socket.sid, *args)
            else:
                result = None
        except PacketError:
            raise
        except Exception:
            log.exception("event handler failed", extra={"sid": socket.sid, "event": str(event)})
            return
        if packet.id is not None:
            data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
            try:
                socket.deliver(codec.encode(codec.ACK, namespace, data, packet.id))
            except codec.EncodeError:
                log.exception("ack not encodable", extra={"sid": socket.sid, "event": str(event)})

    async def _connect(self, session: Session, client: Client, packet: Packet) -> None:
        namespace = packet.namespace
        if namespace not in self.handlers:
            error = {"message": "Invalid namespace"}
            for message in codec.encode(codec.CONNECT_ERROR, namespace, error):
                session.write(message)
            return
        if namespace in client.sockets:
            return  # already connected (or connecting) to it
        auth = packet.data if packet.data is not None else {}
        if self.recovery_window > 0 and isinstance(auth, dict) and "pid" in auth:
            if await self._recover(session, client, namespace, auth):
                return
            if session.closed or namespace in client.sockets:
                return  # gone, or connected meanwhile, while the old socket was ended
        socket = Socket(self.sid_prefix + secrets.token_urlsafe(15), namespace, session)
        if self.recovery_window > 0 and isinstance(auth, dict) and auth.get("recover") is True:
            socket.pid = secrets.token_urlsafe(16)
            socket.outbox = Outbox(self.recovery_packets, self.recovery_bytes)
        client.sockets[namespace] = socket
        self.sockets[socket.sid] = socket
        refusal: dict[str, Any] | None = None
        handler = self.connect_handlers.get(namespace)
        if handler is not None:
            try:
                if await handler(socket.sid, environ_from_scope(session.scope), auth) is False:
                    refusal = {"message": "Connection rejected by server"}
            except Exception as exc:
                args = getattr(exc, "error_args", None)
                if not isinstance(args, dict):
                    log.exception("connect handler failed", extra={"sid": socket.sid})
                    args = {"message": "Connection rejected by server"}
                refusal = args
        if refusal is not None:
            self._drop(client, socket)
            for message in codec.encode(codec.CONNECT_ERROR, namespace, refusal):
                session.write(message)
            return
        if session.closed or client.sockets.get(namespace) is not socket:
            # The session closed (or the client left the namespace) while the connect
            # handler ran. The handler accepted the socket, so the application has
            # registered it: it gets the one disconnect that pairs with that connect.
            self._drop(client, socket)
            await self._call_disconnect(socket, socket.left or "transport close")
            return
        socket.connected = True
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None
        reply = {"sid": socket.sid}
        if socket.pid is not None:
            reply["pid"] = socket.pid
            self.by_pid[socket.pid] = socket
        for message in codec.encode(codec.CONNECT, namespace, reply):
            session.write(message)
        if socket.held:
            # A moment between the CONNECT reply and what the handler emitted: Node's
            # server writes the next packet only once the first is written, and a client
            # may start listening for the next message only after it saw the CONNECT
            # (the official suite does; with both in one TCP read it loses the second).
            # Emits made meanwhile keep joining the held list, so the order holds.
            await asyncio.sleep(HELD_EMIT_DELAY)
        held, socket.held = socket.held, None
        for message in held or ():
            session.write(message)

    def _drop(self, client: Client, socket: Socket) -> None:
        if client.sockets.get(socket.namespace) is socket:
            del client.sockets[socket.namespace]
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]
        if socket.pid is not None and self.by_pid.get(socket.pid) is socket:
            del self.by_pid[socket.pid]

    # -- connection-state recovery ---------------------------------------------------

    def _hold(self, client: Client, socket: Socket, reason: str) -> None:
        """The transport dropped: keep the socket (still ``connected``) for the window."""
        if client.sockets.get(socket.namespace) is socket:
            del client.sockets[socket.namespace]
        socket.session = None
        socket.hold_reason = reason
        assert socket.pid is not None
        self.holds.hold(socket.pid, socket, self.engine.clock())
        # One timer per hold; sweep() ends every hold that is due, whoever's timer fires.
        self.engine.call_later(self.recovery_window, self.sweep)
        log.info("socket held", extra={"sid": socket.sid, "reason": reason})

    def sweep(self) -> None:
        """End the holds whose window has passed (their disconnect handlers run)."""
        for socket in self.holds.expired(self.engine.clock()):
            self._give_up(socket)

    def _give_up(self, socket: Socket) -> None:
        if socket.pid is not None:
            self.holds.take(socket.pid)
        self.engine.spawn(self._end_hold(socket, socket.hold_reason or "transport close"))

    async def _end_hold(self, socket: Socket, reason: str) -> None:
        if not socket.connected or socket.session is not None:
            return  # ended already, or resumed meanwhile
        if socket.pid is not None:
            self.holds.take(socket.pid)
            if self.by_pid.get(socket.pid) is socket:
                del self.by_pid[socket.pid]
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]
        socket.connected = False
        log.info("held socket ended", extra={"sid": socket.sid, "reason": reason})
        await self._call_disconnect(socket, reason)

    async def _recover(
        self, session: Session, client: Client, namespace: str, auth: dict[str, Any]
    ) -> bool:
        """Resume the socket named by ``auth['pid']`` on ``session``; False if it cannot be."""
        pid = auth.get("pid")
        socket = self.by_pid.get(pid) if isinstance(pid, str) else None
        if socket is None or socket.namespace != namespace or not socket.connected:
            return False
        if not self.may_resume(socket.sid, environ_from_scope(session.scope), auth):
            return False  # someone else's: a new socket, and this one stays as it was
        assert socket.outbox is not None and socket.pid is not None
        missed = socket.outbox.since(auth.get("offset"))
        old = socket.session
        if old is not None:
            # Its client came back before this server noticed the old transport die.
            old_client: Client = old.state
            if old_client.sockets.get(namespace) is socket:
                del old_client.sockets[namespace]
            socket.session = None
            if not old_client.sockets:
                self.engine.spawn(old.close("replaced"))
        if missed is None:
            # The client cannot be given what it missed: end the old socket now, so the
            # application sees it leave before the new connection's connect handler.
            await self._end_hold(socket, "transport close")
            return False
        self.holds.take(socket.pid)
        socket.session = session
        socket.hold_reason = ""
        client.sockets[namespace] = socket
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None
        reply = {"sid": socket.sid, "pid": socket.pid}
        for message in codec.encode(codec.CONNECT, namespace, reply):
            session.write(message)
        for message in missed:
            session.write(message)
        log.info("socket recovered", extra={"sid": socket.sid, "missed": len(missed)})
        return True

    async def _leave(self, client: Client, socket: Socket, reason: str) -> None:
        self._drop(client, socket)
        if not socket.connected:
            # Still connecting: _connect calls the disconnect handler if the connect
            # handler accepts the socket.
            socket.left = socket.left or reason
            return
        socket.connected = False
        await self._call_disconnect(socket, reason)

    async def _call_disconnect(self, socket: Socket, reason: str) -> None:
        handler = self.disconnect_handlers.get(socket.namespace)
        if handler is not None:
            try:
                await handler(socket.sid, reason)
            except Exception:
                log.exception("disconnect handler failed", extra={"sid": socket.sid})
