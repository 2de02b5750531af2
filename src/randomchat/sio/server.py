"""The Socket.IO v5 server: namespaces, handlers, emits, on top of ``engine``.

The API is the part of python-socketio's ``AsyncServer`` that the gateway
uses: ``on(event, handler, namespace)`` (with ``connect``, ``disconnect`` and
the catch-all ``*``), ``emit(event, data, to=sid, namespace=...)`` and
``disconnect(sid, namespace=...)``. Handlers run inline in the connection's
reader loop, in the order the client sent the packets (python-socketio's
``async_handlers=False``); an emit encodes the packet once and writes it to
the recipient's transport in the caller's task.

A connect handler refuses a connection by raising an exception that carries
``error_args`` (``{"message": ..., "data": ...}``): ``ConnectionRefusedError``
below, or python-socketio's, so that one gateway serves both layers. Emits to
a socket whose connect handler is still running are held and sent after the
CONNECT reply.

Scale-out: a socket id is only known to the process that holds its
connection; ``emit(to=sid)`` returns whether it was delivered here, so a
later cross-process manager can publish the emit to the owning node instead.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat.sio import codec
from randomchat.sio.codec import Decoder, Packet
from randomchat.sio.eio import Message, PacketError
from randomchat.sio.engine import Engine, OriginCheck, Session, environ_from_scope

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

    __slots__ = ("connected", "held", "namespace", "session", "sid")

    def __init__(self, sid: str, namespace: str, session: Session) -> None:
        self.sid = sid
        self.namespace = namespace
        self.session = session
        self.connected = False
        self.held: list[Message] | None = None  # emits while the connect handler runs

    async def send(self, messages: list[Message]) -> None:
        if not self.connected:
            if self.held is None:
                self.held = []
            self.held.extend(messages)
            return
        for message in messages:
            await self.session.send(message)


class Client:
    """Per Engine.IO session: its sockets by namespace, and its packet decoder."""

    __slots__ = ("connect_timer", "decoder", "sockets")

    def __init__(self) -> None:
        self.sockets: dict[str, Socket] = {}
        self.decoder = Decoder()
        self.connect_timer: asyncio.TimerHandle | None = None


def _origin_check(origins: Origins) -> OriginCheck | None:
    if origins is None or callable(origins):
        return origins
    if origins == "*":
        return None
    allowed = {origins} if isinstance(origins, str) else set(origins)
    return lambda origin, environ: origin is None or origin in allowed


class Server:
    def __init__(
        self,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_http_buffer_size: int = 1_000_000,
        cors_allowed_origins: Origins = "*",
        connect_timeout: float = 45.0,
    ) -> None:
        self.engine = Engine(
            self,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_payload=max_http_buffer_size,
            origin_check=_origin_check(cors_allowed_origins),
        )
        self.connect_timeout = connect_timeout
        self.handlers: dict[str, dict[str, EventHandler]] = {}
        self.sockets: dict[str, Socket] = {}  # socket id -> socket

    def on(
        self, event: str, handler: EventHandler | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` in ``namespace``; without it, a decorator."""
        events = self.handlers.setdefault(namespace or "/", {})
        if handler is not None:
            events[event] = handler
            return None

        def register(func: EventHandler) -> EventHandler:
            events[event] = func
            return func

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
        """
        namespace = namespace or "/"
        args = [] if data is None else list(data) if isinstance(data, tuple) else [data]
        messages = codec.encode_event(namespace, event, args)
        target = to or room
        if target is None:
            for socket in list(self.sockets.values()):
                if socket.namespace == namespace and socket.connected:
                    await socket.send(messages)
            return True
        found = self.sockets.get(target)
        if found is None or found.namespace != namespace:
            return False
        await found.send(messages)
        return True

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """Disconnect a socket from its namespace; the connection closes with its last one."""
        socket = self.sockets.get(sid)
        if socket is None or socket.namespace != (namespace or "/"):
            return
        session = socket.session
        client: Client = session.state
        if socket.connected:
            for message in codec.encode(codec.DISCONNECT, socket.namespace):
                await session.send(message)
        await self._leave(client, socket, "server disconnect")
        if not client.sockets:
            await session.close("server disconnect", linger=True)

    # -- Engine.IO handler -----------------------------------------------------------

    def on_open(self, session: Session) -> None:
        client = Client()
        session.state = client
        loop = asyncio.get_running_loop()
        client.connect_timer = loop.call_later(self.connect_timeout, self._connect_timeout, session)

    def _connect_timeout(self, session: Session) -> None:
        client: Client = session.state
        client.connect_timer = None
        if not client.sockets:
            self.engine.spawn(session.close("connect timeout"))

    async def on_close(self, session: Session, reason: str) -> None:
        client: Client | None = session.state
        if client is None:
            return
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None
        for socket in list(client.sockets.values()):
            await self._leave(client, socket, reason)

    async def on_message(self, session: Session, message: Message) -> None:
        client: Client = session.state
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
        # ACK: the server asks for none, so there is nothing to match it to.

    async def _event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        handlers = self.handlers[socket.namespace]
        try:
            handler = handlers.get(event)
            if handler is not None:
                result = await handler(socket.sid, *args)
            elif (catch_all := handlers.get("*")) is not None:
                result = await catch_all(event, socket.sid, *args)
            else:
                result = None
        except PacketError:
            raise
        except Exception:
            log.exception("event handler failed", extra={"sid": socket.sid, "event": event})
            return
        if packet.id is not None:
            data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
            await socket.send(codec.encode(codec.ACK, socket.namespace, data, packet.id))

    async def _connect(self, session: Session, client: Client, packet: Packet) -> None:
        namespace = packet.namespace
        handlers = self.handlers.get(namespace)
        if handlers is None:
            error = {"message": "Invalid namespace"}
            for message in codec.encode(codec.CONNECT_ERROR, namespace, error):
                await session.send(message)
            return
        if namespace in client.sockets:
            return  # already connected (or connecting) to it
        if client.connect_timer is not None:
            client.connect_timer.cancel()
            client.connect_timer = None
        socket = Socket(secrets.token_urlsafe(15), namespace, session)
        client.sockets[namespace] = socket
        self.sockets[socket.sid] = socket
        refusal: dict[str, Any] | None = None
        handler = handlers.get("connect")
        if handler is not None:
            auth = packet.data if packet.data is not None else {}
            try:
                if await handler(socket.sid, environ_from_scope(session.scope), auth) is False:
                    refusal = {"message": "Connection rejected by server"}
            except Exception as exc:
                args = getattr(exc, "error_args", None)
                if not isinstance(args, dict):
                    log.exception("connect handler failed", extra={"sid": socket.sid})
                    args = {"message": "Connection rejected by server"}
                refusal = args
        if session.closed or client.sockets.get(namespace) is not socket:
            self._drop(client, socket)
            return
        if refusal is not None:
            self._drop(client, socket)
            for message in codec.encode(codec.CONNECT_ERROR, namespace, refusal):
                await session.send(message)
            return
        socket.connected = True
        for message in codec.encode(codec.CONNECT, namespace, {"sid": socket.sid}):
            await session.send(message)
        held, socket.held = socket.held, None
        if held:
            # A moment between the CONNECT reply and what the handler emitted: Node's
            # server writes the next packet only once the first is written, and a client
            # may start listening for the next message only after it saw the CONNECT
            # (the official suite does; with both in one TCP read it loses the second).
            await asyncio.sleep(HELD_EMIT_DELAY)
            for message in held:
                await session.send(message)

    def _drop(self, client: Client, socket: Socket) -> None:
        if client.sockets.get(socket.namespace) is socket:
            del client.sockets[socket.namespace]
        if self.sockets.get(socket.sid) is socket:
            del self.sockets[socket.sid]

    async def _leave(self, client: Client, socket: Socket, reason: str) -> None:
        self._drop(client, socket)
        was_connected, socket.connected = socket.connected, False
        if not was_connected:
            return
        handler = self.handlers[socket.namespace].get("disconnect")
        if handler is not None:
            try:
                await handler(socket.sid, reason)
            except Exception:
                log.exception("disconnect handler failed", extra={"sid": socket.sid})
