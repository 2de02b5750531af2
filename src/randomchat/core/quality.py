"""Per-connection metrics, as the seed's ``connectionMetrics`` tracks them.

Quality is judged from heartbeat regularity, because the client's ``sentAt``
comes from another clock and cannot give a trustworthy one-way delay. The
page sends a heartbeat every ``interval`` seconds; the gap since the previous
heartbeat (or since connecting, for the first) decides:

    gap <= 1.5 x interval  -> excellent
    gap <= 3   x interval  -> good
    otherwise              -> poor

A connection whose heartbeats come late is losing packets or being starved,
which is what users feel as a bad call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Quality = Literal["excellent", "good", "poor"]


def judge(gap: float, interval: float) -> Quality:
    if gap <= 1.5 * interval:
        return "excellent"
    if gap <= 3.0 * interval:
        return "good"
    return "poor"


@dataclass(slots=True)
class ConnectionMetrics:
    connected_at: float
    last_heartbeat: float
    message_count: int = 0
    heartbeat_count: int = 0
    quality: Quality = "excellent"

    @classmethod
    def start(cls, now: float) -> ConnectionMetrics:
        return cls(connected_at=now, last_heartbeat=now)

    def count_message(self) -> None:
        self.message_count += 1

    def heartbeat(self, now: float, interval: float) -> Quality | None:
        """Record a heartbeat; return the new quality if it changed."""
        gap = now - self.last_heartbeat
        self.last_heartbeat = now
        self.heartbeat_count += 1
        quality = judge(gap, interval)
        if quality == self.quality:
            return None
        self.quality = quality
        return quality
