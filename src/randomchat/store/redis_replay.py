"""The proof-of-work replay cache of a cluster, in Redis: a solution works on one node once.

Each node verifies a solved challenge by itself (the key that signs challenges
is derived from the JWT secret, the same on every node), so a cache per node
would let one solution mint a session on every node. This one is shared: the
rule of ``core.replay.ReplayCache`` (used until it expires; bounded, the entry
that expires soonest forgotten to make room and a floor raised to its expiry,
so nothing forgotten is ever accepted again and a fresh challenge always
passes) in one Lua script, atomic across nodes.

Keys (``prefix`` is ``rc:`` by default; one hash tag, so one slot):

========================  ==========================================  ======================
key                       what                                        expires
========================  ==========================================  ======================
``{pow}:used``            sorted set: used challenges by expiry       the newest expiry + 60 s
``{pow}:floor``           string: the expiry of the latest entry      the floor + 60 s
                          forgotten to make room
========================  ==========================================  ======================

Why not one ``SET NX`` key per challenge: its count would have no bound but
the attackers' addresses, and Redis runs with ``noeviction`` (docs/scaling.md),
so filling it would make every node answer ``unavailable``. The sorted set
holds at most ``max_entries`` (about 100 bytes each). Time is the caller's
(wall clock, whole seconds of the challenges' expiries), never Redis's: keys
are given durations, and Redis's own expiry only frees keys that no longer
mean anything, 60 s late for the nodes' clocks differing a little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis

from randomchat.core.replay import MAX_ENTRIES
from randomchat.store.redis_base import unavailable

if TYPE_CHECKING:
    from randomchat.core.replay import SharedReplay

PREFIX = "rc:"
GRACE = 60  # seconds the keys outlive what they mean: nodes' clocks differ a little

# KEYS: used, floor. ARGV: challenge, expires, now, max entries, grace (seconds).
# core.replay.ReplayCache.claim: 1 if the challenge is claimed now, else 0. Expiries are
# set as durations from the caller's now (PEXPIRE), never as times on Redis's clock.
_LUA_CLAIM = """
local expires, now, grace = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local function ms(at) return math.max(1, math.ceil((at - now + grace) * 1000)) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local floor = tonumber(redis.call('GET', KEYS[2]) or '')
if (floor and expires <= floor) or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local raised = false
while redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) do
  local soonest = tonumber(redis.call('ZPOPMIN', KEYS[1])[2])
  if not floor or soonest > floor then
    floor = soonest
    raised = true
  end
end
if raised then
  redis.call('SET', KEYS[2], string.format('%.17g', floor), 'PX', ms(floor))
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIRE', KEYS[1], ms(newest))
return 1
"""


class RedisReplay:
    """``core.replay.SharedReplay`` on Redis: one script per claim, one round trip."""

    def __init__(self, redis: Redis, prefix: str = PREFIX, max_entries: int = MAX_ENTRIES) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.keys = [f"{prefix}{{pow}}:used", f"{prefix}{{pow}}:floor"]
        self._claim = redis.register_script(_LUA_CLAIM)

    @unavailable
    async def claim(self, key: str, expires: float, now: float) -> bool:
        args = [key, repr(float(expires)), repr(float(now)), str(self.max_entries), str(GRACE)]
        return bool(await self._claim(keys=self.keys, args=args))


if TYPE_CHECKING:  # mypy checks here that the class has its interface's methods

    def _interface(replay: RedisReplay) -> SharedReplay:
        return replay
