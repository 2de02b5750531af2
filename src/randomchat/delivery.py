"""How an event reaches a socket: the delivery seam.

The lobby decides *what* to send to *which* socket id; a ``Delivery`` gets it
there. ``LocalDelivery`` reaches the sockets this process holds, through the
socket layer (which queues on the recipient's bounded buffer and never waits on
it). A socket id it does not hold is not dropped silently: it is counted in
``randomchat_undelivered_events_total{event}`` and logged, since on one process
it means the socket closed in the meantime, and in a cluster it means the
event needs a cross-process delivery (the scale-out issue adds one behind this
interface, publishing to the node that holds the socket).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from randomchat import sio
from randomchat.metrics import Metrics

log = logging.getLogger(__name__)


class Delivery(Protocol):
    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        """Send ``event`` to socket ``sid``; False if it could not be delivered.

        ``source``: the partner who sent it (relayed events); dropped if the two
        are no longer paired when it arrives.
        """

    async def disconnect(self, sid: str) -> None:
        """Close socket ``sid`` (after what was emitted to it before)."""


class LocalDelivery:
    """Delivery to the sockets of this process."""

    def __init__(self, server: sio.Server, namespace: str, metrics: Metrics) -> None:
        self.server = server
        self.namespace = namespace
        self.metrics = metrics

    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        # On one process the lobby checked the pair just before: nothing waits in between.
        if await self.server.emit(event, data, to=sid, namespace=self.namespace):
            return True
        self.metrics.undelivered.labels(event).inc()
        log.debug("event for a socket not held here", extra={"sid": sid, "event_name": event})
        return False

    async def disconnect(self, sid: str) -> None:
        await self.server.disconnect(sid, namespace=self.namespace)
