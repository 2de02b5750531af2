"""Time as a dependency: the async layers call a clock, tests move a fake one by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds, for durations and rate limits."""

    def wall_ms(self) -> int:
        """Unix time in milliseconds, for timestamps sent to clients."""


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000


class WallClock(SystemClock):
    """A cluster's clock: its times are compared across machines (queue waits, repeat
    windows, rate limits in Redis), and only the wall clock is shared between them
    (kept within milliseconds by NTP), while each machine's monotonic clock has its own zero."""

    def monotonic(self) -> float:
        return time.time()
