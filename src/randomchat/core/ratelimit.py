"""Token buckets, with time passed in.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per
second; each allowed action takes one. The seed's rule "one find-partner per
1000 ms" is a bucket with rate 1/s and burst 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens per second; 0 disables the limit
    burst: int = 1

    @classmethod
    def one_per(cls, interval_ms: int) -> Limit:
        return cls(rate=1000.0 / interval_ms if interval_ms > 0 else 0.0, burst=1)

    @property
    def enabled(self) -> bool:
        return self.rate > 0


class RateLimiter:
    """Buckets keyed by a string (a user id).

    With ``max_keys``, at most that many buckets are kept: past it the bucket used
    longest ago is forgotten, so that its key starts full again. Never a bucket shared
    by strangers, which one key could drain for everyone. Without it, the caller
    bounds the keys (``prune``, or keys that are only ever its own connections').
    """

    def __init__(self, limit: Limit, max_keys: int | None = None) -> None:
        self.limit = limit
        self.max_keys = max_keys
        # key -> (tokens, updated_at); with max_keys, least recently used first
        self._buckets: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        state = self._buckets.get(key)
        if state is None:
            return float(self.limit.burst)
        tokens, updated = state
        return min(float(self.limit.burst), tokens + (now - updated) * self.limit.rate)

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key``. Return 0.0 if allowed, else seconds to wait."""
        if not self.limit.enabled:
            return 0.0
        tokens = self._tokens(key, now)
        if self.max_keys is not None and key in self._buckets:
            self._buckets[key] = self._buckets.pop(key)  # the most recently used: last
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if self.max_keys is not None:
                while len(self._buckets) > self.max_keys:
                    del self._buckets[next(iter(self._buckets))]
            return 0.0
        return (1.0 - tokens) / self.limit.rate

    def prune(self, now: float) -> None:
        """Forget full buckets: a full bucket behaves exactly like a missing one."""
        full = float(self.limit.burst)
        for key in [k for k in self._buckets if self._tokens(k, now) >= full]:
            del self._buckets[key]
