"""Per-user and per-pair state beside the queue: who met whom, blocks, calls, limits.

This state decides who may meet whom, or is needed by a user's partner, so on a
cluster every node must see the same: each piece is an interface here with an
in-memory implementation (the embedded default, one process); a cluster's
shared ones on Redis (``store.redis_shared``) provide the same methods. Every
method is async for that reason; the in-memory ones never await, so each is
atomic.

Who owns which state (docs/state.md has the whole table):

============  ==========================================  ==================
interface     what                                        keyed by
============  ==========================================  ==================
``Meetings``  the repeat window and the previous partner  user id (per user)
``Blocks``    users blocked by or blocking a user, and    user id (per user;
              guest networks (``core.matching.NETWORK``)   a network's key)
``Calls``     each side's current call and its last few   socket id (per
              (``core.recentcalls``): partner, chat lines  pair: both sides)
              kept for a report, reported / blocked /
              relay-only flags
``Limits``    per-user rate limits (search, chat, typing,  user id (per user)
              reports)
============  ==========================================  ==================
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rbloom import Bloom

from randomchat.core.history import PairHistory
from randomchat.core.ratelimit import Limit, RateLimiter
from randomchat.core.recentcalls import RecentCalls
from randomchat.db import ChatLine, Database

CHAT_LINES_KEPT = 20
Flag = Literal["reported", "blocked", "stats"]


@dataclass(slots=True)
class CallRecord:
    """One side's call, kept a few minutes after it ended: reports come late."""

    partner_sid: str
    partner_user: str
    relay: bool = False  # relay-only (privacy mode): only relay candidates are passed on
    # The keyed hash of the partner's network when the partner is a guest: a report
    # stores it, so that a ban can cover the address the partner came from.
    partner_address: str | None = None
    chat: deque[ChatLine] = field(default_factory=lambda: deque(maxlen=CHAT_LINES_KEPT))
    reported: bool = False  # one report per reporter per call
    blocked: bool = False  # blocking again changes nothing: no second database write
    stats: bool = False  # one call-stats report per side per call
    # The ``callId`` of the call's ``match-found``: the page names the call it reports by
    # it. None from a starter that gives none; such a call is reported only as the newest.
    call_id: str | None = None
    # The partner's shown name, stored with a report of them for the console (issue 24).
    partner_name: str = ""


class Meetings(Protocol):
    async def record(self, a: str, b: str, now: float) -> None:
        """``a`` and ``b`` (user ids) were paired at ``now``."""

    async def recent(self, user_id: str, now: float) -> frozenset[str]:
        """Users paired with ``user_id`` within the repeat window."""

    async def previous(self, user_id: str) -> str | None:
        """The user's last partner."""

    async def history(self, user_id: str, now: float) -> tuple[frozenset[str], str | None]:
        """``recent`` and ``previous`` at once (a search needs both: one round trip)."""

    async def prune(self, now: float) -> None: ...

    def __len__(self) -> int: ...


class Blocks(Protocol):
    async def excluded(self, user_id: str) -> frozenset[str]:
        """Users blocked by or blocking ``user_id``: never to be paired with them."""

    async def add(self, blocker: str, blocked: str, now: float) -> None:
        """Record a block (permanent) and apply it both ways at once."""

    async def prune(self, keep: set[str]) -> None:
        """Drop cached sets of users not in ``keep`` (the database keeps the blocks)."""


class Calls(Protocol):
    async def start(self, sid: str, record: CallRecord, now: float | None = None) -> None:
        """``sid``'s new call; the one before it, if not ended, ends at ``now``."""

    async def end(self, sids: tuple[str, ...], now: float) -> None:
        """The current calls of ``sids`` (both sides of one call) ended at ``now``."""

    async def get(self, sid: str) -> CallRecord | None:
        """``sid``'s current or last call, whatever its age."""

    async def recent(self, sid: str, call_id: str | None, now: float) -> CallRecord | None:
        """``sid``'s call named ``call_id`` (None: the current or last), if it is on or
        ended at most ``core.recentcalls.RECENT_SECONDS`` before ``now``."""

    async def add_chat(self, sids: tuple[str, ...], line: ChatLine) -> None:
        """Keep a chat line in the call records of ``sids`` (both sides of a call)."""

    async def claim(self, sid: str, flag: Flag, call_id: str | None = None) -> bool:
        """Set ``flag`` on ``sid``'s call named ``call_id`` (None: the current or last);
        False if it was already set or there is no such call (check and set at once)."""

    async def forget(self, sid: str) -> None: ...

    def __len__(self) -> int: ...


class Limits(Protocol):
    async def take(self, name: str, key: str, now: float) -> float:
        """Take a token from ``key``'s bucket of limit ``name``: 0.0, or seconds to wait."""

    async def prune(self, now: float) -> None: ...

    def __len__(self) -> int: ...


class MemoryMeetings:
    def __init__(self, window: float) -> None:
        self._history = PairHistory(window)

    async def record(self, a: str, b: str, now: float) -> None:
        self._history.record(a, b, now)

    async def recent(self, user_id: str, now: float) -> frozenset[str]:
        return self._history.recent(user_id, now)

    async def previous(self, user_id: str) -> str | None:
        return self._history.previous(user_id)

    async def history(self, user_id: str, now: float) -> tuple[frozenset[str], str | None]:
        return self._history.recent(user_id, now), self._history.previous(user_id)

    async def prune(self, now: float) -> None:
        self._history.prune(now)

    def __len__(self) -> int:
        return len(self._history)


class MemoryBlocks:
    """A cache over the database's blocks, per user, loaded on first use.

    Most users never block anyone nor are blocked, and reading the database for
    each of them cost about half of a fresh user's call set-up. A Bloom filter of
    every user in a block row (read once, on first use, and grown by ``add``)
    answers "no blocks" for them without a read. Only this process writes blocks
    when this store is in use (a cluster uses ``RedisBlocks``), so the filter
    misses nothing. Its size is fixed (``FILTER_USERS`` at 0.1 % false positives,
    about 1.8 MB); past that many users its false positives rise, which costs
    database reads, never a wrong answer.
    """

    FILTER_USERS = 1_000_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sets: dict[str, frozenset[str]] = {}
        self._filter = Bloom(self.FILTER_USERS, 0.001)
        self._filled: asyncio.Task[None] | None = None
        self._generation = 0  # blocks added by this process, to spot a read they overtook

    async def _fill(self) -> None:
        async for user_id in self.db.users_in_blocks():
            self._filter.add(user_id)

    async def excluded(self, user_id: str) -> frozenset[str]:
        found = self._sets.get(user_id)
        if found is not None:
            return found
        filled = self._filled
        if filled is None or (filled.done() and (filled.cancelled() or filled.exception())):
            # One read for every caller; a failed read is tried again by the next.
            filled = self._filled = asyncio.ensure_future(self._fill())
        await asyncio.shield(filled)
        if user_id not in self._filter:
            return frozenset()
        for _ in range(3):
            generation = self._generation
            loaded = await self.db.blocked_with(user_id)
            if generation == self._generation:  # no block was added while reading
                self._sets[user_id] = loaded
                break
        return loaded  # after three overtaken reads: the latest, not cached

    async def add(self, blocker: str, blocked: str, now: float) -> None:
        await self.db.block(blocker, blocked, now)
        self._generation += 1
        for a, b in ((blocker, blocked), (blocked, blocker)):
            self._filter.add(a)
            if a in self._sets:
                self._sets[a] = self._sets[a] | {b}

    async def prune(self, keep: set[str]) -> None:
        for user_id in [u for u in self._sets if u not in keep]:
            del self._sets[user_id]


class MemoryCalls:
    """Per socket, its last ``core.recentcalls.KEEP`` calls, each kept until
    ``RECENT_SECONDS`` after its end; all of them forgotten when the socket goes."""

    def __init__(self) -> None:
        self._calls: RecentCalls[CallRecord] = RecentCalls()

    async def start(self, sid: str, record: CallRecord, now: float | None = None) -> None:
        self._calls.start(sid, record.call_id, record, now)

    async def end(self, sids: tuple[str, ...], now: float) -> None:
        for sid in sids:
            self._calls.end(sid, now)

    async def get(self, sid: str) -> CallRecord | None:
        entry = self._calls.newest(sid)
        return None if entry is None else entry.record

    async def recent(self, sid: str, call_id: str | None, now: float) -> CallRecord | None:
        entry = self._calls.find(sid, call_id, now)
        return None if entry is None else entry.record

    async def add_chat(self, sids: tuple[str, ...], line: ChatLine) -> None:
        for sid in sids:
            entry = self._calls.newest(sid)
            if entry is not None and entry.ended_at is None:
                entry.record.chat.append(line)

    async def claim(self, sid: str, flag: Flag, call_id: str | None = None) -> bool:
        entry = self._calls.newest(sid) if call_id is None else self._calls.named(sid, call_id)
        if entry is None or getattr(entry.record, flag):
            return False
        setattr(entry.record, flag, True)
        return True

    async def forget(self, sid: str) -> None:
        self._calls.forget(sid)

    def __len__(self) -> int:
        return len(self._calls)


class MemoryLimits:
    def __init__(self, limits: dict[str, Limit]) -> None:
        self._limiters = {name: RateLimiter(limit) for name, limit in limits.items()}

    async def take(self, name: str, key: str, now: float) -> float:
        return self._limiters[name].take(key, now)

    async def prune(self, now: float) -> None:
        for limiter in self._limiters.values():
            limiter.prune(now)

    def __len__(self) -> int:
        return sum(len(limiter) for limiter in self._limiters.values())
