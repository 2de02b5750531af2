"""The per-user and per-pair state of ``store.shared`` on Redis, seen by every node at once.

Theory of operation. Each class here has the methods of its interface in
``store.shared`` and keeps its state in Redis, so a write on one node is what
the next read on any node sees. Time is always the caller's ``now`` (it must be
a clock the nodes share, such as wall time): nothing here reads Redis's clock
or the local one. Redis's own expiry only frees keys that have become
equivalent to none, so nothing grows forever when a node dies or never prunes.

Atomicity and round trips. Every method is one round trip, except a block-set
miss (two, plus the database read). A method that reads and then writes one
user's or one socket's keys does it in one Lua script or one MULTI/EXEC on
keys with the same hash tag (``{u:<user>}``), so it is atomic and would also run
on a Redis Cluster. A method that writes two users' keys
(``RedisMeetings.record``, ``RedisBlocks.add``)
pipelines one atomic step per user: each user's keys are always consistent,
and the two steps reach Redis together.

Keys (``prefix`` is ``rc:`` by default):

==========================  ===========================================  ==================
key                         what                                         expires
==========================  ===========================================  ==================
``{u:<user>}:met``          sorted set: partners by when they met        a window after
                                                                         the last meeting
``{u:<user>}:prev``         string: the last partner                     the window + 60 s
``{u:<user>}:blocks``       set: users blocked by or blocking the user,  ``blocks_ttl``
                            and ``""`` once loaded from the database     (1 h)
``{u:<user>}:lim:<name>``   hash: a token bucket (tokens, updated)       when full again
==========================  ===========================================  ==================

``__len__`` counts node-local state, as ``Lobby.local_sizes`` wants: the
Redis classes hold almost none. ``RedisMeetings`` and ``RedisLimits`` keep a
ledger of what this node wrote (user -> last meeting; bucket -> when full),
pruned by ``prune(now)`` exactly as the memory classes prune, so their length
is the memory class's length for this node's writes only: approximate for the
cluster (a user paired through two nodes counts on both; writes by other nodes
do not count).

Call records are not here: each node keeps its own sockets' (``store.shared.MemoryCalls``,
started for a match made elsewhere by ``lobby.arrival``), which saves a call set-up
eight round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.store.redis_base import text, unavailable

if TYPE_CHECKING:
    from randomchat.store.shared import Blocks, Limits, Meetings

PREFIX = "rc:"
# The memory store keeps a previous partner until the housekeeping (every 60 s) after
# the window ends; so does this one, and a window of 0 still avoids an instant repeat.
PREVIOUS_GRACE = 60.0
BLOCKS_TTL = 3600.0  # a cached set is reloaded from the database after this
LOADED = ""  # marks a block set loaded from the database (user ids are never empty)

# KEYS: met, prev. ARGV: other, now, cutoff (out of the window at or below), met ttl
# in ms (0: no window, keep no meetings), prev ttl in ms.
_LUA_RECORD = """
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[5])
return 1
"""

# KEYS: a user's block set. ARGV: ttl in ms, then members. Adds them (a load adds the
# LOADED mark and the database's set; a block adds one user) and returns the set.
_LUA_BLOCKS_ADD = """
for i = 2, #ARGV, 1000 do  -- unpack in slices: Lua's stack holds a few thousand values
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('SMEMBERS', KEYS[1])
"""

# KEYS: bucket. ARGV: burst, rate, now. core.ratelimit.RateLimiter.take in Lua.
# Returns {seconds to wait ('0' if taken), seconds until full again}, as strings
# (a Lua number would come back truncated to an integer).
_LUA_TAKE = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = burst
local state = redis.call('HMGET', KEYS[1], 't', 'u')
if state[1] then
  -- Nodes' clocks differ a little: time never runs backwards into a debt.
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
end
if tokens < 1 then
  return {string.format('%.17g', (1 - tokens) / rate), '0'}
end
tokens = tokens - 1
local full_in = (burst - tokens) / rate
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(full_in * 1000)))
return {'0', string.format('%.17g', full_in)}
"""


def _ms(seconds: float) -> int:
    """A positive expiry in milliseconds (PEXPIRE 0 would delete the key)."""
    return max(1, int(seconds * 1000))


def _num(value: float) -> str:
    return repr(float(value))  # full precision, as Redis parses it


class _Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def user(self, user_id: str, kind: str) -> str:
        return f"{self.prefix}{{u:{user_id}}}:{kind}"


async def _each(
    redis: Redis, script: AsyncScript, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """Run ``script`` once per (keys, args), all in one round trip; atomic per call.

    A script in a redis-py pipeline costs a SCRIPT EXISTS round trip first, so
    the calls go as bare EVALSHAs; only after Redis lost its scripts (a restart)
    is the script loaded and the whole batch sent again (every call fails alike
    then, so none ran twice).
    """
    for attempt in range(2):
        pipe = redis.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        try:
            return list(await pipe.execute())
        except NoScriptError:
            if attempt:
                raise
            script.sha = text(await redis.script_load(script.script))
    raise AssertionError("unreachable")


class RedisMeetings:
    """The repeat window and the previous partner: a sorted set and a string per user."""

    def __init__(self, redis: Redis, window: float, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.window = window
        self._keys = _Keys(prefix)
        self._record = redis.register_script(_LUA_RECORD)
        self._ledger: dict[str, float] = {}  # user -> last meeting recorded here

    @unavailable
    async def record(self, a: str, b: str, now: float) -> None:
        met_ttl = _ms(self.window) if self.window > 0 else 0
        args = (_num(now), _num(now - self.window), met_ttl, _ms(self.window + PREVIOUS_GRACE))
        await _each(
            self.redis,
            self._record,
            [
                ((self._keys.user(user, "met"), self._keys.user(user, "prev")), (other, *args))
                for user, other in ((a, b), (b, a))
            ],
        )
        self._ledger[a] = self._ledger[b] = now

    @unavailable
    async def recent(self, user_id: str, now: float) -> frozenset[str]:
        if self.window <= 0:
            return frozenset()
        # Met at ``at`` with now - at < window, that is at > now - window (exclusive).
        found = await self.redis.zrangebyscore(
            self._keys.user(user_id, "met"), f"({_num(now - self.window)}", "+inf"
        )
        return frozenset(text(member) for member in found)

    @unavailable
    async def previous(self, user_id: str) -> str | None:
        found = await self.redis.get(self._keys.user(user_id, "prev"))
        return None if found is None else text(found)

    @unavailable
    async def history(self, user_id: str, now: float) -> tuple[frozenset[str], str | None]:
        async with self.redis.pipeline(transaction=False) as pipe:  # one slot: {u:<user>}
            if self.window > 0:
                pipe.zrangebyscore(
                    self._keys.user(user_id, "met"), f"({_num(now - self.window)}", "+inf"
                )
            pipe.get(self._keys.user(user_id, "prev"))
            *met, previous = await pipe.execute()
        recent = frozenset(text(member) for member in met[0]) if met else frozenset()
        return recent, None if previous is None else text(previous)

    async def prune(self, now: float) -> None:
        """Forget this node's ledger entries out of the window (Redis expires the keys)."""
        for user in [u for u, at in self._ledger.items() if now - at >= self.window]:
            del self._ledger[user]

    def __len__(self) -> int:
        return len(self._ledger)


class RedisBlocks:
    """A cache over the database's blocks shared by every node: a set per user, with a TTL.

    A set is loaded from the database on first use. ``add`` writes the database
    and then adds to both users' sets whether or not they are loaded: a set not
    yet loaded then holds the new block without the ``LOADED`` mark, and the
    load adds the database's set to it. So a load that read the database just
    before a block was committed cannot hide that block, and a block made on one
    node applies on every node at once.
    """

    def __init__(
        self, redis: Redis, db: Database, prefix: str = PREFIX, ttl: float = BLOCKS_TTL
    ) -> None:
        self.redis = redis
        self.db = db
        self.ttl = ttl
        self._keys = _Keys(prefix)
        self._add = redis.register_script(_LUA_BLOCKS_ADD)

    @unavailable
    async def excluded(self, user_id: str) -> frozenset[str]:
        key = self._keys.user(user_id, "blocks")
        found = {text(member) for member in await self.redis.smembers(key)}
        if LOADED not in found:
            loaded = await self.db.blocked_with(user_id)
            members = await self._add(keys=[key], args=[_ms(self.ttl), LOADED, *loaded])
            found = {text(member) for member in members}
        found.discard(LOADED)
        return frozenset(found)

    @unavailable
    async def add(self, blocker: str, blocked: str, now: float) -> None:
        await self.db.block(blocker, blocked, now)
        await _each(
            self.redis,
            self._add,
            [
                ((self._keys.user(a, "blocks"),), (_ms(self.ttl), b))
                for a, b in ((blocker, blocked), (blocked, blocker))
            ],
        )

    async def prune(self, keep: set[str]) -> None:
        """Nothing to do: ``keep`` is this node's users only, and the sets expire."""


class RedisLimits:
    """Per-user token buckets, one hash per user and limit, taken atomically by one script."""

    def __init__(self, redis: Redis, limits: dict[str, Limit], prefix: str = PREFIX) -> None:
        self.redis = redis
        self.limits = limits
        self._keys = _Keys(prefix)
        self._take = redis.register_script(_LUA_TAKE)
        self._ledger: dict[tuple[str, str], float] = {}  # bucket taken here -> when full

    @unavailable
    async def take(self, name: str, key: str, now: float) -> float:
        limit = self.limits[name]
        if not limit.enabled:
            return 0.0
        wait, full_in = await self._take(
            keys=[self._keys.user(key, f"lim:{name}")],
            args=[limit.burst, _num(limit.rate), _num(now)],
        )
        if float(text(wait)) > 0:
            return float(text(wait))
        self._ledger[name, key] = now + float(text(full_in))
        return 0.0

    async def prune(self, now: float) -> None:
        """Forget this node's ledger of buckets full again (Redis expires the keys)."""
        for bucket in [b for b, full_at in self._ledger.items() if full_at <= now]:
            del self._ledger[bucket]

    def __len__(self) -> int:
        return len(self._ledger)


if TYPE_CHECKING:  # mypy checks here that each class still has its interface's methods

    def _interfaces(
        m: RedisMeetings, b: RedisBlocks, lim: RedisLimits
    ) -> tuple[Meetings, Blocks, Limits]:
        return m, b, lim
