"""The moderation policy: report reasons and when reports turn into a ban.

A user is banned automatically when ``threshold`` different users reported
them within the window. Reports made before the user's latest ban do not count
again: they were dealt with by that ban (or by the administrator who lifted it).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

REPORT_REASONS = ("nudity", "harassment", "spam", "underage", "other")
MAX_NOTE = 500
AUTO_BANNED_BY = "auto"


def should_ban(distinct_reporters: int, threshold: int) -> bool:
    """Whether this many different reporters within the window earn a ban."""
    return distinct_reporters >= threshold


def counting_since(now: float, window_seconds: float, last_ban_at: float | None) -> float:
    """The earliest report time that still counts towards a ban at ``now``.

    Reports strictly after the last ban count: the report that triggered a ban
    carries the ban's own time, hence the next float up.
    """
    start = now - window_seconds
    if last_ban_at is None:
        return start
    return max(start, math.nextafter(last_ban_at, math.inf))


def auto_ban_reason(distinct_reporters: int) -> str:
    users = "user" if distinct_reporters == 1 else "users"
    return f"reported by {distinct_reporters} {users}"


class _Ban(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def until(self) -> float: ...


B = TypeVar("B", bound=_Ban)


class BanList(Generic[B]):
    """The active bans, held in memory so that admitting a connection reads no database.

    The database stays the record; this list is filled from it once at start,
    then kept current by the changes the periodic refresh reads (bans made by
    the CLI or another process arrive that way) and at once for bans made
    here. Entries are anything with ``user_id`` and ``until``.

    Expired bans are dropped as time passes: a heap of end times, popped when a
    lookup sees that its earliest end has passed (O(log n) per expired ban).
    Entries left behind in the heap by a lifted or replaced ban are skipped
    when popped, and the heap is rebuilt when they outnumber the bans.
    """

    def __init__(self) -> None:
        self._bans: dict[str, B] = {}
        self._ends: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._bans)

    def replace(self, bans: Iterable[B]) -> None:
        """Hold exactly ``bans`` (the start-up load)."""
        self._bans = {ban.user_id: ban for ban in bans}
        self._rebuild()

    def add(self, ban: B) -> None:
        """Hold ``ban`` as the user's ban; adding the same ban again costs nothing."""
        if self._bans.get(ban.user_id) == ban:
            return
        self._bans[ban.user_id] = ban
        heapq.heappush(self._ends, (ban.until, ban.user_id))
        if len(self._ends) > 2 * len(self._bans) + 1024:
            self._rebuild()

    def remove(self, user_id: str) -> None:
        self._bans.pop(user_id, None)

    def active(self, user_id: str, now: float) -> B | None:
        """The ban that keeps ``user_id`` out at ``now``, if any."""
        self.prune(now)
        ban = self._bans.get(user_id)
        return ban if ban is not None and now < ban.until else None

    def prune(self, now: float) -> None:
        """Forget the bans that ended at or before ``now``."""
        ends = self._ends
        while ends and ends[0][0] <= now:
            _, user_id = heapq.heappop(ends)
            ban = self._bans.get(user_id)
            if ban is not None and ban.until <= now:
                del self._bans[user_id]

    def _rebuild(self) -> None:
        self._ends = [(ban.until, ban.user_id) for ban in self._bans.values()]
        heapq.heapify(self._ends)
