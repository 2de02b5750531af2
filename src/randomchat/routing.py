"""Cluster routing: which node an event goes to, and the delivery that sends it there.

A socket id starts with the name of the node that holds it (``<node>.<random>``),
so a node that must emit to a socket it does not hold knows where it lives
without asking Redis (``Router``). ``ClusterDelivery`` is the ``Delivery`` of a
cluster node: an event for a socket here goes to ``LocalDelivery``, one for a
socket elsewhere to the ``Transport`` (``inbox.Inbox``: that node's Redis stream).
``Arrivals`` is the other end: what the transport reads from this node's stream,
completed by the lobby (``Lobby.arriving``) and written by ``LocalDelivery``,
where the call-scope rule (``delivery.CallScope``) meets it like any local event.

Nothing here touches Redis: the routing is tested on its own (tests/test_routing.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from randomchat.delivery import LocalDelivery

log = logging.getLogger(__name__)

DISCONNECT = "!disconnect"  # the cross-node event name for "close this socket"

# What a node adds to an event from another node before it is written (Lobby.arriving).
Arriving = Callable[[str, str, Any], Awaitable[Any]]


def node_of(sid: str) -> str | None:
    """The node named by a socket id's prefix; None for an id with no prefix."""
    node, dot, _ = sid.partition(".")
    return node if dot else None


class Router:
    """Where an event for a socket goes: here (None), or the name of the node holding it."""

    def __init__(self, node: str, holds: Callable[[str], bool]) -> None:
        self.node = node
        self.holds = holds  # the sockets this node's socket layer has

    def route(self, sid: str) -> str | None:
        node = node_of(sid)
        # An id of no node, or of this one, is written here (and counted if not held);
        # one this node holds is too, whatever its prefix says.
        if node is None or node == self.node or self.holds(sid):
            return None
        return node


class Transport(Protocol):
    def send(self, node: str, sid: str, event: str, data: Any, source: str | None) -> bool:
        """Queue ``event`` for socket ``sid`` on ``node``; False if it was refused (counted)."""
        ...


class ClusterDelivery:
    """``Delivery`` for a cluster node: local sockets directly, others through ``transport``."""

    def __init__(self, local: LocalDelivery, router: Router, transport: Transport) -> None:
        self.local = local
        self.router = router
        self.transport = transport

    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        node = self.router.route(sid)
        if node is None:
            return await self.local.emit(sid, event, data, source)
        return self.transport.send(node, sid, event, data, source)

    async def disconnect(self, sid: str) -> None:
        node = self.router.route(sid)
        if node is None:
            await self.local.disconnect(sid)
        else:
            self.transport.send(node, sid, DISCONNECT, None, None)

    def forget(self, sid: str) -> None:
        self.local.forget(sid)  # the lobby only forgets the sockets of its own node

    async def drop(self, sid: str) -> None:
        await self.local.drop(sid)  # a drain drops the sockets of its own node


class Arrivals:
    """Events from other nodes for this node's sockets: completed, then written here."""

    def __init__(self, local: LocalDelivery, arriving: Arriving) -> None:
        self.local = local
        self.arriving = arriving

    async def __call__(self, sid: str, event: str, data: Any, source: str | None) -> None:
        # A partner's event that comes after its call ended (the receiver pressed Next
        # while it was on its way) is dropped by ``local``: it never reaches the next call.
        try:
            if event == DISCONNECT:
                await self.local.disconnect(sid)
            else:
                data = await self.arriving(sid, event, data)
                await self.local.emit(sid, event, data, source)
        except Exception:
            log.exception("cross-node delivery failed", extra={"sid": sid, "event_name": event})
