"""The in-memory store: one process, no awaits, so every method is atomic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from randomchat.core.matching import MatchQueue, Pick, Seeker
from randomchat.core.state import Move, Phase, advance, check_can_search
from randomchat.store.base import Counts, Matched, Member, Queued, SearchResult


class MemoryStore:
    def __init__(self) -> None:
        self._members: dict[str, Member] = {}
        self._phases: dict[str, Phase] = {}
        self._queue = MatchQueue()
        self._pairs: dict[str, str] = {}

    async def join(self, member: Member) -> None:
        self._members[member.sid] = member
        self._phases[member.sid] = Phase.IDLE

    async def part(self, sid: str) -> Member | None:
        partner = self._end(sid)
        self._members.pop(sid, None)
        self._phases.pop(sid, None)
        return partner

    async def search(self, seeker: Seeker, now: float) -> SearchResult:
        check_can_search(self._phases[seeker.sid])
        found = self._queue.take(seeker)
        if found is None:
            self._phases[seeker.sid] = advance(self._phases[seeker.sid], Move.QUEUE)
            return Queued(self._queue.add(seeker.waiting(now)))
        return self._pair(seeker.sid, found, now)

    async def due_to_widen(
        self, now: float, waits: Mapping[str, float]
    ) -> list[tuple[str, frozenset[str]]]:
        return self._queue.due_to_widen(now, waits)

    async def look_again(self, seeker: Seeker, now: float) -> SearchResult | None:
        return None  # one process never passes a waiting user over: nothing new to find

    async def widen(self, seeker: Seeker, now: float) -> SearchResult | None:
        entry = self._queue.widen(seeker.sid, seeker.widened)
        if entry is None:
            return None
        found = self._queue.take(replace(seeker, widened=entry.widened))
        if found is None:
            return Queued(self._queue.position(seeker.sid) or len(self._queue))
        self._queue.remove(seeker.sid)
        return self._pair(seeker.sid, found, now)

    def _pair(self, sid: str, found: Pick, now: float) -> Matched:
        other = found.entry.sid
        self._phases[sid] = advance(self._phases[sid], Move.MATCH)
        self._phases[other] = advance(self._phases[other], Move.MATCH)
        self._pairs[sid] = other
        self._pairs[other] = sid
        return Matched(
            self._members[other], now - found.entry.since, found.shared, found.entry.options
        )

    async def pair(self, a: str, b: str) -> bool:
        if a == b or self._phases.get(a) is not Phase.IDLE or self._phases.get(b) is not Phase.IDLE:
            return False
        self._phases[a] = advance(Phase.IDLE, Move.MATCH)
        self._phases[b] = advance(Phase.IDLE, Move.MATCH)
        self._pairs[a] = b
        self._pairs[b] = a
        return True

    async def leave(self, sid: str) -> Member | None:
        return self._end(sid)

    def _end(self, sid: str) -> Member | None:
        phase = self._phases.get(sid)
        if phase is None:
            return None
        self._phases[sid] = advance(phase, Move.LEAVE)
        self._queue.remove(sid)
        partner_sid = self._pairs.pop(sid, None)
        if partner_sid is None:
            return None
        del self._pairs[partner_sid]
        self._phases[partner_sid] = advance(self._phases[partner_sid], Move.PARTNER_GONE)
        return self._members[partner_sid]

    async def partner_of(self, sid: str) -> str | None:
        return self._pairs.get(sid)

    async def phase_of(self, sid: str) -> Phase | None:
        return self._phases.get(sid)

    async def position_of(self, sid: str) -> int | None:
        return self._queue.position(sid)

    async def counts(self) -> Counts:
        return Counts(len(self._members), len(self._queue), len(self._pairs) // 2)
