"""A client's socket in one namespace: its state, its moves, and its handlers' turns.

A socket is in one of four states (``State``), and only ``Socket.move`` changes
it, through ``MOVES``, the one table of what may follow what:

* CONNECTING: its CONNECT is being judged by the connect handler. Emits to it
  are kept (``pending``) until the CONNECT reply is out.
* CONNECTED: accepted; its events are dispatched, emits reach its session.
* HELD: accepted, but its transport dropped and it waits for its client to
  come back (``recovery``): it has no session; events for it wait in its outbox.
* LEFT: gone for good; nothing reaches it any more. A socket that leaves while
  it is still CONNECTING keeps why (``left``): the connect handler may still
  accept it, and then its disconnect handler runs at once with that reason.

Handlers of one socket take turns: a lifecycle handler (hold, resume,
disconnect) starts only once no event handler of the socket is running
(``quiet``), and lifecycle handlers run one at a time in the order their moves
happened (``lifecycle``, made at the first hold: a socket that never drops never
needs it). The exception is a task that is running an event handler (one that
disconnects its own socket would wait for itself; two that kicked each other's
users would wait for each other): it does not wait.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from randomchat.sio.eio import Message

if TYPE_CHECKING:  # recovery imports this module
    from randomchat.sio.codec import Decoder
    from randomchat.sio.recovery import Outbox
    from randomchat.sio.session import Session, Timer

log = logging.getLogger(__name__)


class State(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    HELD = "held"
    LEFT = "left"


class Move(enum.Enum):
    ACCEPT = "accept"  # the connect handler accepted it
    HOLD = "hold"  # its transport dropped (or its client came back on another)
    RESUME = "resume"  # its client is back, on a new session
    LEAVE = "leave"  # a DISCONNECT either way, a transport that cannot be recovered, a hold over


MOVES: dict[tuple[State, Move], State] = {
    (State.CONNECTING, Move.ACCEPT): State.CONNECTED,
    (State.CONNECTING, Move.LEAVE): State.LEFT,
    (State.CONNECTED, Move.HOLD): State.HELD,
    (State.CONNECTED, Move.LEAVE): State.LEFT,
    (State.HELD, Move.RESUME): State.CONNECTED,
    (State.HELD, Move.LEAVE): State.LEFT,
}
"""Every change of a socket's state. A move not listed is a bug in the server."""

# The tasks running an event handler now (see ``Socket.quiet``): one entry per reader in
# a handler, so bounded by the connections. A task, not a context variable: a task spawned
# from a handler (a close after a full buffer) runs no handler, and may wait.
_handling: set[asyncio.Task[Any]] = set()


class Socket:
    """One client's membership of one namespace."""

    __slots__ = (
        "_active",
        "_idle",
        "hold_reason",
        "hold_timer",
        "left",
        "lifecycle",
        "namespace",
        "outbox",
        "pending",
        "pending_bytes",
        "pid",
        "session",
        "sid",
        "state",
    )

    def __init__(self, sid: str, namespace: str, session: Session) -> None:
        self.sid = sid
        self.namespace = namespace
        self.state = State.CONNECTING
        self.session: Session | None = session  # None while HELD
        self.pid: str | None = None  # set when the client asked for recovery
        self.outbox: Outbox | None = None
        self.hold_reason = ""
        self.hold_timer: Timer | None = None  # ends this hold, whatever the clock says
        # Emits kept until the CONNECT reply is out (None once they are flushed).
        self.pending: list[Message] | None = []
        self.pending_bytes = 0
        self.left: str | None = None  # why it left while its connect handler ran
        self._active = 0  # its event handlers in flight
        self._idle: asyncio.Future[None] | None = None  # woken when _active drops to 0
        self.lifecycle: asyncio.Lock | None = None

    @property
    def connected(self) -> bool:
        """Accepted and not gone: its events are handled (CONNECTED), or kept (HELD)."""
        return self.state is State.CONNECTED or self.state is State.HELD

    def move(self, move: Move) -> None:
        self.state = MOVES[(self.state, move)]

    def deliver(self, messages: list[Message]) -> None:
        """Queue an encoded packet for this socket's client; never waits.

        On hold there is no client: an event is in the outbox already (see
        ``Server.emit``), anything else would be meaningless after a reconnection.
        """
        session = self.session
        if session is None:
            return
        pending = self.pending
        if pending is None:
            for message in messages:
                session.write(message)
            return
        pending.extend(messages)
        self.pending_bytes += sum(len(message) for message in messages)
        if self.pending_bytes > session.engine.send_buffer_bytes:
            session.abort("send buffer full")

    def cancel_hold_timer(self) -> None:
        if self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None

    # -- turns ------------------------------------------------------------------------

    def handling(self) -> asyncio.Task[Any] | None:
        """An event handler of this socket starts (in this task); then call ``handled``."""
        self._active += 1
        task = asyncio.current_task()
        if task is None or task in _handling:
            return None  # (nested: the outer handler's ``handled`` takes it out)
        _handling.add(task)
        return task

    def handled(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None:
            _handling.discard(task)
        self._active -= 1
        if not self._active and self._idle is not None:
            self._idle.set_result(None)
            self._idle = None

    async def quiet(self) -> None:
        """Wait until no event handler of this socket runs, unless this task runs one.

        A handler still running for a socket that left would act on a connection
        the application has forgotten (a search after the disconnect, a KeyError).
        Only tasks outside any event handler wait (closes, hold timers, recovery),
        and an event handler never waits for them, so no wait goes round in a circle.
        """
        if asyncio.current_task() in _handling:
            return
        while self._active:
            if self._idle is None:
                self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    async def transition(self, what: str, call: Callable[[], Awaitable[Any]]) -> None:
        """Run a lifecycle handler in its turn (see the module docstring); log its failure."""
        try:
            await self.quiet()
            lock = self.lifecycle
            if lock is None:
                await call()
            else:
                async with lock:
                    await call()
        except Exception:
            log.exception(f"{what} handler failed", extra={"sid": self.sid})


class Client:
    """Per Engine.IO session: its sockets by namespace, and its packet decoder."""

    __slots__ = ("connect_timer", "decoder", "sockets")

    def __init__(self, decoder: Decoder) -> None:
        self.sockets: dict[str, Socket] = {}
        self.decoder = decoder
        self.connect_timer: Timer | None = None

    def connected(self) -> bool:
        return any(socket.connected for socket in self.sockets.values())

    def stop_connect_timer(self) -> None:
        if self.connect_timer is not None:
            self.connect_timer.cancel()
            self.connect_timer = None

    def detach(self, socket: Socket) -> None:
        if self.sockets.get(socket.namespace) is socket:
            del self.sockets[socket.namespace]
