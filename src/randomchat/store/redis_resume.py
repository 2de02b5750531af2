"""Pending resumes of a cluster, in Redis: the two sides of a call may come back on two nodes.

After a restart each side of a call sends ``resume-call`` from a new socket
(``lobby.resume``), and behind a load balancer the two sockets may be on
different nodes. So the side that comes first is written here, findable by the
call id from any node, for the resume window; the second, on whichever node,
takes it and pairs the two sockets in the same script (each registered with its
own node, as the claim of a search does), so exactly one pairing happens however
the two race. The node of the second side then tells both (``call-resumed``; to a
socket on another node through that node's inbox, carrying the call record for it).

Keys (``prefix`` is ``rc:{lobby}:``, the store's: the script also writes both
sockets' records and the pair count, so all on one slot):

==================  ==============================================  =============
key                 what                                            expires
==================  ==============================================  =============
``rs:<call id>``    hash: the waiting side's sid, user, name, node  the window
                    and address hash
==================  ==============================================  =============

At most one entry per call id (the second side takes it; the same user's newer
socket replaces it), each expiring with the window, and the call ids are the
signed tickets' (``lobby.resume.verify``): a client cannot make up others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from randomchat.store.base import Member
from randomchat.store.redis import RedisStore
from randomchat.store.redis_base import text, unavailable
from randomchat.store.redis_scripts import REGISTER

if TYPE_CHECKING:
    from randomchat.lobby.resume import SharedResumes

WAITING, GONE = "waiting", "gone"

# KEYS: the call's pending entry, the record of the sid resuming. ARGV: prefix, sid,
# its user, name, node, address hash, the window in ms. {0}: it waits now (nobody did,
# or the same user's older socket did: replaced); {1, sid, user, name, address}: paired
# with the side that waited; {-1}: that side searched meanwhile, or its node is gone;
# {-2}: the sid resuming is not idle.
_LUA_RESUME = (
    REGISTER
    + """
local p, me = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[2]) == 1 then return {-2} end
local f = redis.call('HMGET', KEYS[1], 's', 'u', 'n', 'nd', 'ad')
if not f[1] or f[1] == me or f[2] == ARGV[3] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 's', me, 'u', ARGV[3], 'n', ARGV[4], 'nd', ARGV[5], 'ad', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  return {0}
end
redis.call('DEL', KEYS[1])
local other = f[1]
local mo = p..'m:'..other
-- A record: it searched (or was paired) since. No heartbeat: its node died, and its
-- eviction would not find a record written now.
if redis.call('EXISTS', mo) == 1 or redis.call('EXISTS', p..'node:'..f[4]) == 0 then
  return {-1}
end
register(p, other, mo, f[2], f[3], f[4], f[5])
register(p, me, KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
redis.call('HSET', mo, 'ph', 'm', 'pt', me)
redis.call('HSET', KEYS[2], 'ph', 'm', 'pt', other)
redis.call('HINCRBY', p..'stats', 'pairs', 1)
return {1, other, f[2], f[3], f[5]}
"""
)

# KEYS: pending entries. ARGV: the sid each was written for. Deletes those still its.
_LUA_WITHDRAW = """
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 's') == ARGV[i] then redis.call('DEL', key) end
end
return 1
"""


class RedisResumes:
    """``lobby.resume.SharedResumes`` on the cluster's store: one script per ``resume-call``."""

    def __init__(self, redis: Redis, store: RedisStore) -> None:
        self.store = store
        self.prefix = store.prefix
        self._resume = redis.register_script(_LUA_RESUME)
        self._withdraw = redis.register_script(_LUA_WITHDRAW)

    @unavailable
    async def offer(self, call_id: str, me: Member, window: float) -> Member | str:
        """The waiting side, now paired with ``me``; or ``WAITING`` (``me`` waits now), or
        ``GONE`` (the side that waited searched since, or its node died)."""
        # Its record may be written by another node's script from now on: its leave
        # and part must look for it.
        self.store.awaits_pairing(me.sid)
        keys = [self.prefix + "rs:" + call_id, self.prefix + "m:" + me.sid]
        args = [self.prefix, me.sid, me.user_id, me.username, self.store.node, me.address or ""]
        reply = await self._resume(keys=keys, args=[*args, max(1, int(window * 1000))])
        code = int(reply[0])
        if code == 1:
            return Member(text(reply[1]), text(reply[2]), text(reply[3]), text(reply[4]) or None)
        if code == -2:
            return GONE  # lobby.resume checked it idle just before: a race with its search
        return WAITING if code == 0 else GONE

    @unavailable
    async def withdraw(self, entries: Sequence[tuple[str, str]]) -> None:
        """Delete the entries (call id, sid) still waiting for those sids."""
        if entries:
            keys = [self.prefix + "rs:" + call_id for call_id, _ in entries]
            await self._withdraw(keys=keys, args=[sid for _, sid in entries])


if TYPE_CHECKING:  # mypy checks here that the class has its interface's methods

    def _interface(resumes: RedisResumes) -> SharedResumes:
        return resumes
