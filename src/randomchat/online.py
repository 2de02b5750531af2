"""``GET /api/online``: roughly how many people are online and searching, for the idle page.

The figures are rounded down to tens (to two significant digits from 1000 on) and
anything under ten is 0, which the page shows as "fewer than 10" (``rounded_down``).
Rounded down so that the page's "40+" is always true; coarse so that the figure moves
only when the crowd really grows or shrinks, not on every join and leave (the page
announces a change in a polite status, which would chatter);
nothing under ten because an exact small count tells a user whether one particular
person is here, or that the next stranger is the one they just skipped.

Every idle page asks every 20 s or so, with no token: the answer is the same for
everyone, so one ``store.counts()`` (a Redis round trip on a cluster) serves every
request for ``CACHE_SECONDS``, and concurrent misses share that one count.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from randomchat.clock import Clock, SystemClock
from randomchat.errors import StorageError
from randomchat.store import Counts, Store

CACHE_SECONDS = 5.0
# The same as the server's cache: a browser or proxy may keep the answer as long.
HEADERS = {"Cache-Control": f"public, max-age={int(CACHE_SECONDS)}"}
PRIVATE_BELOW = 10


def rounded_down(n: int) -> int:
    """``n`` rounded down to tens, or to two significant digits if coarser; 0 under 10."""
    if n < PRIVATE_BELOW:
        return 0
    step = 10  # 10..999 by tens; then coarser, keeping two digits (1234 is 1200)
    while n // step >= 100:
        step *= 10
    return n // step * step


class CachedCounts:
    """The store's counts, taken at most once per ``ttl`` seconds however many ask."""

    def __init__(self, store: Store, clock: Clock, ttl: float = CACHE_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._value: Counts | None = None
        self._taken = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> Counts:
        async with self._lock:  # a burst of misses waits for one count, not one each
            now = self._clock.monotonic()
            if self._value is None or now - self._taken >= self._ttl:
                self._value = await self._store.counts()
                self._taken = now
            return self._value


def payload(counts: Counts) -> dict[str, int]:
    return {"online": rounded_down(counts.connected), "searching": rounded_down(counts.waiting)}


async def online(cached: CachedCounts, request: Request) -> Response:
    try:
        counts = await cached.get()
    except StorageError:
        # Redis unreachable (a cluster's outage): a plain answer, not a traceback per
        # idle page; the page keeps the figure it had.
        return JSONResponse({"detail": "unavailable"}, status_code=503, headers=HEADERS)
    return JSONResponse(payload(counts), headers=HEADERS)


def routes(store: Store, clock: Clock | None = None) -> list[BaseRoute]:
    """``GET /api/online``, its one dependency the cache of the counts."""
    cached = CachedCounts(store, clock or SystemClock())

    async def endpoint(request: Request) -> Response:
        return await online(cached, request)

    return [Route("/api/online", endpoint, methods=["GET"])]
