"""Used proof-of-work challenges, remembered until they expire, in bounded memory.

A solved ALTCHA challenge proves work once: the cache refuses a second use of
the same challenge while it is still valid (afterwards its expiry refuses it).
Entries are dropped when they expire (a heap of expiry times, popped as time
passes). The cache holds at most ``max_entries``; when full of unexpired
entries it refuses new ones (``claim`` answers False) rather than forget a used
challenge: forgetting would let it be replayed, and filling it takes that many
solved challenges within one challenge lifetime.
"""

from __future__ import annotations

import heapq


class ReplayCache:
    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._until)

    def claim(self, key: str, expires: float, now: float) -> bool:
        """Record ``key`` as used until ``expires``; False if already used, or if full."""
        self.prune(now)
        if key in self._until:
            return False
        if len(self._until) >= self.max_entries:
            return False
        self._until[key] = expires
        heapq.heappush(self._expiries, (expires, key))
        return True

    def prune(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, key = heapq.heappop(self._expiries)
            self._until.pop(key, None)
