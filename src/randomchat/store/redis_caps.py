"""Connection caps of a cluster, in Redis: ``--max-sockets-per-user`` and ``-per-address``
hold across every node, not per node.

Each user and each address unit (``proxy.aggregates``: an IPv4 address, or an IPv6 /64
and its /56 and /48) has a sorted set of the sids connected with it, each scored by
the end of its *lease*. The node that holds a socket renews the leases of all its
sockets every ``lease / 3`` seconds (``refresh``); a node that dies stops renewing, so
its sockets stop counting at most ``lease`` seconds after its last renewal. The lease
is the node timeout, so by the time the others evict a dead node (``liveness``), its
connections no longer count. Why leases rather than removing a dead node's entries at
its eviction: nothing then depends on the eviction running (or on which node runs
it), a stalled node that comes back re-asserts its own sockets by itself, and so does
every node after Redis lost its data (a restart without persistence).

Cost: connecting is one script call (prune the expired, check both caps, add),
disconnecting one ``ZREM`` per key in one round trip, and each node one round trip
per ``REFRESH_BATCH`` keys every ``lease / 3`` seconds, whatever its traffic.

Keys (``prefix`` is ``rc:`` by default; one hash tag, so the admission script's keys
are on one slot of a Redis Cluster):

==========================  ====================================  =====================
key                         what                                  expires
==========================  ====================================  =====================
``{caps}:u:<user>``         sorted set: the user's sids by lease  lease + 60 s after
                                                                  the last write
``{caps}:a:<unit>``         sorted set: the unit's sids by lease  the same
==========================  ====================================  =====================

Bounded: a set holds at most its cap of live leases (the admission refuses past it;
a renewal only re-adds sids that were admitted), expired ones are pruned at each
admission, and each key expires once nothing renews it. Time is the caller's wall
clock (the nodes share it, within a little: the keys outlive the leases by
``GRACE``); never Redis's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from randomchat.store.redis_base import unavailable

if TYPE_CHECKING:
    from randomchat.lobby.connections import Held, SharedCaps

PREFIX = "rc:"
GRACE = 60.0  # seconds a key outlives its newest lease: nodes' clocks differ a little
REFRESH_BATCH = 1000  # keys renewed per script call (Lua's stack holds a few thousand)
_SCOPES = {1: "user", 2: "address"}

# KEYS: the user's set, then each address unit's. ARGV: sid, now, lease end, cap per
# user, cap per address, key ttl in ms. Returns 0 and adds the sid to every set, or
# 1 (user) / 2 (address) and adds nothing when a set holds its cap of live leases
# without this sid.
_LUA_ADMIT = """
local sid, now = ARGV[1], tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local cap = tonumber(i == 1 and ARGV[4] or ARGV[5])
  if not redis.call('ZSCORE', key, sid) and redis.call('ZCARD', key) >= cap then
    return i == 1 and 1 or 2
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[3], sid)
  redis.call('PEXPIRE', key, ARGV[6])
end
return 0
"""

# KEYS: sets. ARGV: lease end, key ttl in ms, then the sid of each key, in order.
_LUA_RENEW = """
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[i + 2])
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS
"""


class RedisCaps:
    """``lobby.connections.SharedCaps`` on Redis: leases per user and per address unit."""

    def __init__(
        self, redis: Redis, per_user: int, per_address: int, lease: float, prefix: str = PREFIX
    ) -> None:
        self.redis = redis
        self.per_user = per_user
        self.per_address = per_address
        self.lease = lease
        self.every = lease / 3  # a renewal may fail or come late twice before a lease ends
        self._prefix = f"{prefix}{{caps}}:"
        self._ttl = str(max(1, int((lease + GRACE) * 1000)))
        self._admit = redis.register_script(_LUA_ADMIT)
        self._renew = redis.register_script(_LUA_RENEW)

    def _keys(self, user_id: str, units: Sequence[str]) -> list[str]:
        return [self._prefix + "u:" + user_id, *(self._prefix + "a:" + unit for unit in units)]

    @unavailable
    async def admit(self, sid: str, user_id: str, units: Sequence[str], now: float) -> str | None:
        """None if ``sid`` now counts for its user and address; else the cap it would pass."""
        args: list[str | int] = [sid, repr(now), repr(now + self.lease)]
        args += [self.per_user, self.per_address, self._ttl]
        code = int(await self._admit(keys=self._keys(user_id, units), args=args))
        return _SCOPES.get(code)

    @unavailable
    async def release(self, sid: str, user_id: str, units: Sequence[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self._keys(user_id, units):
                pipe.zrem(key, sid)
            await pipe.execute()

    @unavailable
    async def refresh(self, held: Sequence[Held], now: float) -> None:
        """Renew the leases of every socket this node holds."""
        pairs = [(key, sid) for sid, user, units in held for key in self._keys(user, units)]
        end = repr(now + self.lease)
        for start in range(0, len(pairs), REFRESH_BATCH):
            batch = pairs[start : start + REFRESH_BATCH]
            await self._renew(
                keys=[key for key, _ in batch], args=[end, self._ttl, *(sid for _, sid in batch)]
            )


if TYPE_CHECKING:  # mypy checks here that the class has its interface's methods

    def _interface(caps: RedisCaps) -> SharedCaps:
        return caps
