"""A clock and timers that move only when a test says so (as uvicorn's MockLoop)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class HandTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class HandClock:
    """Pass ``clock=hand, call_later=hand.call_later`` to the engine; ``advance`` fires timers."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._due: list[tuple[float, int, Callable[[], None], HandTimer]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> HandTimer:
        timer = HandTimer()
        heapq.heappush(self._due, (self.now + delay, next(self._order), callback, timer))
        return timer

    def advance(self, seconds: float) -> int:
        """Move the time on and run every timer now due, in order; how many ran."""
        self.now += seconds
        ran = 0
        while self._due and self._due[0][0] <= self.now:
            _, _, callback, timer = heapq.heappop(self._due)
            if not timer.cancelled:
                ran += 1
                callback()
        return ran

    @property
    def pending(self) -> int:
        return sum(not timer.cancelled for *_, timer in self._due)
