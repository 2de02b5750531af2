"""The Socket.IO v5 server: namespaces, handlers, emits, on top of ``engine``.

The API is the part of python-socketio's ``AsyncServer`` that the gateway
uses: ``on(event, handler, namespace)`` (with ``connect``, ``disconnect`` and
the catch-all ``*``), ``emit(event, data, to=sid, namespace=...)`` and
``disconnect(sid, namespace=...)``. Handlers run inline in the connection's
reader loop, in the order the client sent the packets (python-socketio's
``async_handlers=False``). An emit encodes the packet once and appends it to
the recipient session's output buffer: it never waits for the recipient (see
``engine`` for the buffer's bound and what happens when it fills).

The handlers' slots, and how a connect handler refuses, are in ``handlers``.
Whenever a connect handler returns success, exactly one call
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
A socket's states and the order its handlers run in are ``sockets``'.

Scale-out: a socket id is only known to the process that holds its
connection; ``emit(to=sid)`` returns whether it was delivered here (a cluster's
delivery, ``routing.ClusterDelivery``, publishes the others to their node).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from randomchat.sio import codec
from randomchat.sio.codec import Decoder, Packet
from randomchat.sio.eio import Message, PacketError
from randomchat.sio.engine import CallLater, Engine, Session, environ_from_scope
from randomchat.sio.handlers import HandlerTable
from randomchat.sio.recovery import (
    RECOVERABLE,
    Holds,
    MayResume,
    Recovery,
    RecoveryHandler,
    anyone,
)
from randomchat.sio.scope import Origins, origin_check
from randomchat.sio.sockets import Client, Move, Socket, State

log = logging.getLogger(__name__)

HELD_EMIT_DELAY = 0.001  # seconds; see _connect


class Server(HandlerTable):
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
            origin_check=origin_check(cors_allowed_origins),
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
        HandlerTable.__init__(self)
        self.sockets: dict[str, Socket] = {}  # socket id -> socket
        self.recovery = Recovery(self, recovery_window, recovery_packets, recovery_bytes)
        self.may_resume: MayResume = anyone  # the application's owner check (recovery)
        self.holds: Holds[Socket] = self.recovery.holds  # (the same objects, for tests)
        self.by_pid: dict[str, Socket] = self.recovery.by_pid

    def on_recovery(self, namespace: str, held: RecoveryHandler, resumed: RecoveryHandler) -> None:
        """Be told when a socket of ``namespace`` is held (its transport dropped) and when
        it resumed. Either comes after every event handler of the socket in flight has
        returned, and the two, and the disconnect handler that ends a hold, run one at a
        time in the order the socket went through them."""
        self.recovery.held_handlers[namespace] = held
        self.recovery.resumed_handlers[namespace] = resumed

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
        if not outbox.add(messages) and socket.state is State.HELD:
            # Missed events were dropped: the client can no longer resume this socket.
            self.recovery.give_up(socket)
            return
        socket.deliver(messages)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """Disconnect a socket from its namespace; the connection closes with its last one."""
        socket = self.sockets.get(sid)
        if socket is None or socket.namespace != (namespace or "/"):
            return
        session = socket.session
        if session is None:  # on hold: nobody to tell
            await self.recovery.end(socket, "server disconnect")
            return
        client: Client = session.handler_data
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
        session.handler_data = Client(Decoder(self.max_attachments, self.max_attachment_bytes))
        self._arm_connect_timer(session)

    def _arm_connect_timer(self, session: Session) -> None:
        client: Client = session.handler_data
        if client.connect_timer is None and not session.closed:
            client.connect_timer = session.engine.call_later(
                self.connect_timeout, lambda: self._connect_timeout(session)
            )

    def _connect_timeout(self, session: Session) -> None:
        client: Client = session.handler_data
        client.connect_timer = None
        if not client.connected():
            self.engine.spawn(session.close("connect timeout"))

    async def on_close(self, session: Session, reason: str) -> None:
        client: Client | None = session.handler_data
        if client is None:
            return
        client.stop_connect_timer()
        for socket in list(client.sockets.values()):
            if socket.state is State.CONNECTED and socket.pid is not None and reason in RECOVERABLE:
                await self.recovery.hold(client, socket, reason)
            else:
                await self._leave(client, socket, reason)

    async def on_message(self, session: Session, message: Message) -> None:
        client: Client = session.handler_data
        # Cheap state check before any parsing: binary packets are for connected sockets.
        if (isinstance(message, bytes) or message[:1] in ("5", "6")) and not client.connected():
            raise PacketError("binary packet before a namespace CONNECT")
        packet = client.decoder.feed(message)
        if packet is None:
            return
        kind = packet.type
        if kind == codec.EVENT:
            socket = client.sockets.get(packet.namespace)
            if socket is not None and socket.state is State.CONNECTED:
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
        turn = socket.handling()
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
        finally:
            socket.handled(turn)
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
        recovery = self.recovery
        if recovery.on and isinstance(auth, dict) and "pid" in auth:
            if await recovery.resume(session, client, namespace, auth):
                return
            if session.closed or namespace in client.sockets:
                return  # gone, or connected meanwhile, while the old socket was ended
        socket = Socket(self.sid_prefix + secrets.token_urlsafe(15), namespace, session)
        if recovery.on and isinstance(auth, dict) and auth.get("recover") is True:
            recovery.enroll(socket)
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
            if socket.state is State.CONNECTING:
                socket.move(Move.LEAVE)
            await self.call_disconnect(socket, socket.left or "transport close")
            return
        socket.move(Move.ACCEPT)
        client.stop_connect_timer()
        reply = {"sid": socket.sid}
        if socket.pid is not None:
            reply["pid"] = socket.pid
            recovery.by_pid[socket.pid] = socket
        for message in codec.encode(codec.CONNECT, namespace, reply):
            session.write(message)
        if socket.pending:
            # A moment between the CONNECT reply and what the handler emitted: Node's
            # server writes the next packet only once the first is written, and a client
            # may start listening for the next message only after it saw the CONNECT
            # (the official suite does; with both in one TCP read it loses the second).
            # Emits made meanwhile keep joining the held list, so the order holds.
            await asyncio.sleep(HELD_EMIT_DELAY)
        pending, socket.pending = socket.pending, None
        for message in pending or ():
            session.write(message)

    def _drop(self, client: Client, socket: Socket) -> None:
        client.detach(socket)
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]
        self.recovery.forget(socket)

    async def _leave(self, client: Client, socket: Socket, reason: str) -> None:
        self._drop(client, socket)
        if socket.state is State.LEFT:
            return
        connecting = socket.state is State.CONNECTING
        socket.move(Move.LEAVE)
        if connecting:
            # _connect calls the disconnect handler if the connect handler accepts it.
            socket.left = reason
            return
        await self.call_disconnect(socket, reason)

    async def call_disconnect(self, socket: Socket, reason: str) -> None:
        """The namespace's disconnect handler, in the socket's turn (``Socket.transition``)."""
        handler = self.disconnect_handlers.get(socket.namespace)
        if handler is not None:
            await socket.transition("disconnect", lambda: handler(socket.sid, reason))
