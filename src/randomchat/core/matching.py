"""Who is paired with whom.

Theory of operation. Waiting users sit in one queue in arrival order. A seeker
(a newcomer, or a waiting user whose interests just widened) is paired with the
best compatible entry, where:

* compatible means: not the seeker's own user id (two tabs never meet), not
  blocked either way, and either sharing at least one interest, or both sides
  accepting anyone. A user accepts anyone when they gave no interests, or gave
  some but have waited longer than the widening time without ``strict``.
* best means, in this order: not the immediately previous partner of either
  side; not a partner from the repeat window; sharing an interest; waiting
  longest. So a repeat or the previous partner is paired only when nobody
  else compatible is waiting, and two users with a common interest are paired
  ahead of an earlier user without one.

Everything here is pure: time is passed in, nothing is read or written outside
the queue object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Waiting:
    sid: str
    user_id: str
    since: float
    interests: frozenset[str] = EMPTY
    strict: bool = False
    widened: bool = False
    previous: str | None = None  # user id of their last partner when they queued

    @property
    def accepts_anyone(self) -> bool:
        return not self.interests or self.widened


@dataclass(frozen=True, slots=True)
class Seeker:
    """Who is looking, with what they must not or would rather not meet."""

    sid: str
    user_id: str
    interests: frozenset[str] = EMPTY
    strict: bool = False
    widened: bool = False
    excluded: frozenset[str] = EMPTY  # user ids blocked by or blocking this user
    recent: frozenset[str] = EMPTY  # user ids met within the repeat window
    previous: str | None = None

    @property
    def accepts_anyone(self) -> bool:
        return not self.interests or self.widened

    def waiting(self, now: float) -> Waiting:
        return Waiting(
            self.sid, self.user_id, now, self.interests, self.strict, self.widened, self.previous
        )


@dataclass(frozen=True, slots=True)
class Pick:
    entry: Waiting
    common: frozenset[str]


def common_ground(seeker: Seeker, entry: Waiting) -> frozenset[str] | None:
    """The shared interests if the two may be paired (possibly none), else None."""
    if entry.user_id == seeker.user_id or entry.user_id in seeker.excluded:
        return None
    common = seeker.interests & entry.interests
    if common or (seeker.accepts_anyone and entry.accepts_anyone):
        return common
    return None


def pick(seeker: Seeker, queue: Iterable[Waiting]) -> Pick | None:
    """The best compatible entry for ``seeker`` (see the module docstring), or None."""
    best: Pick | None = None
    best_rank: tuple[bool, bool, bool] | None = None
    ideal = (False, False, not seeker.interests)
    for entry in queue:
        common = common_ground(seeker, entry)
        if common is None:
            continue
        rank = (
            entry.user_id == seeker.previous or entry.previous == seeker.user_id,
            entry.user_id in seeker.recent,
            not common,
        )
        if best_rank is None or rank < best_rank:
            best, best_rank = Pick(entry, common), rank
            if rank == ideal:
                break  # nothing later in the queue can rank higher
    return best


class MatchQueue:
    """The waiting room, in arrival order. Removal from the middle is O(1)."""

    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        return sid in self._entries

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._entries.values())

    def add(self, entry: Waiting) -> int:
        """Queue ``entry`` at the back; return its 1-based position."""
        self._entries[entry.sid] = entry
        return len(self._entries)

    def remove(self, sid: str) -> Waiting | None:
        return self._entries.pop(sid, None)

    def get(self, sid: str) -> Waiting | None:
        return self._entries.get(sid)

    def position(self, sid: str) -> int | None:
        """1-based place of ``sid`` in the queue (O(n): for rare requests only)."""
        for place, other in enumerate(self._entries, start=1):
            if other == sid:
                return place
        return None

    def take(self, seeker: Seeker) -> Pick | None:
        """Remove and return the best partner for ``seeker``, if any."""
        others = (e for e in self._entries.values() if e.sid != seeker.sid)
        found = pick(seeker, others)
        if found is not None:
            del self._entries[found.entry.sid]
        return found

    def due_to_widen(self, now: float, wait: float) -> list[str]:
        """Entries with interests, not strict, that have waited ``wait`` seconds."""
        return [
            e.sid
            for e in self._entries.values()
            if e.interests and not e.strict and not e.widened and now - e.since >= wait
        ]

    def widen(self, sid: str) -> Waiting | None:
        """Mark ``sid`` as accepting anyone, keeping its place and waiting time."""
        entry = self._entries.get(sid)
        if entry is None:
            return None
        self._entries[sid] = replace(entry, widened=True)
        return self._entries[sid]
