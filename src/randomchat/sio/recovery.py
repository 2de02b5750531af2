"""Connection-state recovery: the packets a socket may have missed, and sockets on hold.

Socket.IO's mechanism (socket.io 4.6+, socket.io-client 4.6+): the CONNECT
reply carries a private session id ``pid`` beside the ``sid``; every EVENT the
server sends that socket carries one more, last argument, its *offset* (a
string); the client remembers the offset of the last event it handled. When
the transport drops without a clean DISCONNECT, the server keeps the socket
(its sid, its application state, the events sent to it) for a window. A client
that reconnects within it sends ``{pid, offset}`` in its CONNECT auth and gets
the same sid back, then every event after that offset; the application never
saw it leave. Past the window the socket is given up and the namespace's
disconnect handler runs.

In ``sio.Server`` (``recovery_window`` > 0): a socket is held when its transport
drops for a reason in ``RECOVERABLE``; emits to it are kept in its outbox, its
disconnect handler waits. A CONNECT whose auth carries its ``pid`` and an offset
the outbox can answer, within the window, takes the socket over (same sid, no
connect handler) and gets the missed events; a ``pid`` that cannot be recovered
ends the old socket (its disconnect handler runs) before the new connection's
connect handler. The window passing, a server disconnect or an outbox that
drops events while held end it as well. The opt-in keeps clients that cannot
take the extra argument (python-socketio has no recovery) seeing exactly the
packets they always saw.

Who may take a held socket over. The pid alone would be a bearer credential
for someone else's socket (a pid seen in a log, a shared machine, a page's
memory). So before anything else the server asks the application's
``may_resume(sid, environ, auth)``: the app's (``lobby.resume.recovery_guard``)
answers True only for a token of the same user (JWT ``sub``) as the socket's.
Refused, the CONNECT is a fresh connection like any other (its connect handler
decides), and the held socket is untouched: still held, or still connected,
for its own user until its window ends. ``anyone`` (every claim accepted) is the default of the bare
socket layer, which knows no users.

``Recovery`` is the server's side of it: holding, ending and resuming sockets
(``Server`` calls it; it calls the application's ``held`` and ``resumed``
handlers, which ``Server.on_recovery`` registers). A hold is ended by its own
timer, never by comparing the clock with its deadline: uvloop fires a timer up to
a millisecond before ``time.monotonic()`` reaches its due time, and a hold whose
timer found "not yet" was never ended (a ghost user, waiting for good).

The pure part (no asyncio, time passed in):

* ``Outbox``: the last events sent to one socket, with their offsets. It is
  bounded by ``max_packets`` and ``max_bytes`` (characters of text plus bytes
  of binary, as the engine counts). Policy when full: the oldest events are
  dropped. A client whose offset is older than what was dropped can no longer
  be recovered (``since`` answers None) and starts a new session instead; while
  a socket is on hold, any drop means exactly that, so the server gives the
  hold up at once instead of keeping a socket nobody can resume.
* ``Holds``: the sockets on hold, by pid, each with its deadline.

Offsets are decimal strings of a counter per socket, starting at 1: they need
not be secret (the pid, 128 random bits, and the owner check guard the
socket), only ordered.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from randomchat.sio import codec
from randomchat.sio.eio import Message
from randomchat.sio.engine import Session, environ_from_scope
from randomchat.sio.sockets import Client, Move, Socket, State

if TYPE_CHECKING:
    from randomchat.sio.server import Server

log = logging.getLogger(__name__)

RECOVERABLE = frozenset({"transport close", "transport error", "ping timeout"})
"""Engine close reasons after which a socket is held: the client may well come back.

Not recoverable: a DISCONNECT from the client or the server, a protocol or size
violation, the packet budget, a full send buffer (a client that does not read).
"""

MAX_OFFSET_DIGITS = 15  # what a client sends back is bounded before it is parsed

MayResume = Callable[[str, dict[str, Any], Any], bool]
"""``(held sid, environ, CONNECT auth)``: whether this connection may take the socket over."""

RecoveryHandler = Callable[[str], Awaitable[None]]
"""Told a socket id when its transport dropped and it is held, or when it resumed."""


def anyone(sid: str, environ: dict[str, Any], auth: Any) -> bool:
    """No owner check: the pid is the only key (a socket layer that knows no users)."""
    return True


@dataclass(slots=True)
class _Sent:
    offset: int
    messages: list[Message]
    size: int


class Outbox:
    """The newest events sent to one socket, for replay after a reconnection."""

    __slots__ = ("_bytes", "_last", "_sent", "dropped_through", "max_bytes", "max_packets")

    def __init__(self, max_packets: int, max_bytes: int) -> None:
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        # At most max_packets events and max_bytes: past either the oldest go (``add``).
        self._sent: deque[_Sent] = deque()  # bounded: add() drops the oldest past max_*
        self._bytes = 0
        self._last = 0  # the newest offset issued
        self.dropped_through = 0  # every offset up to this one is gone

    def __len__(self) -> int:
        return len(self._sent)

    @property
    def bytes(self) -> int:
        return self._bytes

    def next_offset(self) -> str:
        """The offset for the next event: pass it as the event's last argument, then ``add``."""
        return str(self._last + 1)

    def add(self, messages: list[Message]) -> bool:
        """Keep the event encoded with ``next_offset()``; False if older ones were dropped."""
        self._last += 1
        size = sum(len(message) for message in messages)
        self._sent.append(_Sent(self._last, messages, size))
        self._bytes += size
        kept = True
        while self._sent and (len(self._sent) > self.max_packets or self._bytes > self.max_bytes):
            oldest = self._sent.popleft()
            self._bytes -= oldest.size
            self.dropped_through = oldest.offset
            kept = False
        return kept

    def since(self, offset: object) -> list[Message] | None:
        """Every event after ``offset`` (the client's last), or None if that cannot be told.

        None when the offset is not one we issued, or events after it were dropped.
        A client that handled no event yet sends none (``None``): everything is missed.
        """
        if offset is None:
            after = 0
        elif isinstance(offset, str) and 0 < len(offset) <= MAX_OFFSET_DIGITS and offset.isdigit():
            after = int(offset)
        else:
            return None
        if after > self._last or after < self.dropped_through:
            return None
        return [message for sent in self._sent if sent.offset > after for message in sent.messages]


T = TypeVar("T")


class Holds(Generic[T]):
    """Sockets kept after their transport dropped, by pid, until their deadline."""

    __slots__ = ("_due", "window")

    def __init__(self, window: float) -> None:
        self.window = window
        self._due: dict[str, tuple[float, T]] = {}

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, pid: object) -> bool:
        return pid in self._due

    def hold(self, pid: str, item: T, now: float) -> float:
        """Keep ``item`` until ``now + window``; the deadline."""
        deadline = now + self.window
        self._due[pid] = (deadline, item)
        return deadline

    def take(self, pid: str) -> T | None:
        """Claim a held item (its client is back); None if not held."""
        entry = self._due.pop(pid, None)
        return entry[1] if entry is not None else None

    def expired(self, now: float) -> list[T]:
        """Remove and return the items whose deadline has passed, oldest deadline first."""
        gone = sorted(
            ((deadline, pid) for pid, (deadline, _) in self._due.items() if deadline <= now)
        )
        return [self._due.pop(pid)[1] for _, pid in gone]

    def items(self) -> Iterable[T]:
        return [item for _, item in self._due.values()]


class Recovery:
    """The recoverable sockets of one server: by pid, on hold, resumed, given up."""

    def __init__(self, server: Server, window: float, packets: int, size: int) -> None:
        self.server = server
        self.window = window
        self.packets = packets
        self.bytes = size
        self.by_pid: dict[str, Socket] = {}  # recoverable sockets, live or held
        self.holds: Holds[Socket] = Holds(window)
        self.held_handlers: dict[str, RecoveryHandler] = {}
        self.resumed_handlers: dict[str, RecoveryHandler] = {}

    @property
    def on(self) -> bool:
        return self.window > 0

    def enroll(self, socket: Socket) -> None:
        """A socket whose client asked for recovery: a pid and an outbox."""
        socket.pid = secrets.token_urlsafe(16)
        socket.outbox = Outbox(self.packets, self.bytes)

    def forget(self, socket: Socket) -> None:
        if socket.pid is not None and self.by_pid.get(socket.pid) is socket:
            del self.by_pid[socket.pid]

    async def hold(self, client: Client, socket: Socket, reason: str) -> None:
        """The transport dropped: keep the socket for the window; tell the application."""
        client.detach(socket)
        socket.session = None
        socket.move(Move.HOLD)
        socket.hold_reason = reason
        assert socket.pid is not None
        engine = self.server.engine
        self.holds.hold(socket.pid, socket, engine.clock())
        if socket.lifecycle is None:
            socket.lifecycle = asyncio.Lock()
        socket.hold_timer = engine.call_later(self.window, lambda: self._over(socket))
        log.info("socket held", extra={"sid": socket.sid, "reason": reason})
        held = self.held_handlers.get(socket.namespace)
        if held is not None:
            await socket.transition("held", functools.partial(held, socket.sid))

    def _over(self, socket: Socket) -> None:
        socket.hold_timer = None
        if socket.state is State.HELD:  # not resumed or ended meanwhile
            self.give_up(socket)

    def give_up(self, socket: Socket) -> None:
        """End a hold from code that cannot wait (its timer, an outbox that overflowed)."""
        if socket.pid is not None:
            self.holds.take(socket.pid)
        self.server.engine.spawn(self.end(socket, socket.hold_reason or "transport close"))

    async def end(self, socket: Socket, reason: str) -> None:
        """The hold is over: the socket leaves, and its disconnect handler runs."""
        if socket.state is not State.HELD:
            return  # ended already, or resumed meanwhile
        socket.cancel_hold_timer()
        if socket.pid is not None:
            self.holds.take(socket.pid)
        self.forget(socket)
        if self.server.sockets.get(socket.sid) is socket:
            del self.server.sockets[socket.sid]
        socket.move(Move.LEAVE)
        log.info("held socket ended", extra={"sid": socket.sid, "reason": reason})
        await self.server.call_disconnect(socket, reason)

    async def resume(
        self, session: Session, client: Client, namespace: str, auth: dict[str, Any]
    ) -> bool:
        """Resume the socket named by ``auth['pid']`` on ``session``; False if it cannot be."""
        pid = auth.get("pid")
        socket = self.by_pid.get(pid) if isinstance(pid, str) else None
        if socket is None or socket.namespace != namespace or not socket.connected:
            return False
        if not self.server.may_resume(socket.sid, environ_from_scope(session.scope), auth):
            return False  # someone else's: a new socket, and this one stays as it was
        assert socket.outbox is not None and socket.pid is not None
        missed = socket.outbox.since(auth.get("offset"))
        old = socket.session
        if old is not None:
            # Its client came back before this server noticed the old transport die.
            old_client: Client = old.handler_data
            old_client.detach(socket)
            socket.session = None
            socket.move(Move.HOLD)
            if not old_client.sockets:
                self.server.engine.spawn(old.close("replaced"))
        if missed is None:
            # The client cannot be given what it missed: end the old socket now, so the
            # application sees it leave before the new connection's connect handler.
            await self.end(socket, "transport close")
            return False
        self.holds.take(socket.pid)
        socket.cancel_hold_timer()
        socket.session = session
        socket.move(Move.RESUME)
        socket.hold_reason = ""
        client.sockets[namespace] = socket
        client.stop_connect_timer()
        reply = {"sid": socket.sid, "pid": socket.pid}
        for message in codec.encode(codec.CONNECT, namespace, reply):
            session.write(message)
        for message in missed:
            session.write(message)
        log.info("socket recovered", extra={"sid": socket.sid, "missed": len(missed)})
        resumed = self.resumed_handlers.get(namespace)
        if old is None and resumed is not None:  # it was held: the application was told
            await socket.transition("resumed", functools.partial(resumed, socket.sid))
        return True
