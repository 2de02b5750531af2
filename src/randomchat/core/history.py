"""Who was paired with whom recently, per user id, with time passed in.

Pairings are recorded on both sides, so a seeker's own history answers
"have these two met?" for either of them. Each user's pairings are kept oldest
first (a repeat pairing moves to the end), so reading the window and dropping
what left it touch only the pairings inside it, plus one.
"""

from __future__ import annotations


class PairHistory:
    def __init__(self, window: float) -> None:
        self.window = window
        self._met: dict[str, dict[str, float]] = {}
        self._previous: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._met)

    def record(self, a: str, b: str, now: float) -> None:
        for one, other in ((a, b), (b, a)):
            met = self._met.setdefault(one, {})
            met.pop(other, None)
            # ``now`` may have been read before an await, so another pairing recorded
            # meanwhile can be newer: keep the order (the window then ends a little later).
            newest = next(reversed(met.values()), now)
            met[other] = max(now, newest)
        self._previous[a] = b
        self._previous[b] = a

    def recent(self, user_id: str, now: float) -> frozenset[str]:
        """User ids paired with ``user_id`` within the window."""
        met = self._met.get(user_id)
        if not met:
            return frozenset()
        inside = []
        for other, at in reversed(met.items()):
            if now - at >= self.window:
                break
            inside.append(other)
        return frozenset(inside)

    def previous(self, user_id: str) -> str | None:
        return self._previous.get(user_id)

    def forget(self, user_id: str, now: float) -> None:
        """Drop a departed user's history once none of it is inside the window.

        The previous partner is kept as long as any pairing is: someone who
        reconnects at once must not be re-paired with the partner they left.
        """
        met = self._met.get(user_id)
        if met is None:
            return
        while met:
            other, at = next(iter(met.items()))
            if now - at < self.window:
                break
            del met[other]
        if not met:
            del self._met[user_id]
            self._previous.pop(user_id, None)

    def prune(self, now: float) -> None:
        for user_id in list(self._met):
            self.forget(user_id, now)
