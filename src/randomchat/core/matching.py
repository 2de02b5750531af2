"""Who is paired with whom: a first-come-first-served queue.

The newcomer is paired with the user who has waited longest, skipping any
entry of the newcomer's own user id (two tabs of one user never meet).
Entries are kept in insertion order in a dict, so removal from the middle
(a waiting user who leaves or disconnects) is O(1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Waiting:
    sid: str
    user_id: str
    since: float


class MatchQueue:
    """The waiting room. Pure data structure: no I/O, time is passed in."""

    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        return sid in self._entries

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._entries.values())

    def add(self, sid: str, user_id: str, now: float) -> int:
        """Queue ``sid`` at the back; return its 1-based position."""
        self._entries[sid] = Waiting(sid, user_id, now)
        return len(self._entries)

    def remove(self, sid: str) -> Waiting | None:
        return self._entries.pop(sid, None)

    def position(self, sid: str) -> int | None:
        """1-based place of ``sid`` in the queue (O(n): for rare requests only)."""
        for place, other in enumerate(self._entries, start=1):
            if other == sid:
                return place
        return None

    def pop_partner_for(self, user_id: str) -> Waiting | None:
        """Take the longest-waiting entry of another user out of the queue."""
        for entry in self._entries.values():
            if entry.user_id != user_id:
                del self._entries[entry.sid]
                return entry
        return None
