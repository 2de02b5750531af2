"""Each socket's recent calls, so that a partner can be reported or blocked after the call.

A user who was flashed and skipped reports from the between-calls screen, seconds or
minutes after the call ended, perhaps already in the next call. So each socket keeps its
last ``KEEP`` calls, newest last; a call that ended is kept for ``RECENT_SECONDS`` after
its end and then forgotten, and a call still on is always kept. The page names a call by
the ``callId`` its ``match-found`` carried; without one, the newest call is meant.

Pure and synchronous, with time passed in (seconds of the lobby's monotonic clock).
Bounded: ``KEEP`` entries per socket, and sockets are forgotten when they disconnect.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

KEEP = 3  # the last call is what the page offers; older ones for a user who noticed late
RECENT_SECONDS = 300.0  # long enough to find the button, short enough to hold little

T = TypeVar("T")


@dataclass(slots=True)
class Entry(Generic[T]):
    call_id: str | None  # None: a call whose id its starter did not give (never named)
    record: T
    ended_at: float | None = None  # None: the call is still on


class RecentCalls(Generic[T]):
    def __init__(self, keep: int = KEEP, recent: float = RECENT_SECONDS) -> None:
        self.keep = keep
        self.recent = recent
        self._by_key: dict[str, deque[Entry[T]]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def start(self, key: str, call_id: str | None, record: T, now: float | None) -> Entry[T]:
        """A new call of ``key``: the call before it, if still marked on, ends now.

        The same call started again (``resume-call`` after a restart names it) replaces
        the entry and keeps nothing else of it: the flags of the old one go with it, so
        a resumed call can be reported once more, which the report caps still bound.
        """
        entries = self._by_key.setdefault(key, deque(maxlen=self.keep))
        if entries and call_id is not None and entries[-1].call_id == call_id:
            entries.pop()
        elif entries and entries[-1].ended_at is None:
            if now is None:
                entries.pop()  # no time to start its window from: not reportable later
            else:
                entries[-1].ended_at = now
        entry = Entry(call_id, record)
        entries.append(entry)
        return entry

    def end(self, key: str, now: float) -> None:
        """``key``'s current call ended at ``now`` (a second end changes nothing)."""
        entries = self._by_key.get(key)
        if entries and entries[-1].ended_at is None:
            entries[-1].ended_at = now

    def newest(self, key: str) -> Entry[T] | None:
        """The current or last call, whatever its age (signaling and telemetry use it)."""
        entries = self._by_key.get(key)
        return entries[-1] if entries else None

    def named(self, key: str, call_id: str) -> Entry[T] | None:
        """The call named ``call_id``, whatever its age."""
        return next((e for e in self._by_key.get(key, ()) if e.call_id == call_id), None)

    def find(self, key: str, call_id: str | None, now: float) -> Entry[T] | None:
        """The call named ``call_id`` (None: the newest), if on or ended recently enough."""
        entries = self._by_key.get(key)
        if not entries:
            return None
        while entries and self._expired(entries[0], now):
            entries.popleft()
        if not entries:
            del self._by_key[key]
            return None
        found = entries[-1] if call_id is None else self.named(key, call_id)
        return None if found is None or self._expired(found, now) else found

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)

    def _expired(self, entry: Entry[T], now: float) -> bool:
        return entry.ended_at is not None and now - entry.ended_at > self.recent
