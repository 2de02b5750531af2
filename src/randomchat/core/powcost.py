"""What a guest session's proof of work costs an address: more, the further past its rate.

Past its session rate (``--sessions-per-minute``), an address may go on with a
solved proof of work (``--pow auto``). Each session it gets that way adds one
to its *pressure*, which drains at the session rate (a leaky bucket per
network). Every ``step`` (the session burst) of pressure doubles the largest
number of the address's next challenges (``max_number``), so the expected work
per session doubles, up to ``2 ** MAX_LEVEL`` times the base. An honest
household stays within its rate, or just past it, and pays the base; a script
minting identities pays more for each burst it takes.

Bounded: at most ``max_keys`` networks. Buckets are dropped oldest first, as
they drain, and past the bound the bucket touched longest ago is forgotten,
which lowers that network's cost to the base (still a proof of work, and still
the per-address rates): nobody is refused for want of room.

Pure: time is passed in (monotonic seconds).
"""

from __future__ import annotations

from collections import OrderedDict

MAX_LEVEL = 4  # the cost doubles at most 4 times: 16 times the base
MAX_KEYS = 100_000


class Pressure:
    __slots__ = ("_buckets", "max_keys", "rate", "step")

    def __init__(self, rate: float, step: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate  # drained per second: the session rate
        self.step = max(1, step)  # pressure per doubling: the session burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (level, at)

    def __len__(self) -> int:
        return len(self._buckets)

    def pressure(self, key: str, now: float) -> float:
        value, at = self._buckets.get(key, (0.0, now))
        return max(0.0, value - (now - at) * self.rate)

    def level(self, key: str, now: float) -> int:
        """How many times the base cost doubles for ``key`` now (0 to ``MAX_LEVEL``)."""
        return min(MAX_LEVEL, int(self.pressure(key, now) // self.step))

    def add(self, key: str, now: float) -> None:
        """``key`` got a session past its rate."""
        value = self.pressure(key, now) + 1.0
        self._buckets.pop(key, None)  # re-inserted last: the most recently touched
        self._buckets[key] = (value, now)
        # Oldest first: drained buckets (they mean the base cost anyway), then past the
        # bound whatever was touched longest ago. O(1) per call, amortised.
        while self._buckets:
            oldest = next(iter(self._buckets))
            if len(self._buckets) <= self.max_keys and self.pressure(oldest, now) > 0.0:
                break
            del self._buckets[oldest]


def max_number(base: int, level: int) -> int:
    """The challenge's largest number at ``level``: the expected work doubles per level."""
    return base << max(0, min(MAX_LEVEL, level))
