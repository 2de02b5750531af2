"""One Engine.IO session: its phase, its transport, its output buffer, heartbeat and close.

A session is in one of four phases (``Phase``), and only the session changes
it, through ``MOVES``, the one table of what may follow what (h11's rule: all
that moves the state is here): OPEN, UPGRADING (on polling, a WebSocket for its
sid has connected), PROBED (that WebSocket was answered ``3probe``) and CLOSED.
The named moves are ``begin_upgrade``, ``probed``, ``upgraded`` (the session is
then on that WebSocket), ``end_upgrade`` (an upgrade that failed: back to OPEN on
polling) and ``close``/``abort``. The transport is an object
(``transports.Polling`` or ``transports.WebSocket``) holding its own flags.

``write`` only appends to the output buffer (a deque, bounded by
``send_buffer_bytes``) and wakes the WebSocket writer or the open GET; it never
awaits. The engine module's docstring has the limits and the close policy.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from randomchat.sio.budget import Budget
from randomchat.sio.eio import CLOSE, MESSAGE, NOOP, PING, PONG, UPGRADE, Message, PacketError
from randomchat.sio.scope import Scope
from randomchat.sio.transports import Polling, Reader, Send, Transport, WebSocket

if TYPE_CHECKING:
    from randomchat.sio.engine import Engine

log = logging.getLogger(__name__)


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


class Step(enum.Enum):
    BEGIN_UPGRADE = "begin upgrade"  # a WebSocket connected with a polling session's sid
    PROBE = "probe"  # it sent ``2probe`` and was answered
    UPGRADE = "upgrade"  # it sent ``5``: the session moves onto it
    ABANDON = "abandon"  # the upgrade failed, timed out, or its WebSocket went away
    CLOSE = "close"


MOVES: dict[tuple[Phase, Step], Phase] = {
    (Phase.OPEN, Step.BEGIN_UPGRADE): Phase.UPGRADING,
    (Phase.UPGRADING, Step.PROBE): Phase.PROBED,
    (Phase.PROBED, Step.UPGRADE): Phase.OPEN,
    (Phase.UPGRADING, Step.ABANDON): Phase.OPEN,
    (Phase.PROBED, Step.ABANDON): Phase.OPEN,
    (Phase.OPEN, Step.CLOSE): Phase.CLOSED,
    (Phase.UPGRADING, Step.CLOSE): Phase.CLOSED,
    (Phase.PROBED, Step.CLOSE): Phase.CLOSED,
}
"""Every change of a session's phase. A step not listed is a bug in the engine."""

UPGRADING = (Phase.UPGRADING, Phase.PROBED)


class Session:
    __slots__ = (
        "_awaiting_pong",
        "_budget",
        "_out",
        "_out_bytes",
        "_timer",
        "_upgrade_timer",
        "engine",
        "handler_data",
        "phase",
        "reader",
        "scope",
        "sid",
        "wire",
    )

    def __init__(self, engine: Engine, sid: str, scope: Scope) -> None:
        self.engine = engine
        self.sid = sid
        self.scope = scope
        self.handler_data: Any = None  # the handler's per-session object
        self.phase = Phase.OPEN
        self.wire: Transport = Polling()  # a WebSocket session's is set by start_websocket
        self.reader: Reader | None = None  # the WebSocket's task: the reader, or a prober
        # Engine.IO packets not yet written: text with its type character, or binary.
        # Bounded by bytes (``_out_bytes`` against ``send_buffer_bytes`` in ``_push``):
        # past the bound the session is closed, never the sender stalled.
        self._out: deque[Message] = deque()  # bounded: _push aborts past send_buffer_bytes
        self._out_bytes = 0
        # The heartbeat; once closed, the WebSocket drain deadline or the polling linger.
        self._timer: Timer | None = None
        self._upgrade_timer: Timer | None = None
        self._awaiting_pong = False
        rate = engine.packets_per_second
        self._budget = Budget(rate, engine.packet_burst, engine.clock()) if rate > 0 else None

    @property
    def on_websocket(self) -> bool:
        """On a WebSocket whose peer was not found gone."""
        return isinstance(self.wire, WebSocket) and not self.wire.broken

    @property
    def transport(self) -> str:
        return "websocket" if self.on_websocket else "polling"

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    @property
    def upgrading(self) -> bool:
        return self.phase in UPGRADING

    @property
    def buffered(self) -> int:
        """Characters and bytes queued for the client and not yet written."""
        return self._out_bytes

    @property
    def queued(self) -> bool:
        return bool(self._out)

    def _move(self, step: Step) -> None:
        self.phase = MOVES[(self.phase, step)]

    # -- sending ---------------------------------------------------------------

    def write(self, message: Message) -> None:
        """Queue one Engine.IO message (text without its ``4``, or binary); never waits."""
        self._push(MESSAGE + message if isinstance(message, str) else message)

    async def send(self, message: Message) -> None:
        """``write``, for callers that expect a coroutine (the protocol suites' echo)."""
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
        self.wire.wake()

    def take_all(self) -> list[Message]:
        queued = list(self._out)
        self._out.clear()
        self._out_bytes = 0
        return queued

    def start_websocket(self, send: Send, first: str) -> None:
        """A session opened on this WebSocket: the reader is this task; ``first`` goes first."""
        self.reader = Reader()
        self._out.append(first)
        self._start_writer(send)

    def _start_writer(self, send: Send) -> None:
        wire = self.wire = WebSocket(send)
        wire.writer = asyncio.get_running_loop().create_task(self._write(wire))

    async def _write(self, wire: WebSocket) -> None:
        """The one writer of a WebSocket session: drains the buffer in order."""
        out = self._out
        send = wire.send
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
                    if wire.close_frame:
                        await send({"type": "websocket.close", "code": 1000})
                    return
                else:
                    wire.waiter = loop.create_future()
                    await wire.waiter
                    wire.waiter = None
        except Exception:  # the peer is gone (ClientDisconnected and the like)
            wire.broken = True
            self.abort("transport error")
        finally:
            if self._timer is not None and self.phase is Phase.CLOSED:
                self._timer.cancel()  # the drain deadline
                self._timer = None

    async def writer_done(self) -> None:
        if isinstance(self.wire, WebSocket):
            await self.wire.done()

    def _stop_writer(self) -> None:
        self._timer = None
        if isinstance(self.wire, WebSocket):
            self.wire.stop()

    def _kick(self) -> None:
        """Interrupt the WebSocket task if it is waiting for its client (never a handler)."""
        if self.reader is not None:
            self.reader.kick()

    # -- heartbeat -------------------------------------------------------------

    def start_heartbeat(self) -> None:
        self._arm(self.engine.ping_interval)

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

    def begin_upgrade(self) -> None:
        """A WebSocket (this task) connected with this polling session's sid."""
        self._move(Step.BEGIN_UPGRADE)
        self.reader = Reader()
        self.reader.parked = True  # it runs no handler until the upgrade is done
        engine = self.engine
        self._upgrade_timer = engine.call_later(engine.upgrade_timeout, self._upgrade_timed_out)

    def _upgrade_timed_out(self) -> None:
        self._upgrade_timer = None
        self._kick()  # the prober ends the upgrade (end_upgrade)

    def probed(self) -> None:
        """It was answered ``3probe``: the GET open now answers a noop, so the client pauses."""
        self._move(Step.PROBE)
        self.wire.wake()

    def upgraded(self, send: Send) -> None:
        """It sent ``5``: an open GET answers a noop, and the buffer goes to the WebSocket."""
        self._move(Step.UPGRADE)
        self.wire.wake()
        self._start_writer(send)

    def end_upgrade(self, upgraded: bool) -> None:
        """The upgrade is over; failed, the session stays (or is CLOSED) on polling."""
        if self.reader is not None:
            self.reader.parked = False
        if self._upgrade_timer is not None:
            self._upgrade_timer.cancel()
            self._upgrade_timer = None
        if not upgraded:
            self.reader = None
            if self.phase in UPGRADING:
                self._move(Step.ABANDON)

    # -- receiving -------------------------------------------------------------

    def take_token(self) -> bool:
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
        request gets HTTP 400. Over WebSocket, see the engine's docstring; ``abort``
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
        self._move(Step.CLOSE)
        if self._upgrade_timer is not None:
            self._upgrade_timer.cancel()
            self._upgrade_timer = None
        wire = self.wire
        if isinstance(wire, WebSocket) and not wire.broken:
            self.forget()
            if not linger or abort:
                self.take_all()
            wire.close_frame = not abort
            if abort:
                self._stop_writer()
            else:  # the writer drains, sends the close frame, and is stopped if it cannot
                self._timer = self.engine.call_later(self.engine.ping_timeout, self._stop_writer)
                wire.wake()
            self._kick()
            return True
        # Polling (or a WebSocket whose writer found the peer gone: nothing is written).
        self._kick()  # a probing WebSocket, if any
        poll = wire.waiter if isinstance(wire, Polling) else None
        if by_client:
            self.take_all()
            self._out.append(NOOP)
        elif linger:
            self._out.append(CLOSE)
        else:
            self.take_all()
            if poll is not None:
                self._out.append(CLOSE)
        if poll is not None or not self._out:
            wire.wake()
            self.forget()
        else:  # keep the session until the next GET collects it, or a timeout
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.engine.call_later(self.engine.ping_timeout, self.forget)
        return True

    def forget(self) -> None:
        """Out of the engine's table: its sid is unknown from now on."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.engine.sessions.get(self.sid) is self:
            del self.engine.sessions[self.sid]
