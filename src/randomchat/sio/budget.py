"""A per-connection packet budget: a token bucket with time passed in.

Each inbound Engine.IO packet takes one token; tokens refill at ``rate`` per
second up to ``burst``. A connection that finds the bucket empty is flooding
(an honest page sends a handful of packets per user action), and the engine
closes it rather than queueing or slowing it down.
"""

from __future__ import annotations


class Budget:
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.tokens = self.burst
        self.updated = now

    def take(self, now: float) -> bool:
        """Spend one token; False when there is none left."""
        tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True
