"""Coalescing ICE candidates without a timer.

The seed held candidates for up to 50 ms to batch them, which delays every
call set-up. Here a candidate is flushed on the very next turn of the event
loop: whatever else the same sender's connection delivered in the meantime is
sent with it as one ``signal-ice-candidates-batch``, and nothing waits for
more. ``add`` says when the caller must schedule that flush.
"""

from __future__ import annotations

from typing import Any


class CandidateBatcher:
    def __init__(self) -> None:
        self._pending: dict[str, list[Any]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, sid: str, candidate: Any) -> bool:
        """Queue a candidate from ``sid``; return True if a flush must be scheduled."""
        pending = self._pending.get(sid)
        if pending is None:
            self._pending[sid] = [candidate]
            return True
        pending.append(candidate)
        return False

    def take(self, sid: str) -> list[Any]:
        """Remove and return the pending candidates of ``sid``, oldest first."""
        return self._pending.pop(sid, [])
