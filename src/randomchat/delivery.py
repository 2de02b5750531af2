"""How an event reaches a socket: the delivery seam.

The lobby decides *what* to send to *which* socket id; a ``Delivery`` gets it
there. ``LocalDelivery`` reaches the sockets this process holds, through the
socket layer (which queues on the recipient's bounded buffer and never waits on
it). A socket id it does not hold is not dropped silently: it is counted in
``randomchat_undelivered_events_total{event}`` and logged, since on one process
it means the socket closed in the meantime, and in a cluster it means the
event needs a cross-process delivery (``randomchat.cluster`` adds one behind
this interface, publishing to the node that holds the socket).

What a partner sends (signals, chat, typing, media state, the end of the call)
carries its sender, and reaches a socket only inside the call it belongs to, as
that socket was told it: ``LocalDelivery`` keeps, per socket it holds, the
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


class Told:
    """Per socket held here, the partner of the call it was last told of: written only
    by ``LocalDelivery`` (as it writes call events), read by the lobby, which relays a
    socket's signals, chat and media state to this partner with no store look-up.

    One entry per socket held here at most, dropped when the call or the socket ends.
    """

    def __init__(self) -> None:
        self._partners: dict[str, str] = {}

    def partner(self, sid: str) -> str | None:
        return self._partners.get(sid)

    def opened(self, sid: str, partner: str) -> None:
        self._partners[sid] = partner

    def closed(self, sid: str) -> None:
        self._partners.pop(sid, None)

    def __len__(self) -> int:
        return len(self._partners)


class LocalDelivery:
    """Delivery to the sockets of this process."""

    def __init__(
        self,
        server: sio.Server,
        namespace: str,
        metrics: Metrics,
        call_changed: Callable[[str], None] = lambda sid: None,
        told: Told | None = None,
    ) -> None:
        self.server = server
        self.namespace = namespace
        self.metrics = metrics
        # Told after a call event is written to a socket (the lobby's relay drops the
        # candidates it holds for it).
        self.call_changed = call_changed
        self._told = told if told is not None else Told()

    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        opens, closes = event in CALL_OPENS, event in CALL_CLOSES
        if source is None:
            # A close naming no partner is "your partner did not come back" (a resume that
            # expired): about no call a socket has that is in a new call by now.
            over = closes and self._told.partner(sid) is not None
        else:
            over = not opens and self._told.partner(sid) != source
        if over:
            return self._undelivered(sid, event, "event of a call that is over")
        if not await self.server.emit(event, data, to=sid, namespace=self.namespace):
            return self._undelivered(sid, event, "event for a socket not held here")
        if opens and source is not None:
            self._told.opened(sid, source)
            self.call_changed(sid)
        elif closes:
            self._told.closed(sid)
            self.call_changed(sid)
        return True

    def _undelivered(self, sid: str, event: str, why: str) -> bool:
        self.metrics.undelivered.labels(event).inc()
        log.debug(why, extra={"sid": sid, "event_name": event})
        return False

    def forget(self, sid: str) -> None:
        self._told.closed(sid)

    def partner_told(self, sid: str) -> str | None:
        """The partner of the call ``sid`` was last told of, if that call is not over."""
        return self._told.partner(sid)

    def told(self) -> int:
        """How many sockets here are in a call as far as they know (for the leak checks)."""
        return len(self._told)

    async def disconnect(self, sid: str) -> None:
        await self.server.disconnect(sid, namespace=self.namespace)
