"""Used proof-of-work challenges, remembered until they expire, in bounded memory.

A solved ALTCHA challenge proves work once: the cache refuses a second use of
the same challenge while it is still valid (afterwards its expiry refuses it).
Entries are dropped when they expire (a heap of expiry times, popped as time
passes).

Bound. The cache holds at most ``max_entries``. Full of unexpired entries, it
makes room by forgetting the entry that expires soonest, and raises a *floor*
to that entry's expiry: from then on every challenge that expires at or before
the floor is refused, used or not. So nothing forgotten can be replayed, and a
cache filled on purpose refuses no fresh challenge. Every challenge expires one
lifetime after it was made (in whole seconds), and the floor is the expiry of
an entry that was in the cache, so a challenge made after the filling expires
later than the floor, or in the same second: refused then only if
``max_entries`` challenges made in that very second were used before it, all
of them solved and each through the per-address session rate. What filling
can cost an honest user is a challenge fetched *before* the filling and not
used yet: it is refused ("try a new one") and the next one passes.

The rule is the same in a cluster, where the cache is shared in Redis
(``store.redis_replay``, one script on a sorted set); this class is one
process's, and the rule's reference.
"""

from __future__ import annotations

import heapq
import math
from typing import Protocol

MAX_ENTRIES = 100_000


class SharedReplay(Protocol):
    """The cache of a cluster (``store.redis_replay``): the same rule, seen by every node."""

    async def claim(self, key: str, expires: float, now: float) -> bool: ...


class ReplayCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []
        self.floor = -math.inf  # a challenge expiring at or before this is refused

    def __len__(self) -> int:
        return len(self._until)

    def claim(self, key: str, expires: float, now: float) -> bool:
        """Record ``key`` as used until ``expires``; False if used already (or maybe used:
        it expires no later than an entry that was forgotten to make room)."""
        self.prune(now)
        if key in self._until or expires <= self.floor:
            return False
        while len(self._until) >= self.max_entries:
            soonest, gone = heapq.heappop(self._expiries)
            del self._until[gone]
            self.floor = max(self.floor, soonest)
        self._until[key] = expires
        heapq.heappush(self._expiries, (expires, key))
        return True

    def prune(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, key = heapq.heappop(self._expiries)
            self._until.pop(key, None)
