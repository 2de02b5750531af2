"""The store interface: the queue, the pairs and who is connected.

Every method is atomic with respect to the others: an implementation must not
let two searches take the same waiting user, nor pair a user who is leaving.
The in-memory store gets this by never awaiting between a read and the write
that depends on it; a shared store (Redis) must do each method in one script
or transaction. The rules of who may meet whom are ``core.matching``'s; a store
only applies them to the queue it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from randomchat.core.matching import Seeker, Shared
from randomchat.core.state import Phase
from randomchat.protocol import SearchOptions


@dataclass(frozen=True, slots=True)
class Member:
    """One authenticated connection."""

    sid: str
    user_id: str
    username: str
    # A guest's keyed address hash (a report of them can ban the address); None otherwise.
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Matched:
    partner: Member
    partner_waited: float  # seconds the partner spent in the queue
    shared: Shared = field(default_factory=dict)  # per preference, the tags both share
    # as the partner searched (whether it asked for a relay-only call, ...)
    partner_options: SearchOptions = SearchOptions()


@dataclass(frozen=True, slots=True)
class Queued:
    position: int


@dataclass(frozen=True, slots=True)
class Taken:
    """A cluster only: while this search looked again, another node paired the seeker
    (and tells it so): nothing to answer here."""


SearchResult = Matched | Queued | Taken


@dataclass(frozen=True, slots=True)
class Counts:
    connected: int
    waiting: int
    pairs: int

    @property
    def empty(self) -> bool:
        return self == Counts(0, 0, 0)


class Store(Protocol):
    async def join(self, member: Member) -> None:
        """Register a new connection as idle."""

    async def part(self, sid: str) -> Member | None:
        """Forget ``sid`` everywhere; return the partner it was matched with, if any."""

    async def search(self, seeker: Seeker, now: float) -> SearchResult:
        """Pair the seeker with its best waiting partner, or queue it.

        Raises ``IllegalMove`` if the seeker is already waiting or matched.
        """

    async def due_to_widen(
        self, now: float, waits: Mapping[str, float]
    ) -> list[tuple[str, frozenset[str]]]:
        """Waiting sids of this node due to accept anyone on a preference (``waits``: each
        preference's wait, by name), each with every preference it accepts anyone on
        once widened (``core.matching.widening``)."""

    async def widen(self, seeker: Seeker, now: float) -> SearchResult | None:
        """Have a waiting seeker accept anyone on ``seeker.widened`` and try to pair it;
        None if it is no longer waiting (or, on Redis, nothing was new)."""

    async def look_again(self, seeker: Seeker, now: float) -> SearchResult | None:
        """Pair a waiting seeker with whoever it can meet now; None if it still waits
        (or does not). A cluster's store may pass over a user waiting on a node that
        missed its heartbeats; that node has its waiting users look again when it
        beats again (``liveness``)."""

    async def pair(self, a: str, b: str) -> bool:
        """Pair two idle connections (a call resumed after a restart); False if one is not idle."""

    async def leave(self, sid: str) -> Member | None:
        """Stop waiting or end the call; return the partner left behind, if any."""

    async def partner_of(self, sid: str) -> str | None:
        """The partner's sid while ``sid`` is matched."""

    async def phase_of(self, sid: str) -> Phase | None:
        """``None`` when ``sid`` is not connected."""

    async def position_of(self, sid: str) -> int | None:
        """The 1-based queue position while ``sid`` is waiting."""

    async def counts(self) -> Counts: ...
