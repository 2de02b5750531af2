"""Who is paired with whom.

Theory of operation. Waiting users sit in one queue in arrival order. A seeker
(a newcomer, or a waiting user whose preferences just widened) is paired with
the best compatible entry. Each side carries its search options (one
``SearchOptions`` value, as parsed from the wire). The options hold
*preferences* (``FACETS``: interests, spoken languages): each is a set of tags,
a strict flag, and a wait (``Rules``) after which a user who is not strict
about it accepts anyone on it (it is then ``widened``). A user with no tags on
a preference accepts anyone on it. Then:

* compatible means: the same mode (video users meet video users, text users
  text users), not the seeker's own user id (two tabs never meet), not
  blocked either way, not met within the repeat window (an exclusion, not a
  preference: after Next, Stop or a partner leaving, the two wait for someone
  else, however long that takes), and for every preference: sharing a tag,
  or both sides accepting anyone on it, or (languages: ``takes_unknown``) one
  side gave no tags and the other is not strict about it.
* best means, in this order: not the immediately previous partner of either
  side (which matters only when the repeat window is shorter than the time
  since they met, or 0); sharing a tag, preference by preference in
  ``FACETS`` order (interests, then languages); waiting longest.

Adding a preference is one ``Facet`` in ``FACETS`` and its wait in the
widening job's ``waits``: the indexes (``entry_lists``/``seeker_lists``, which
both stores use) and the widening (``widening``) follow from it.

Everything here is pure: time is passed in, nothing is read or written outside
the queue object.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from randomchat.protocol import SearchOptions

EMPTY: frozenset[str] = frozenset()
# A guest's network (its keyed hash) as it stands in an exclusion set beside user ids: a
# block or report of a guest also keeps the blocker apart from that network, so that a
# private window (a new device key) on the same network is still kept away.
NETWORK = "a:"
INTERESTS = "interests"
LANGUAGES = "languages"  # spoken languages (ISO 639 primary subtags)
ANY = "any"  # entries that take a partner who gave no tags, on every preference


@dataclass(frozen=True, slots=True)
class Facet:
    """One preference: the tags a user would rather share with a partner, and whether
    they share one only (``strict``) or accept anyone after the preference's wait."""

    name: str
    tags: Callable[[SearchOptions], frozenset[str]]
    strict: Callable[[SearchOptions], bool]
    # A partner who gave no tags is unknown, not different, on this preference: anyone not
    # strict about it takes them at once (a seed client states no language, and meeting
    # it stays as quick as before languages existed). Interests: no, no interests is a
    # choice, and the one who gave some waits for a match first.
    takes_unknown: bool = False


FACETS: tuple[Facet, ...] = (
    Facet(INTERESTS, lambda o: o.interests, lambda o: o.strict),
    Facet(LANGUAGES, lambda o: o.languages, lambda o: o.languages_only, takes_unknown=True),
)
# Per preference (by name), the tags both sides share: only those where they share some.
Shared = Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Waiting:
    sid: str
    user_id: str
    since: float
    options: SearchOptions = SearchOptions()
    widened: frozenset[str] = EMPTY  # names of the preferences it accepts anyone on now
    previous: str | None = None  # user id of their last partner when they queued
    address: str | None = None  # a guest's network (keyed hash); None for operator users

    @property
    def mode(self) -> str:
        return self.options.mode


@dataclass(frozen=True, slots=True)
class Seeker:
    """Who is looking, with what they must not or would rather not meet."""

    sid: str
    user_id: str
    options: SearchOptions = SearchOptions()
    widened: frozenset[str] = EMPTY
    # user ids blocked by or blocking this user, and NETWORK + the networks they blocked
    excluded: frozenset[str] = EMPTY
    recent: frozenset[str] = EMPTY  # user ids met within the repeat window: excluded too
    previous: str | None = None
    address: str | None = None  # a guest's network (keyed hash)

    @property
    def mode(self) -> str:
        return self.options.mode

    def waiting(self, now: float) -> Waiting:
        return Waiting(
            self.sid, self.user_id, now, self.options, self.widened, self.previous, self.address
        )


def accepts_anyone(user: Seeker | Waiting, facet: Facet) -> bool:
    return not facet.tags(user.options) or facet.name in user.widened


def takes_unknown(user: Seeker | Waiting, facet: Facet) -> bool:
    """Whether ``user`` takes a partner who gave no tags on ``facet``."""
    return accepts_anyone(user, facet) or (facet.takes_unknown and not facet.strict(user.options))


def _agree(seeker: Seeker, entry: Waiting, facet: Facet) -> bool:
    """Without a shared tag, whether the two may still meet on ``facet``."""
    if accepts_anyone(seeker, facet) and accepts_anyone(entry, facet):
        return True
    return (not facet.tags(entry.options) and takes_unknown(seeker, facet)) or (
        not facet.tags(seeker.options) and takes_unknown(entry, facet)
    )


def pending(user: Seeker | Waiting) -> list[Facet]:
    """The preferences ``user`` will still widen on (tags, not strict, not widened)."""
    return [
        f
        for f in FACETS
        if f.tags(user.options) and not f.strict(user.options) and f.name not in user.widened
    ]


def widening(entry: Waiting, now: float, waits: Mapping[str, float]) -> frozenset[str]:
    """The preferences ``entry`` accepts anyone on at ``now``: those it had, and those
    whose wait (``waits``, by name) it has waited out."""
    due = {f.name for f in pending(entry) if now - entry.since >= waits[f.name]}
    return entry.widened | due


def _tag_lists(facet: Facet, options: SearchOptions) -> list[str]:
    return [f"i:{facet.name}:{tag}" for tag in sorted(facet.tags(options))]


def entry_lists(entry: Waiting) -> list[str]:
    """The index lists a waiting entry is on (within its mode): one per tag of each
    preference, and ``ANY`` when it takes a partner with no tags on every preference."""
    names = [name for facet in FACETS for name in _tag_lists(facet, entry.options)]
    if all(takes_unknown(entry, facet) for facet in FACETS):
        names.append(ANY)
    return names


def seeker_lists(seeker: Seeker) -> list[str]:
    """The index lists that hold every entry ``seeker`` could meet (within its mode).

    A seeker that takes nobody without a shared tag on one preference needs only its tag
    lists there. Otherwise a compatible entry shares a tag somewhere (the tag lists) or
    takes a partner with no tags everywhere (``ANY``)."""
    for facet in FACETS:
        if not takes_unknown(seeker, facet):
            return _tag_lists(facet, seeker.options)
    return [name for facet in FACETS for name in _tag_lists(facet, seeker.options)] + [ANY]


@dataclass(frozen=True, slots=True)
class Pick:
    entry: Waiting
    shared: Shared


def common_ground(seeker: Seeker, entry: Waiting) -> Shared | None:
    """The shared tags per preference if the two may be paired (possibly none), else None."""
    if (
        entry.mode != seeker.mode
        or entry.user_id == seeker.user_id
        or entry.user_id in seeker.excluded
        or entry.user_id in seeker.recent
        or (entry.address is not None and NETWORK + entry.address in seeker.excluded)
    ):
        return None
    shared: dict[str, frozenset[str]] = {}
    for facet in FACETS:
        common = facet.tags(seeker.options) & facet.tags(entry.options)
        if common:
            shared[facet.name] = common
        elif not _agree(seeker, entry, facet):
            return None
    return shared


Rank = tuple[bool, ...]


def _rank(seeker: Seeker, entry: Waiting, shared: Shared) -> Rank:
    """Lower is better: previous partner, then nothing in common, preference by preference."""
    previous = entry.user_id == seeker.previous or entry.previous == seeker.user_id
    return (previous, *(facet.name not in shared for facet in FACETS))


def _ideal(seeker: Seeker) -> Rank:
    """The best rank any entry could have for ``seeker``."""
    return (False, *(not facet.tags(seeker.options) for facet in FACETS))


def ideal(seeker: Seeker, found: Pick) -> bool:
    """Whether nothing could rank above ``found``: a reader of the queue may stop there."""
    return _rank(seeker, found.entry, found.shared) == _ideal(seeker)


def pick(seeker: Seeker, queue: Iterable[Waiting]) -> Pick | None:
    """The best compatible entry of ``queue`` (in arrival order) for ``seeker``, or None.

    The reference ranking, a linear scan; ``MatchQueue.take`` gives the same
    answer from its indexes.
    """
    best: Pick | None = None
    best_rank: Rank | None = None
    top = _ideal(seeker)
    for entry in queue:
        shared = common_ground(seeker, entry)
        if shared is None:
            continue
        rank = _rank(seeker, entry, shared)
        if best_rank is None or rank < best_rank:
            best, best_rank = Pick(entry, shared), rank
            if rank == top:
                break  # nothing later in the queue can rank higher
    return best


class MatchQueue:
    """The waiting room, indexed so that a search never scans users it cannot meet.

    Complexity. Waiting users are kept in arrival order in several indexes, one
    set per mode (a video user's search never looks at text users): the lists
    of ``entry_lists`` (per tag of each preference, and the accept-anyone list),
    each a sorted list of arrival numbers, and per preference the ones still to
    widen. A search scans only ``seeker_lists``, each in arrival order: a tag
    list until the first entry nothing could rank above (``ideal``), the
    accept-anyone list until its first compatible entry that is not a previous
    partner (an entry there that shares a tag is on that tag's list too, which
    the search also reads). With interests alone a search costs
    O(i · (k + 1)) for a seeker with ``i`` interests (at most 10) whose blocks,
    partners within the repeat window and own other tabs number ``k``, whatever
    the number of waiting users who cannot match it; a second preference can
    make a tag list read further, to an entry that shares on both. Adding and
    removing are O(l log n) plus C-level list moves for ``l`` lists; a
    position (within the user's mode) is O(log n); ``due_to_widen`` touches
    only the entries that are due.
    """

    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}
        self._seq: dict[str, int] = {}  # sid -> arrival number
        self._sids: dict[int, str] = {}  # arrival number -> sid
        self._next_seq = 0
        # per preference, in arrival order: entries still to widen on it
        self._to_widen: dict[str, dict[str, None]] = {}
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
        seq = self._next_seq
        self._next_seq += 1
        self._entries[entry.sid] = entry
        self._seq[entry.sid] = seq
        self._sids[seq] = entry.sid
        index = self._mode(entry.mode)
        index.order.append(seq)
        index.put(entry_lists(entry), seq)
        for facet in pending(entry):
            self._to_widen.setdefault(facet.name, {})[entry.sid] = None
        return len(index.order)

    def remove(self, sid: str) -> Waiting | None:
        entry = self._entries.pop(sid, None)
        if entry is None:
            return None
        seq = self._seq.pop(sid)
        del self._sids[seq]
        index = self._modes[entry.mode]
        del index.order[bisect_left(index.order, seq)]
        index.drop(entry_lists(entry), seq)
        for waiting in self._to_widen.values():
            waiting.pop(sid, None)
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
        top = _ideal(seeker)
        best: tuple[Rank, int, Pick] | None = None
        for name in seeker_lists(seeker):
            enough = (lambda rank: not rank[0]) if name == ANY else (lambda rank: rank == top)
            for seq in index.lists.get(name, ()):
                sid = self._sids[seq]
                if sid == seeker.sid:
                    continue
                entry = self._entries[sid]
                shared = common_ground(seeker, entry)
                if shared is None:
                    continue
                rank = _rank(seeker, entry, shared)
                if best is None or (rank, seq) < best[:2]:
                    best = (rank, seq, Pick(entry, shared))
                if enough(rank):
                    break  # later entries of this list arrived later and rank no higher
        if best is None:
            return None
        self.remove(best[2].entry.sid)
        return best[2]

    def due_to_widen(
        self, now: float, waits: Mapping[str, float]
    ) -> list[tuple[str, frozenset[str]]]:
        """Entries due to widen on a preference (``waits``: its wait, by name), each with
        the preferences it accepts anyone on once widened (``widening``)."""
        due: dict[str, None] = {}
        for facet, waiting in self._to_widen.items():
            for sid in waiting:  # arrival order: stop at the first one not yet due
                if now - self._entries[sid].since < waits[facet]:
                    break
                due[sid] = None
        return [(sid, widening(self._entries[sid], now, waits)) for sid in due]

    def widen(self, sid: str, widened: frozenset[str]) -> Waiting | None:
        """Have ``sid`` accept anyone on ``widened`` too, keeping its place and waiting
        time; None when it is not waiting."""
        entry = self._entries.get(sid)
        if entry is None:
            return None
        if not widened <= entry.widened:
            wider = replace(entry, widened=entry.widened | widened)
            index = self._modes[entry.mode]
            seq = self._seq[sid]
            index.drop(entry_lists(entry), seq)
            index.put(entry_lists(wider), seq)
            self._entries[sid] = entry = wider
            for name in entry.widened:
                self._to_widen.get(name, {}).pop(sid, None)
        return entry


class _ModeIndex:
    """The index lists of one mode's waiting users, each of arrival numbers, ascending."""

    __slots__ = ("lists", "order")

    def __init__(self) -> None:
        self.order: list[int] = []  # arrival numbers of waiting entries
        self.lists: dict[str, list[int]] = {}  # entry_lists names

    def put(self, names: Iterable[str], seq: int) -> None:
        for name in names:
            insort(self.lists.setdefault(name, []), seq)

    def drop(self, names: Iterable[str], seq: int) -> None:
        for name in names:
            seqs = self.lists[name]
            del seqs[bisect_left(seqs, seq)]
            if not seqs:
                del self.lists[name]
