"""Who is paired with whom.

Theory of operation. Waiting users sit in one queue in arrival order. A seeker
(a newcomer, or a waiting user whose interests just widened) is paired with the
best compatible entry, where:

* compatible means: the same mode (video users meet video users, text users
  text users), not the seeker's own user id (two tabs never meet), not
  blocked either way, not met within the repeat window (an exclusion, not a
  preference: after Next, Stop or a partner leaving, the two wait for someone
  else, however long that takes), and either sharing at least one interest,
  or both sides accepting anyone. A user accepts anyone when they gave no
  interests, or gave some but have waited longer than the widening time
  without ``strict``.
* best means, in this order: not the immediately previous partner of either
  side (which matters only when the repeat window is shorter than the time
  since they met, or 0); sharing an interest; waiting longest. So two users
  with a common interest are paired ahead of an earlier user without one.

Everything here is pure: time is passed in, nothing is read or written outside
the queue object.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

EMPTY: frozenset[str] = frozenset()
# A guest's network (its keyed hash) as it stands in an exclusion set beside user ids: a
# block or report of a guest also keeps the blocker apart from that network, so that a
# private window (a new device key) on the same network is still kept away.
NETWORK = "a:"
VIDEO = "video"
TEXT = "text"
MODES = (VIDEO, TEXT)


@dataclass(frozen=True, slots=True)
class Waiting:
    sid: str
    user_id: str
    since: float
    interests: frozenset[str] = EMPTY
    strict: bool = False
    widened: bool = False
    previous: str | None = None  # user id of their last partner when they queued
    mode: str = VIDEO  # only users of the same mode meet
    privacy: bool = False  # asked for a relay-only call (not a matching rule: the call's policy)
    address: str | None = None  # a guest's network (keyed hash); None for operator users

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
    # user ids blocked by or blocking this user, and NETWORK + the networks they blocked
    excluded: frozenset[str] = EMPTY
    recent: frozenset[str] = EMPTY  # user ids met within the repeat window: excluded too
    previous: str | None = None
    mode: str = VIDEO
    privacy: bool = False
    address: str | None = None  # a guest's network (keyed hash)

    @property
    def accepts_anyone(self) -> bool:
        return not self.interests or self.widened

    def waiting(self, now: float) -> Waiting:
        return Waiting(
            self.sid,
            self.user_id,
            now,
            self.interests,
            self.strict,
            self.widened,
            self.previous,
            self.mode,
            self.privacy,
            self.address,
        )


@dataclass(frozen=True, slots=True)
class Pick:
    entry: Waiting
    common: frozenset[str]


def common_ground(seeker: Seeker, entry: Waiting) -> frozenset[str] | None:
    """The shared interests if the two may be paired (possibly none), else None."""
    if (
        entry.mode != seeker.mode
        or entry.user_id == seeker.user_id
        or entry.user_id in seeker.excluded
        or entry.user_id in seeker.recent
        or (entry.address is not None and NETWORK + entry.address in seeker.excluded)
    ):
        return None
    common = seeker.interests & entry.interests
    if common or (seeker.accepts_anyone and entry.accepts_anyone):
        return common
    return None


def _rank(seeker: Seeker, entry: Waiting, common: frozenset[str]) -> tuple[bool, bool]:
    """Lower is better: previous partner, then nothing in common."""
    return (
        entry.user_id == seeker.previous or entry.previous == seeker.user_id,
        not common,
    )


def ideal(seeker: Seeker, found: Pick) -> bool:
    """Whether nothing could rank above ``found``: a reader of the queue may stop there."""
    return _rank(seeker, found.entry, found.common) == (False, not seeker.interests)


def pick(seeker: Seeker, queue: Iterable[Waiting]) -> Pick | None:
    """The best compatible entry of ``queue`` (in arrival order) for ``seeker``, or None.

    The reference ranking, a linear scan; ``MatchQueue.take`` gives the same
    answer from its indexes.
    """
    best: Pick | None = None
    best_rank: tuple[bool, bool] | None = None
    ideal = (False, not seeker.interests)
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

    Complexity. Waiting users are kept in arrival order in several indexes, one
    set per mode (a video user's search never looks at text users): by
    interest, the ones who accept anyone (no interests, or widened), and the
    ones still to widen. A search scans only the indexes the seeker can match
    (its own interests' lists, and the accept-anyone list if it accepts
    anyone), each in arrival order and only until the first compatible entry
    that is not a previous partner: nothing later in that list can rank
    higher. So a search costs O(i · (k + 1)) for a seeker with ``i``
    interests (at most 10) whose blocks, partners within the repeat window
    and own other tabs number ``k``, whatever the number of waiting users who
    cannot match it. Adding is O(i); removing is O(i) plus a C-level list
    deletion for the position index; a position (within the user's mode) is
    O(log n); ``due_to_widen`` touches only the entries that are due.
    """

    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}
        self._seq: dict[str, int] = {}  # sid -> arrival number
        self._next_seq = 0
        self._to_widen: dict[str, None] = {}  # interests, not strict, not yet widened
        self._modes: dict[str, _ModeIndex] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        return sid in self._entries

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._entries.values())

    def _mode(self, mode: str) -> _ModeIndex:
        index = self._modes.get(mode)
        if index is None:
            index = self._modes[mode] = _ModeIndex()
        return index

    def add(self, entry: Waiting) -> int:
        """Queue ``entry`` at the back; return its 1-based position among its mode."""
        self.remove(entry.sid)
        self._entries[entry.sid] = entry
        self._seq[entry.sid] = self._next_seq
        index = self._mode(entry.mode)
        index.order.append(self._next_seq)
        self._next_seq += 1
        if entry.widened:
            index.widened[entry.sid] = None
        elif not entry.interests:
            index.anyone[entry.sid] = None
        elif not entry.strict:
            self._to_widen[entry.sid] = None
        for tag in entry.interests:
            index.by_interest.setdefault(tag, {})[entry.sid] = None
        return len(index.order)

    def remove(self, sid: str) -> Waiting | None:
        entry = self._entries.pop(sid, None)
        if entry is None:
            return None
        seq = self._seq.pop(sid)
        index = self._modes[entry.mode]
        del index.order[bisect_left(index.order, seq)]
        index.anyone.pop(sid, None)
        index.widened.pop(sid, None)
        self._to_widen.pop(sid, None)
        for tag in entry.interests:
            bucket = index.by_interest[tag]
            del bucket[sid]
            if not bucket:
                del index.by_interest[tag]
        if not index.order:
            del self._modes[entry.mode]
        return entry

    def get(self, sid: str) -> Waiting | None:
        return self._entries.get(sid)

    def position(self, sid: str) -> int | None:
        """1-based place of ``sid`` in the queue of its mode."""
        seq = self._seq.get(sid)
        if seq is None:
            return None
        order = self._modes[self._entries[sid].mode].order
        return bisect_left(order, seq) + 1

    def take(self, seeker: Seeker) -> Pick | None:
        """Remove and return the best partner for ``seeker`` (as ``pick`` ranks), if any."""
        index = self._modes.get(seeker.mode)
        if index is None:
            return None
        lists = [index.by_interest[tag] for tag in seeker.interests if tag in index.by_interest]
        if seeker.accepts_anyone:
            lists += [index.anyone, index.widened]
        best: tuple[tuple[bool, bool], int, Pick] | None = None
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
                if not rank[0]:
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
            self._modes[entry.mode].widened[sid] = None
        return entry


class _ModeIndex:
    """The indexes of one mode's waiting users, each in arrival (or widening) order."""

    __slots__ = ("anyone", "by_interest", "order", "widened")

    def __init__(self) -> None:
        self.order: list[int] = []  # arrival numbers of waiting entries, ascending
        self.anyone: dict[str, None] = {}  # no interests: accept anyone from the start
        self.widened: dict[str, None] = {}  # widened, in the order they widened
        self.by_interest: dict[str, dict[str, None]] = {}
