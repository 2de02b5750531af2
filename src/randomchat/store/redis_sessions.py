"""The guest-session limiter of a cluster, in Redis: ``POST /api/session`` per address
counts on every node at once.

``store.address_limits.AddressLimiter``'s rule (a token bucket per address unit,
``proxy.aggregates``: an IPv4 address, or an IPv6 /64 and also its /56 and /48; the
request waits for the longest of them) with the buckets in Redis, so that a client
spreading its requests over the nodes behind a load balancer gets the rate once, not
once per node. One
script call per request takes from every bucket of the address: one round trip.

Keys (``prefix`` is ``rc:`` by default). The units of one address share a hash tag,
its widest unit (the IPv4 address, or the /48), so one script may touch them all on
a Redis Cluster, and different addresses spread over the slots:

=================================  ==============================  ====================
key                                what                            expires
=================================  ==============================  ====================
``{as:<widest>}:<limiter>:<unit>`` hash: a token bucket (tokens,   when full again
                                   updated)
=================================  ==============================  ====================

Bounded: a bucket exists only while it is not full (then it is equivalent to none and
expires). Each node also keeps a ledger of the buckets it wrote and when each is full
again; when it holds ``max_keys`` buckets not yet full, new addresses share one bucket
(``OVERFLOW_KEY``), as in memory: they are limited together rather than not at
all, and no attacker with many addresses can fill Redis (which runs with
``noeviction``) through this limiter. Time is the caller's wall clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis

from randomchat import proxy
from randomchat.core.ratelimit import Limit
from randomchat.store.address_limits import MAX_LIMITED_ADDRESSES, OVERFLOW_KEY
from randomchat.store.redis_base import text, unavailable

if TYPE_CHECKING:
    from randomchat.store.address_limits import SharedAddressLimits

PREFIX = "rc:"

# KEYS: the buckets of one address. ARGV: burst, rate, now. core.ratelimit.RateLimiter
# .take on each bucket in turn (as the memory limiter does: each with tokens pays one).
# Returns {seconds to wait, the longest ('0' if every bucket paid), seconds until the
# last of them is full again}, as strings (a Lua number would come back truncated).
_LUA_TAKE = """
local burst, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait, full = 0, 0
for _, key in ipairs(KEYS) do
  local tokens = burst
  local state = redis.call('HMGET', key, 't', 'u')
  if state[1] then
    -- Nodes' clocks differ a little: time never runs backwards into a debt.
    tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  if tokens < 1 then
    wait = math.max(wait, (1 - tokens) / rate)
  else
    tokens = tokens - 1
    local full_in = (burst - tokens) / rate
    full = math.max(full, full_in)
    redis.call('HSET', key, 't', string.format('%.17g', tokens), 'u', ARGV[3])
    redis.call('PEXPIRE', key, math.max(1, math.ceil(full_in * 1000)))
  end
end
return {string.format('%.17g', wait), string.format('%.17g', full)}
"""


class RedisAddressLimits:
    """One named limiter (``sessions``, ``pow``) of ``POST /api/session`` on Redis."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        limit: Limit,
        prefix: str = PREFIX,
        max_keys: int = MAX_LIMITED_ADDRESSES,
    ) -> None:
        self.name = name
        self.limit = limit
        self.max_keys = max_keys
        self._prefix = prefix
        self._take = redis.register_script(_LUA_TAKE)
        self._ledger: dict[str, float] = {}  # address written here -> when full again

    def _keys(self, units: tuple[str, ...]) -> list[str]:
        tag = f"{self._prefix}{{as:{units[-1]}}}:{self.name}:"
        return [tag + unit for unit in units]

    @unavailable
    async def take(self, address: str, now: float) -> float:
        """0.0 if allowed, else seconds to wait."""
        if not self.limit.enabled:
            return 0.0
        network = proxy.network_of(address)
        units = proxy.aggregates(network)
        if network not in self._ledger and len(self._ledger) >= self.max_keys:
            self.prune(now)
            if len(self._ledger) >= self.max_keys:
                network, units = OVERFLOW_KEY, (OVERFLOW_KEY,)
        wait, full_in = await self._take(
            keys=self._keys(units), args=[self.limit.burst, repr(float(self.limit.rate)), repr(now)]
        )
        if float(text(full_in)) > 0:
            self._ledger[network] = now + float(text(full_in))
        return float(text(wait))

    def prune(self, now: float) -> None:
        for network in [n for n, full_at in self._ledger.items() if full_at <= now]:
            del self._ledger[network]

    def __len__(self) -> int:
        return len(self._ledger)


if TYPE_CHECKING:  # mypy checks here that the class has its interface's methods

    def _interface(limits: RedisAddressLimits) -> SharedAddressLimits:
        return limits
