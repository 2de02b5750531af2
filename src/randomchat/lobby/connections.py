"""The connections this process holds: per-connection state, and the connection caps.

Per connection, node-local by nature (a socket lives on exactly one process):
who the connection is, its search options, its connection-quality meter and
whether a ``call-stats`` report is due. The caps per user and per address are
counted here too: per process today; across a cluster they would move to the
shared store with the other per-user limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from randomchat.auth import Identity
from randomchat.core.quality import ConnectionMetrics
from randomchat.core.requests import SearchOptions
from randomchat.errors import TooManyConnections
from randomchat.proxy import aggregates


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
    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._by_sid: dict[str, Connection] = {}
        self._by_user: dict[str, set[str]] = {}
        self._by_network: dict[str, int] = {}

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
