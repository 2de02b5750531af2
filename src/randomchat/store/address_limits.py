"""Rate limits per client address (``POST /api/session``): in this process, or a cluster's.

``AddressLimiter`` keeps token buckets in memory; on a cluster each limiter is a
``store.redis_sessions.RedisAddressLimits`` instead, so the rate holds across the
nodes. ``http.routes`` takes either through ``limiter`` as a ``Take``: an address
in, the seconds to wait out (0.0: allowed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from randomchat import proxy
from randomchat.core.ratelimit import Limit, RateLimiter

# Addresses a limiter remembers; past this, new addresses share one bucket.
MAX_LIMITED_ADDRESSES = 100_000
OVERFLOW_KEY = "overflow"
PRUNE_SECONDS = 10.0

Take = Callable[[str], Awaitable[float]]  # an address -> seconds to wait (0.0: allowed)


class SharedAddressLimits(Protocol):
    """A cluster's limiter (``store.redis_sessions``); ``now`` is wall time."""

    async def take(self, address: str, now: float) -> float: ...


SharedFactory = Callable[[str, Limit], SharedAddressLimits]  # (name, limit) -> limiter


class AddressLimiter:
    """Token buckets per client network (IPv4 address, or IPv6 /64 and also its /56 and
    /48: ``proxy.aggregates``), bounded in memory.

    Full buckets are forgotten every ``PRUNE_SECONDS``; when ``max_keys``
    networks still hold a bucket, new ones share a single bucket (they are
    limited together rather than not at all, and memory stays bounded).
    """

    def __init__(self, limit: Limit, max_keys: int = MAX_LIMITED_ADDRESSES) -> None:
        self._limiter = RateLimiter(limit)
        self._max_keys = max_keys
        self._pruned_at = -math.inf
        self._known: set[str] = set()

    def take(self, address: str, now: float) -> float:
        """0.0 if allowed, else seconds to wait."""
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._limiter.prune(now)
            self._pruned_at = now
        keys = proxy.aggregates(proxy.network_of(address))
        if len(self._limiter) >= self._max_keys:
            self._limiter.prune(now)
            self._pruned_at = now
            if len(self._limiter) >= self._max_keys:
                keys = (OVERFLOW_KEY,)
        return max(self._limiter.take(key, now) for key in keys)

    def __len__(self) -> int:
        return len(self._limiter)


def limiter(name: str, limit: Limit, shared: SharedFactory | None) -> Take:
    """The limiter ``name``: the cluster's (on wall time, which the nodes share) when
    ``shared`` is given, else one in this process (on monotonic time)."""
    if shared is not None:
        cluster = shared(name, limit)
        return lambda address: cluster.take(address, time.time())
    local = AddressLimiter(limit)

    async def take(address: str) -> float:
        return local.take(address, time.monotonic())

    return take
