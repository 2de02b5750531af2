"""The store on Redis: the queue and the pairs of a cluster of nodes.

Atomicity. Who may meet whom stays the pure ``core.matching.pick`` in Python,
exactly the rules of the in-memory store; Redis only decides who gets whom.
A search reads the waiting entries the seeker could match (the lists of its
interests and the accept-anyone list of its mode, oldest first, at most
``SCAN_LIMIT`` each), picks the best in Python, and then *claims* it with one
Lua script that checks, inside Redis, that the entry is still the one it read
(same arrival number, still waiting) and that the seeker is still where it was,
and then takes both out of the queue and pairs them. So no user is ever in
two pairs and no two nodes take the same waiting user: the loser of a race
finds its claim refused and claims the next best. A seeker that
finds nobody queues itself, then looks once more: of two compatible users who
queue at the same moment, the later one sees the earlier one in that second
look, so they cannot both wait for each other unseen.

Cost per pairing, measured in round trips: one pipelined read of the index
lists, one pipelined read of the entries, one script; plus one script to
queue when nobody is waiting. Every key of a node's users' state is written
only by scripts, so a node that dies between two steps leaves nothing half
done; what it leaves (queue entries and pairs of its sockets) is removed by
``evict_node`` (see ``randomchat.cluster``).

Keys (``prefix`` is ``rc:`` by default; all keys live on one Redis shard):

==========================  ==============================================
``m:<sid>``                 a connection: user, name, node, phase, partner,
                            and while waiting its entry (arrival number,
                            since, interests, strict, widened, previous,
                            mode, privacy)
``q:<mode>``                waiting sids by arrival number (positions)
``qa:<mode>``               waiting sids that accept anyone
``qi:<mode>:<interest>``    waiting sids by interest
``qw:<node>``               sids of a node still to widen, by ``since``
``sids:<node>``             every connected sid of a node
``seq``, ``stats``          the arrival counter; connected and pair counts
==========================  ==============================================
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from randomchat.core.matching import MODES, Pick, Seeker, Waiting, ideal, pick
from randomchat.core.state import Phase, check_can_search
from randomchat.errors import IllegalMove, StorageError
from randomchat.store.base import Counts, Matched, Member, Queued, SearchResult, Taken
from randomchat.store.redis_base import text, unavailable

SCAN_LIMIT = 512  # entries read per index list per search at most: the oldest of each
PAGE = 32  # entries read per index list at a time
MAX_CLAIMS = 16  # claim scripts one search may run before it waits (see _pair)
CLAIM_BATCH = 16  # candidates one claim script tries, best first
SEP = "\x1f"  # between interests in an entry (cleaned interests never contain it)
_PHASES = {"i": Phase.IDLE, "w": Phase.WAITING, "m": Phase.MATCHED}
_FIELDS = ("ph", "seq", "since", "it", "st", "wd", "pv", "md", "u", "ad")

_LUA_UNQUEUE = """
local function unqueue(p, sid, m)
  local f = redis.call('HMGET', m, 'md', 'it', 'nd')
  local md = f[1] or ''
  redis.call('ZREM', p..'q:'..md, sid)
  redis.call('ZREM', p..'qa:'..md, sid)
  for tag in string.gmatch(f[2] or '', '[^\\31]+') do
    redis.call('ZREM', p..'qi:'..md..':'..tag, sid)
  end
  redis.call('ZREM', p..'qw:'..(f[3] or ''), sid)
  redis.call('HDEL', m, 'seq', 'since', 'it', 'st', 'wd', 'pv', 'md', 'pr')
end
-- End sid's waiting or call: returns the partner's sid, user and name, or nothing.
local function finish(p, sid, m)
  local f = redis.call('HMGET', m, 'ph', 'pt')
  if f[1] == 'w' then
    unqueue(p, sid, m)
  elseif f[1] == 'm' then
    local mp = p..'m:'..f[2]
    redis.call('HSET', m, 'ph', 'i', 'pt', '')
    if redis.call('HGET', mp, 'pt') == sid then
      redis.call('HSET', mp, 'ph', 'i', 'pt', '')
      redis.call('HINCRBY', p..'stats', 'pairs', -1)
      local o = redis.call('HMGET', mp, 'u', 'n', 'pr')
      return {f[2], o[1], o[2]}
    end
  end
  if f[1] then redis.call('HSET', m, 'ph', 'i', 'pt', '') end
  return {}
end
"""

# KEYS none (all derived from ARGV[1], the prefix). ARGV: prefix, sid, user, name, node,
# address hash ('' for none)
_JOIN = """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
redis.call('SADD', p..'sids:'..ARGV[5], sid)
if redis.call('EXISTS', m) == 1 then return 0 end  -- known: its phase and partner stand
redis.call('HINCRBY', p..'stats', 'connected', 1)
redis.call('HSET', m, 'u', ARGV[3], 'n', ARGV[4], 'nd', ARGV[5], 'ad', ARGV[6], 'ph', 'i', 'pt', '')
return 1
"""

# ARGV: prefix, sid, since, mode, interests, strict, widened, previous, privacy
_ENQUEUE = """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'nd')
if not f[1] then return {-1} end
if f[1] ~= 'i' then return {-2, f[1]} end
local seq = redis.call('INCR', p..'seq')
local md = ARGV[4]
redis.call('HSET', m, 'ph', 'w', 'seq', seq, 'since', ARGV[3], 'md', md, 'it', ARGV[5],
  'st', ARGV[6], 'wd', ARGV[7], 'pv', ARGV[8], 'pr', ARGV[9])
redis.call('ZADD', p..'q:'..md, seq, sid)
if ARGV[7] == '1' or ARGV[5] == '' then redis.call('ZADD', p..'qa:'..md, seq, sid) end
for tag in string.gmatch(ARGV[5], '[^\\31]+') do
  redis.call('ZADD', p..'qi:'..md..':'..tag, seq, sid)
end
if ARGV[5] ~= '' and ARGV[6] == '0' and ARGV[7] == '0' then
  redis.call('ZADD', p..'qw:'..f[2], ARGV[3], sid)
end
return {redis.call('ZRANK', p..'q:'..md, sid) + 1}
"""

# ARGV: prefix, seeker sid, seeker's phase ('i' or 'w'), this claim's token, then
# candidate sid and arrival number pairs, best first. Pairs the seeker with the first
# candidate still waiting as read: returns {1, sid, user, name, since}; {0} when every
# candidate is gone; {-1, phase} when the seeker is no longer where it was.
_CLAIM = (
    _LUA_UNQUEUE
    + """
local p, sid, token = ARGV[1], ARGV[2], ARGV[4]
local ms = p..'m:'..sid
local f = redis.call('HMGET', ms, 'ph', 'pt', 'ck', 'cp')
local sp = f[1]
if sp == 'm' and f[3] == token then
  -- A retry of this very claim whose reply was lost: the first attempt paired the
  -- seeker. Answer as it would have (the wait is not known any more). Being paired by
  -- someone else's claim, even with one of these candidates, is not this: that claim's
  -- node tells both sides, so this one must not (it would send a second match-found).
  -- The partner's privacy flag left its record with its queue entry: kept with the token.
  local pt = f[2]
  local c = redis.call('HMGET', p..'m:'..pt, 'u', 'n', 'ad')
  return {1, pt, c[1], c[2], '', c[3] or '', f[4] or '0'}
end
if sp ~= ARGV[3] then return {-1, sp or ''} end
for i = 5, #ARGV, 2 do
  local cand = ARGV[i]
  local mc = p..'m:'..cand
  local c = redis.call('HMGET', mc, 'ph', 'seq', 'u', 'n', 'since', 'ad', 'pr')
  if c[1] == 'w' and c[2] == ARGV[i + 1] then
    unqueue(p, cand, mc)
    if sp == 'w' then unqueue(p, sid, ms) end
    redis.call('HSET', mc, 'ph', 'm', 'pt', sid)
    redis.call('HSET', ms, 'ph', 'm', 'pt', cand, 'ck', token, 'cp', c[7] or '0')
    redis.call('HINCRBY', p..'stats', 'pairs', 1)
    return {1, cand, c[3], c[4], c[5], c[6] or '', c[7] or '0'}
  end
end
return {0}
"""
)

# ARGV: prefix, sid
_LEAVE = (
    _LUA_UNQUEUE
    + """
return finish(ARGV[1], ARGV[2], ARGV[1]..'m:'..ARGV[2])
"""
)

# ARGV: prefix, sid
_PART = (
    _LUA_UNQUEUE
    + """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
if redis.call('EXISTS', m) == 0 then return {} end
local out = finish(p, sid, m)
redis.call('SREM', p..'sids:'..(redis.call('HGET', m, 'nd') or ''), sid)
redis.call('DEL', m)
redis.call('HINCRBY', p..'stats', 'connected', -1)
return out
"""
)

# ARGV: prefix, a, b: pair two idle connections (a call resumed after a restart).
_PAIR = """
local p, a, b = ARGV[1], ARGV[2], ARGV[3]
local ma, mb = p..'m:'..a, p..'m:'..b
if a == b or redis.call('HGET', ma, 'ph') ~= 'i' or redis.call('HGET', mb, 'ph') ~= 'i' then
  return 0
end
redis.call('HSET', ma, 'ph', 'm', 'pt', b)
redis.call('HSET', mb, 'ph', 'm', 'pt', a)
redis.call('HINCRBY', p..'stats', 'pairs', 1)
return 1
"""

# ARGV: prefix, sid. Returns {} when not waiting or already widened.
_WIDEN = """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'wd', 'seq', 'md', 'nd')
if f[1] ~= 'w' or f[2] == '1' then return {} end
redis.call('HSET', m, 'wd', '1')
redis.call('ZREM', p..'qw:'..f[5], sid)
redis.call('ZADD', p..'qa:'..f[4], f[3], sid)
return {f[3]}
"""

# ARGV: prefix, sid
_POSITION = """
local p, sid = ARGV[1], ARGV[2]
local md = redis.call('HGET', p..'m:'..sid, 'md')
if not md then return nil end
local rank = redis.call('ZRANK', p..'q:'..md, sid)
if not rank then return nil end
return rank + 1
"""


class RedisStore:
    """``Store`` for a cluster: every node's store talks to the same Redis."""

    def __init__(self, redis: Redis, node: str, prefix: str = "rc:") -> None:
        self.redis = redis
        self.node = node
        self.prefix = prefix
        self._join = redis.register_script(_JOIN)
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._leave = redis.register_script(_LEAVE)
        self._part = redis.register_script(_PART)
        self._widen = redis.register_script(_WIDEN)
        self._pair_idle = redis.register_script(_PAIR)
        self._position = redis.register_script(_POSITION)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @unavailable
    async def join(self, member: Member) -> None:
        await self.rejoin(member)

    @unavailable
    async def rejoin(self, member: Member) -> bool:
        """``join``; True when Redis did not know the socket (it lost its data): the socket
        is registered anew, idle, and whatever call or queue place it had is gone."""
        p = self.prefix
        address = member.address or ""
        args = [p, member.sid, member.user_id, member.username, self.node, address]
        return bool(await self._join(args=args))

    @unavailable
    async def part(self, sid: str) -> Member | None:
        return _partner(await self._part(args=[self.prefix, sid]))

    @unavailable
    async def pair(self, a: str, b: str) -> bool:
        return bool(await self._pair_idle(args=[self.prefix, a, b]))

    @unavailable
    async def leave(self, sid: str) -> Member | None:
        return _partner(await self._leave(args=[self.prefix, sid]))

    @unavailable
    async def search(self, seeker: Seeker, now: float) -> SearchResult:
        matched = await self._pair(seeker, "i", now)
        if matched is not None:
            return matched
        position = await self._queue(seeker, now)
        return await self._look_again(seeker, now, position)

    @unavailable
    async def due_to_widen(self, now: float, wait: float) -> list[str]:
        due = await self.redis.zrangebyscore(self._key("qw", self.node), "-inf", now - wait)
        return [text(sid) for sid in due]

    @unavailable
    async def widen(self, seeker: Seeker, now: float) -> SearchResult | None:
        if not await self._widen(args=[self.prefix, seeker.sid]):
            return None
        return await self._look_again(replace(seeker, widened=True), now, None)

    async def _look_again(self, seeker: Seeker, now: float, position: int | None) -> SearchResult:
        """The seeker waits: pair it with whoever queued meanwhile, if anyone."""
        try:
            matched = await self._pair(seeker, "w", now)
        except (IllegalMove, StorageError):
            # No longer waiting: another seeker claimed it meanwhile (its node sends both
            # match-found), and that call may even have ended already.
            return Taken()
        if matched is not None:
            return matched
        if position is None:
            position = await self.position_of(seeker.sid)
        # Last, with nothing awaited after it until the lobby emits waiting-for-partner:
        # a seeker claimed before this read answers nothing (the claimer's match-found is
        # on its way), one claimed after it gets its match-found through this node's
        # stream reader, which cannot run before that emit. So waiting never follows
        # match-found.
        if await self.redis.hget(self._key("m", seeker.sid), "ph") not in (b"w", "w"):
            return Taken()
        return Queued(position or 1)

    async def _pair(self, seeker: Seeker, phase: str, now: float) -> Matched | None:
        """Claim the best compatible waiting entry, or the next best if it was taken.

        One script call tries the ``CLAIM_BATCH`` best candidates in rank order.
        When all were taken, another seeker paired meanwhile, so the cluster as a
        whole progresses; ``MAX_CLAIMS`` bounds one seeker's work under extreme
        contention (it then waits, and later seekers find it).
        """
        for _ in range(MAX_CLAIMS):
            ranked = _ranked(seeker, await self._read(seeker))
            if not ranked:
                return None
            # The token tells a retry of this call (by the client library, after a lost
            # reply) from a pairing made by someone else's claim.
            args: list[str | int] = [self.prefix, seeker.sid, phase, secrets.token_hex(8)]
            for best, seq in ranked:
                args += [best.entry.sid, seq]
            reply = await self._claim(args=args)
            code = int(reply[0])
            if code == 1:
                sid = text(reply[1])
                best = next(best for best, _ in ranked if best.entry.sid == sid)
                partner = Member(sid, text(reply[2]), text(reply[3]), text(reply[5]) or None)
                since = text(reply[4])
                waited = max(0.0, now - float(since)) if since else 0.0
                return Matched(partner, waited, best.common, text(reply[6]) == "1")
            if code == -1:
                check_can_search(_PHASES.get(text(reply[1]), Phase.IDLE))
                raise _lost()
        return None

    async def _queue(self, seeker: Seeker, now: float) -> int:
        reply = await self._enqueue(
            args=[
                self.prefix,
                seeker.sid,
                repr(now),
                seeker.mode,
                SEP.join(sorted(seeker.interests)),
                int(seeker.strict),
                int(seeker.widened),
                seeker.previous or "",
                int(seeker.privacy),
            ]
        )
        code = int(reply[0])
        if code == -1:
            raise _lost()
        if code == -2:
            check_can_search(_PHASES[text(reply[1])])
        return code

    async def _read(self, seeker: Seeker) -> list[tuple[int, Waiting]]:
        """The waiting entries ``seeker`` could match, oldest first, read from Redis.

        Page by page (``PAGE`` of each index list): usually the first page holds an
        entry nothing could rank above, and the read stops there; at most
        ``SCAN_LIMIT`` of each list are read.
        """
        mode = seeker.mode
        keys = [self._key("qi", mode, tag) for tag in sorted(seeker.interests)]
        if seeker.accepts_anyone:
            keys.append(self._key("qa", mode))
        entries: list[tuple[int, Waiting]] = []
        seen = {seeker.sid}
        for start in range(0, SCAN_LIMIT, PAGE):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrange(key, start, start + PAGE - 1)
                lists: list[list[Any]] = await pipe.execute()
            sids = sorted({text(s) for found in lists for s in found} - seen)
            seen.update(sids)
            if sids:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for sid in sids:
                        pipe.hmget(self._key("m", sid), *_FIELDS)
                    rows: list[list[Any]] = await pipe.execute()
                entries += _entries(sids, rows)
            if all(len(found) < PAGE for found in lists):
                break  # every list read to its end
            best = pick(seeker, (entry for _, entry in sorted(entries, key=lambda e: e[0])))
            if best is not None and ideal(seeker, best):
                break
        return sorted(entries, key=lambda pair: pair[0])

    @unavailable
    async def partner_of(self, sid: str) -> str | None:
        phase, partner = await self.redis.hmget(self._key("m", sid), "ph", "pt")
        return text(partner) if phase is not None and text(phase) == "m" and partner else None

    @unavailable
    async def phase_of(self, sid: str) -> Phase | None:
        phase = await self.redis.hget(self._key("m", sid), "ph")
        return None if phase is None else _PHASES[text(phase)]

    @unavailable
    async def position_of(self, sid: str) -> int | None:
        position = await self._position(args=[self.prefix, sid])
        return None if position is None else int(position)

    @unavailable
    async def counts(self) -> Counts:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("stats"), "connected", "pairs")
            for mode in MODES:
                pipe.zcard(self._key("q", mode))
            stats, *waiting = await pipe.execute()
        connected, pairs = (int(v) if v is not None else 0 for v in stats)
        return Counts(connected, sum(int(w) for w in waiting), pairs)

    # -- the cluster's housekeeping ---------------------------------------------------

    @unavailable
    async def sids_of(self, node: str) -> set[str]:
        return {text(sid) for sid in await self.redis.smembers(self._key("sids", node))}

    @unavailable
    async def evict_node(self, node: str) -> list[tuple[str, Member]]:
        """Part every socket of a dead node: each one paired with a socket on another node,
        with that partner, left behind."""
        partners: list[tuple[str, Member]] = []
        for sid in await self.sids_of(node):
            partner = await self.part(sid)
            if partner is not None and not partner.sid.startswith(node + "."):
                partners.append((sid, partner))
        await self.redis.delete(self._key("sids", node), self._key("qw", node))
        return partners


def _lost() -> StorageError:
    # The socket is connected here but Redis does not know it: Redis lost its data (a
    # restart) and the node's next reconcile registers it again (randomchat.cluster).
    return StorageError("shared state lost this connection; try again")


def _partner(reply: list[Any]) -> Member | None:
    if not reply:
        return None
    return Member(text(reply[0]), text(reply[1]), text(reply[2]))


def _ranked(seeker: Seeker, entries: list[tuple[int, Waiting]]) -> list[tuple[Pick, int]]:
    """The ``CLAIM_BATCH`` best candidates for ``seeker``, in ``core.matching.pick``'s order."""
    ranked: list[tuple[Pick, int]] = []
    rest = entries
    while rest and len(ranked) < CLAIM_BATCH:
        best = pick(seeker, (entry for _, entry in rest))
        if best is None:
            break
        seq = next(seq for seq, entry in rest if entry is best.entry)
        ranked.append((best, seq))
        rest = [pair for pair in rest if pair[1] is not best.entry]
    return ranked


def _entries(sids: Iterable[str], rows: Iterable[list[Any]]) -> Iterable[tuple[int, Waiting]]:
    for sid, row in zip(sids, rows, strict=True):
        phase, seq, since, interests, strict, widened, previous, mode, user, address = (
            None if v is None else text(v) for v in row
        )
        if phase != "w" or seq is None or user is None:
            continue  # taken or gone since the index was read
        yield (
            int(seq),
            Waiting(
                sid,
                user,
                float(since or 0),
                frozenset(t for t in (interests or "").split(SEP) if t),
                strict == "1",
                widened == "1",
                previous or None,
                mode or "video",
                address=address or None,
            ),
        )
