"""The connections this process holds: per-connection state, and the connection caps.

Per connection, node-local by nature (a socket lives on exactly one process):
who the connection is, its search options, its connection-quality meter and
whether a ``call-stats`` report is due. The caps per user and per address are
counted here too, per process; on a cluster also across the nodes (``shared``, a
``SharedCaps``: ``store.redis_caps.RedisCaps``), which the lobby asks once per
connect (``admit``) and tells once per disconnect (``release``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from randomchat.auth import Identity
from randomchat.core.quality import ConnectionMetrics
from randomchat.errors import StorageError, TooManyConnections
from randomchat.protocol import SearchOptions
from randomchat.proxy import aggregates

log = logging.getLogger(__name__)

Held = tuple[str, str, tuple[str, ...]]  # a socket's sid, user and address units


class SharedCaps(Protocol):
    """The caps counted across the nodes of a cluster (``store.redis_caps``); ``now`` is
    wall time, which the nodes share."""

    async def admit(
        self, sid: str, user_id: str, units: Sequence[str], now: float
    ) -> str | None: ...  # None, or the scope ("user", "address") of the cap it would pass

    async def release(self, sid: str, user_id: str, units: Sequence[str]) -> None: ...

    async def refresh(self, held: Sequence[Held], now: float) -> None: ...


@dataclass(slots=True)
class Connection:
    user_id: str
    username: str
    network: str  # the client's IPv4 address or IPv6 /64, for the per-address cap
    token_expires: float | None  # Unix seconds; TURN credentials never outlive the token
    metrics: ConnectionMetrics
    options: SearchOptions = SearchOptions()
    guest: bool = False  # a guest token: address bans and report weighting apply
    issued_at: float | None = None  # the token's iat (Unix seconds)
    address: str = ""  # keyed hash of ``network`` (moderation.address_hash), set by the lobby
    matched_at: float = float("-inf")  # clock time of its latest match (a drain waits for it)
    # Its transport dropped while it waited: out of the queue while held, searching again
    # with ``options`` if it resumes (Lobby.held, Lobby.resumed).
    requeue: bool = False
    # It was told waiting-for-partner and nothing since (no match, no end): if Redis loses
    # its queue place (a restart), its node queues it again (cluster.requeue_lost).
    waiting: bool = False

    @property
    def guest_address(self) -> str | None:
        """The network a guest's blocks, reports and bans may hold against; None for the
        operator's users, who are never kept apart or banned by address."""
        return (self.address or None) if self.guest else None


class Connections:
    def __init__(self, per_user: int, per_address: int, shared: SharedCaps | None = None) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._by_sid: dict[str, Connection] = {}
        self._by_user: dict[str, set[str]] = {}
        self._by_network: dict[str, int] = {}
        self.shared = shared  # a cluster's caps, counted across its nodes (lobby.Shared)
        self._outage = False  # the last admission found Redis out of reach

    def __len__(self) -> int:
        return len(self._by_sid)

    def items(self) -> list[tuple[str, Connection]]:
        return list(self._by_sid.items())

    def __contains__(self, sid: object) -> bool:
        return sid in self._by_sid

    def add(self, sid: str, identity: Identity, network: str, now: float) -> Connection:
        """Register ``sid``; raise ``TooManyConnections`` past a cap (nothing registered)."""
        if len(self._by_user.get(identity.user_id, ())) >= self.per_user:
            raise TooManyConnections("user", self.per_user)
        units = aggregates(network)  # IPv6: the /64, its /56 and /48, each capped alike
        if any(self._by_network.get(unit, 0) >= self.per_address for unit in units):
            raise TooManyConnections("address", self.per_address)
        conn = Connection(
            identity.user_id,
            identity.username,
            network,
            identity.expires_at,
            ConnectionMetrics.start(now),
            guest=identity.guest,
            issued_at=identity.issued_at,
        )
        self._by_sid[sid] = conn
        self._by_user.setdefault(identity.user_id, set()).add(sid)
        for unit in units:
            self._by_network[unit] = self._by_network.get(unit, 0) + 1
        return conn

    async def admit(self, sid: str, now: float) -> None:
        """Count ``sid`` (already ``add``-ed here) across the cluster; raise
        ``TooManyConnections`` past a cap there (the caller then removes it here).

        With Redis out of reach the connection is let in under this process's caps
        alone: connecting needs no Redis otherwise, and the next ``refresh`` after
        the outage counts it on the cluster too.
        """
        conn = self._by_sid[sid]
        if self.shared is None:
            return
        try:
            scope = await self.shared.admit(sid, conn.user_id, aggregates(conn.network), now)
        except StorageError as exc:
            if not self._outage:  # one line per outage, not one per connection
                log.warning("connection caps counted per process", extra={"error": str(exc)})
            self._outage = True
            return
        self._outage = False
        if scope is not None:
            raise TooManyConnections(scope, self.per_user if scope == "user" else self.per_address)

    async def release(self, sid: str, conn: Connection | None) -> None:
        """``sid`` (removed here) stops counting across the cluster. If Redis is out of
        reach its lease runs out by itself instead (``store.redis_caps``)."""
        if self.shared is None or conn is None:
            return
        try:
            await self.shared.release(sid, conn.user_id, aggregates(conn.network))
        except StorageError as exc:
            if not self._outage:
                log.warning("connection cap not released", extra={"sid": sid, "error": str(exc)})
            self._outage = True

    async def refresh(self, now: float) -> None:
        """Renew the cluster's leases of every connection here (a cluster node does so every
        third of its lease: ``app.create_app``)."""
        if self.shared is not None:
            held = [(sid, c.user_id, aggregates(c.network)) for sid, c in self._by_sid.items()]
            await self.shared.refresh(held, now)

    def remove(self, sid: str) -> Connection | None:
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None
        sids = self._by_user[conn.user_id]
        sids.discard(sid)
        if not sids:
            del self._by_user[conn.user_id]
        for unit in aggregates(conn.network):
            left = self._by_network[unit] - 1
            if left:
                self._by_network[unit] = left
            else:
                del self._by_network[unit]
        return conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def __getitem__(self, sid: str) -> Connection:
        return self._by_sid[sid]

    def sids_of(self, user_id: str) -> list[str]:
        """The user's connections on this process, in a stable order."""
        return sorted(self._by_user.get(user_id, ()))

    def guests_at(self, address: str) -> list[str]:
        """Guest connections from the network with this keyed hash, in a stable order.

        A scan of every connection: it runs only when a ban with an address is new.
        """
        return sorted(
            sid for sid, conn in self._by_sid.items() if conn.guest and conn.address == address
        )

    def users(self) -> set[str]:
        return set(self._by_user)

    def sizes(self) -> dict[str, int]:
        return {
            "connections": len(self._by_sid),
            "users": len(self._by_user),
            "addresses": len(self._by_network),
        }
