"""How an event reaches a socket: the delivery seam.

The lobby decides *what* to send to *which* socket id; a ``Delivery`` gets it
there. ``LocalDelivery`` reaches the sockets this process holds, through the
socket layer (which queues on the recipient's bounded buffer and never waits on
it). A socket id it does not hold is not dropped silently: it is counted in
``randomchat_undelivered_events_total{event}`` and logged, since on one process
it means the socket closed in the meantime, and in a cluster it means the
event needs a cross-process delivery (``routing.ClusterDelivery`` is one behind
this interface, for a cluster node: it appends to the stream of the node that holds
the socket). ``create_app`` builds one or the other and gives it to the gateway.

What a partner sends (signals, chat, typing, media state, the end of the call)
carries its sender, and reaches a socket only inside the call it belongs to, as
that socket was told it: ``CallScope`` keeps, per socket held here, the
partner of the last ``match-found`` or ``call-resumed`` written to it, until a
``partner-left`` or ``partner-disconnected``. The check runs where the event is
written, with no wait in between, so it holds however late the event comes: on
a cluster a signal looked up before its call ended can reach the receiver's node
after the receiver's next ``match-found`` (events of the two calls travel on
different streams and tasks), and a stale ``partner-left`` must not end the new
call on the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from randomchat import sio
from randomchat.metrics import Metrics
from randomchat.protocol import ServerEvent

log = logging.getLogger(__name__)

# Written with the partner as ``source``: from then on, that partner's events reach the socket.
CALL_OPENS = frozenset({ServerEvent.MATCH_FOUND, ServerEvent.CALL_RESUMED})
# Written with the partner as ``source``: the call is over for the socket.
CALL_CLOSES = frozenset({ServerEvent.PARTNER_LEFT, ServerEvent.PARTNER_DISCONNECTED})


class Delivery(Protocol):
    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        """Send ``event`` to socket ``sid``; False if it could not be delivered.

        ``source``: the partner it comes from, or whom a ``match-found`` or
        ``call-resumed`` names; an event from a partner is dropped unless ``sid``
        was last told of a call with that partner (see the module's docstring).
        """

    async def disconnect(self, sid: str) -> None:
        """Close socket ``sid`` (after what was emitted to it before)."""

    def forget(self, sid: str) -> None:
        """``sid`` ended its own call, or its socket closed: from now on nothing of its
        last partner reaches it (and nothing is kept for it)."""

    async def drop(self, sid: str) -> None:
        """Cut socket ``sid``'s transport as if it were lost (a drain): its client
        connects again by itself, through the load balancer to another node."""


class CallScope:
    """The call-scope rule, per socket held here: the partner of the call it was last
    told of, and whether an event may be written to it now (``admits``).

    Written only by ``LocalDelivery``, as it writes call events (``written``), and read
    by the lobby, which relays a socket's signals, chat and media state to this partner
    with no store look-up (``partner``). Whoever keeps per-call state of its own
    subscribes (``subscribe``) and hears of each call that opens or closes on a socket:
    the lobby's relay drops the candidates it holds for it (``Lobby`` subscribes it).

    One entry per socket held here at most, dropped when the call or the socket ends.
    """

    def __init__(self) -> None:
        self._partners: dict[str, str] = {}
        self._observers: list[Callable[[str], None]] = []

    def subscribe(self, observer: Callable[[str], None]) -> None:
        """``observer(sid)`` after each call event written to ``sid`` (its call changed)."""
        self._observers.append(observer)

    def partner(self, sid: str) -> str | None:
        """The partner of the call ``sid`` was last told of, if that call is not over."""
        return self._partners.get(sid)

    def admits(self, sid: str, event: str, source: str | None) -> bool:
        """Whether ``event`` from ``source`` may be written to ``sid`` (module docstring)."""
        if source is None:
            # A close naming no partner is "your partner did not come back" (a resume that
            # expired): about no call a socket has that is in a new call by now.
            return not (event in CALL_CLOSES and sid in self._partners)
        return event in CALL_OPENS or self._partners.get(sid) == source

    def written(self, sid: str, event: str, source: str | None) -> None:
        """``event`` was written to ``sid``: a call opens or closes with it."""
        if event in CALL_OPENS and source is not None:
            self.opens(sid, source)
        elif event in CALL_CLOSES:
            self.closes(sid)

    def opens(self, sid: str, partner: str) -> None:
        self._partners[sid] = partner
        self._changed(sid)

    def closes(self, sid: str) -> None:
        self._partners.pop(sid, None)
        self._changed(sid)

    def forget(self, sid: str) -> None:
        """``sid`` ended its own call, or its socket closed (the lobby knows: no one is told)."""
        self._partners.pop(sid, None)

    def _changed(self, sid: str) -> None:
        for observer in self._observers:
            observer(sid)

    def __len__(self) -> int:
        return len(self._partners)


class LocalDelivery:
    """Delivery to the sockets of this process, inside the call each was told of (``scope``)."""

    def __init__(
        self, server: sio.Server, namespace: str, metrics: Metrics, scope: CallScope
    ) -> None:
        self.server = server
        self.namespace = namespace
        self.metrics = metrics
        self.scope = scope

    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        if not self.scope.admits(sid, event, source):
            return self._undelivered(sid, event, "event of a call that is over")
        if not await self.server.emit(event, data, to=sid, namespace=self.namespace):
            return self._undelivered(sid, event, "event for a socket not held here")
        self.scope.written(sid, event, source)
        return True

    def _undelivered(self, sid: str, event: str, why: str) -> bool:
        self.metrics.undelivered.labels(event).inc()
        log.debug(why, extra={"sid": sid, "event_name": event})
        return False

    def holds(self, sid: str) -> bool:
        """Whether the socket layer here has socket ``sid`` (connected or held)."""
        return sid in self.server.sockets

    def forget(self, sid: str) -> None:
        self.scope.forget(sid)

    def told(self) -> int:
        """How many sockets here are in a call as far as they know (for the leak checks)."""
        return len(self.scope)

    async def disconnect(self, sid: str) -> None:
        await self.server.disconnect(sid, namespace=self.namespace)

    async def drop(self, sid: str) -> None:
        # As a lost transport, not a DISCONNECT: socket.io-client reconnects by itself,
        # and a page's socket is held so that its call can resume (sio.Server.drop).
        await self.server.drop(sid, namespace=self.namespace)
