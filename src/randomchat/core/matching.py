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

from bisect import bisect_left
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


def _rank(seeker: Seeker, entry: Waiting, common: frozenset[str]) -> tuple[bool, bool, bool]:
    """Lower is better: previous partner, then recent partner, then nothing in common."""
    return (
        entry.user_id == seeker.previous or entry.previous == seeker.user_id,
        entry.user_id in seeker.recent,
        not common,
    )


def pick(seeker: Seeker, queue: Iterable[Waiting]) -> Pick | None:
    """The best compatible entry of ``queue`` (in arrival order) for ``seeker``, or None.

    The reference ranking, a linear scan; ``MatchQueue.take`` gives the same
    answer from its indexes.
    """
    best: Pick | None = None
    best_rank: tuple[bool, bool, bool] | None = None
    ideal = (False, False, not seeker.interests)
    for entry in queue:
        common = common_ground(seeker, entry)
        if common is None:
            continue
        rank = _rank(seeker, entry, common)
        if best_rank is None or rank < best_rank:
            best, best_rank = Pick(entry, common), rank
            if rank == ideal:
                break  # nothing later in the queue can rank higher
    return best


class MatchQueue:
    """The waiting room, indexed so that a search never scans users it cannot meet.

    Complexity. Waiting users are kept in arrival order in several indexes: by
    interest, the ones who accept anyone (no interests, or widened), and the
    ones still to widen. A search scans only the indexes the seeker can match
    (its own interests' lists, and the accept-anyone list if it accepts
    anyone), each in arrival order and only until the first compatible entry
    that is neither a previous nor a recent partner: nothing later in that list
    can rank higher. So a search costs O(i · (k + 1)) for a seeker with ``i``
    interests (at most 10) whose blocks, recent partners and own other tabs
    number ``k``, whatever the number of waiting users who cannot match it.
    Adding is O(i); removing is O(i) plus a C-level list deletion for the
    position index; a position is O(log n); ``due_to_widen`` touches only the
    entries that are due.
    """

    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}
        self._seq: dict[str, int] = {}  # sid -> arrival number
        self._order: list[int] = []  # arrival numbers of waiting entries, ascending
        self._next_seq = 0
        self._anyone: dict[str, None] = {}  # no interests: accept anyone from the start
        self._widened: dict[str, None] = {}  # widened, in the order they widened
        self._to_widen: dict[str, None] = {}  # interests, not strict, not yet widened
        self._by_interest: dict[str, dict[str, None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        return sid in self._entries

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._entries.values())

    def add(self, entry: Waiting) -> int:
        """Queue ``entry`` at the back; return its 1-based position."""
        self.remove(entry.sid)
        self._entries[entry.sid] = entry
        self._seq[entry.sid] = self._next_seq
        self._order.append(self._next_seq)
        self._next_seq += 1
        self._index(entry)
        return len(self._entries)

    def _index(self, entry: Waiting) -> None:
        if entry.widened:
            self._widened[entry.sid] = None
        elif not entry.interests:
            self._anyone[entry.sid] = None
        elif not entry.strict:
            self._to_widen[entry.sid] = None
        for tag in entry.interests:
            self._by_interest.setdefault(tag, {})[entry.sid] = None

    def remove(self, sid: str) -> Waiting | None:
        entry = self._entries.pop(sid, None)
        if entry is None:
            return None
        seq = self._seq.pop(sid)
        del self._order[bisect_left(self._order, seq)]
        for index in (self._anyone, self._widened, self._to_widen):
            index.pop(sid, None)
        for tag in entry.interests:
            bucket = self._by_interest[tag]
            del bucket[sid]
            if not bucket:
                del self._by_interest[tag]
        return entry

    def get(self, sid: str) -> Waiting | None:
        return self._entries.get(sid)

    def position(self, sid: str) -> int | None:
        """1-based place of ``sid`` in the queue."""
        seq = self._seq.get(sid)
        return None if seq is None else bisect_left(self._order, seq) + 1

    def take(self, seeker: Seeker) -> Pick | None:
        """Remove and return the best partner for ``seeker`` (as ``pick`` ranks), if any."""
        lists = [self._by_interest[tag] for tag in seeker.interests if tag in self._by_interest]
        if seeker.accepts_anyone:
            lists += [self._anyone, self._widened]
        best: tuple[tuple[bool, bool, bool], int, Pick] | None = None
        for sids in lists:
            for sid in sids:
                if sid == seeker.sid:
                    continue
                entry = self._entries[sid]
                common = common_ground(seeker, entry)
                if common is None:
                    continue
                rank = _rank(seeker, entry, common)
                key = (rank, self._seq[sid])
                if best is None or key < best[:2]:
                    best = (rank, self._seq[sid], Pick(entry, common))
                if not rank[0] and not rank[1]:
                    break  # later entries of this list arrived later and rank no higher
        if best is None:
            return None
        self.remove(best[2].entry.sid)
        return best[2]

    def due_to_widen(self, now: float, wait: float) -> list[str]:
        """Entries with interests, not strict, that have waited ``wait`` seconds."""
        due: list[str] = []
        for sid in self._to_widen:  # arrival order: stop at the first one not yet due
            if now - self._entries[sid].since < wait:
                break
            due.append(sid)
        return due

    def widen(self, sid: str) -> Waiting | None:
        """Mark ``sid`` as accepting anyone, keeping its place and waiting time."""
        entry = self._entries.get(sid)
        if entry is None:
            return None
        if not entry.widened:
            entry = replace(entry, widened=True)
            self._entries[sid] = entry
            self._to_widen.pop(sid, None)
            self._widened[sid] = None
        return entry
