"""The console's "now": who is online, waiting and in calls, and the recent rates.

Counts come from the store (what ``/metrics`` reports as gauges); calls per
minute from the ``matches`` counter sampled here; the share of calls relayed
through TURN and the failed calls from the pages' call statistics (counters
since this process started); reports per hour from the database, so it
includes reports made through every process.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from prometheus_client import Counter

from randomchat.db import Database, triage
from randomchat.metrics import Metrics
from randomchat.store import Store

WINDOW_SECONDS = 60.0
SAMPLE_EVERY = 5.0
# Samples at least SAMPLE_EVERY apart over two windows: the deque never holds more.
MAX_SAMPLES = int(2 * WINDOW_SECONDS / SAMPLE_EVERY) + 1
HOUR = 3600.0


def counter_values(counter: Counter, label: str) -> dict[str, float]:
    """A labelled counter's totals by label value."""
    totals: dict[str, float] = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = sample.labels.get(label, "")
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


class RateSampler:
    """A per-minute rate of a growing total, from samples taken when asked."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)

    def per_minute(self, value: float, now: float) -> float | None:
        """The rate over up to the last minute, or None before there are two readings."""
        if not self._samples or now - self._samples[-1][0] >= SAMPLE_EVERY:
            self._samples.append((now, value))
        # The base is the newest reading at least a minute old (so the window spans a
        # minute), unless that one is older than two minutes (after a pause in polling).
        samples = self._samples
        while len(samples) > 1 and (
            samples[1][0] <= now - WINDOW_SECONDS or samples[0][0] < now - 2 * WINDOW_SECONDS
        ):
            samples.popleft()
        base_time, base_value = self._samples[0]
        elapsed = now - base_time
        if elapsed <= 0:
            return None
        return max(0.0, value - base_value) * 60.0 / elapsed


class Live:
    def __init__(self, store: Store, metrics: Metrics, db: Database) -> None:
        self._store = store
        self._metrics = metrics
        self._db = db
        self._matches = RateSampler()

    async def figures(self, monotonic: float, wall: float) -> dict[str, Any]:
        counts = await self._store.counts()
        matches = counter_values(self._metrics.matches, "")
        types = counter_values(self._metrics.candidate_types, "type")
        outcomes = counter_values(self._metrics.call_outcomes, "outcome")
        connected_calls = sum(types.values())
        reported_calls = sum(outcomes.values())
        return {
            "online": counts.connected,
            "waiting": counts.waiting,
            "inCalls": counts.pairs * 2,
            "pairs": counts.pairs,
            "callsPerMinute": self._matches.per_minute(sum(matches.values()), monotonic),
            "reportsPerHour": await triage.reports_since(self._db, wall - HOUR),
            "relayShare": types.get("relay", 0.0) / connected_calls if connected_calls else None,
            "relayedCalls": int(types.get("relay", 0.0)),
            "failedCalls": int(outcomes.get("failed", 0.0)),
            "failedShare": outcomes.get("failed", 0.0) / reported_calls if reported_calls else None,
            "at": wall,
        }
