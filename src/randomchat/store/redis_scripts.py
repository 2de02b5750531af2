"""The Lua scripts of ``store.redis``: each one step of the queue and the pairs, atomic.

Key names are derived from ``ARGV[1]``, the prefix (see ``store.redis`` for the keys);
``partner`` and ``entries`` read the scripts' replies.
"""

from collections.abc import Iterable
from typing import Any

from randomchat.core.matching import Waiting
from randomchat.store.base import Member
from randomchat.store.redis_base import text

SEP = "\x1f"  # between interests in an entry (cleaned interests never contain it)

UNQUEUE = """
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
-- An idle socket has no record: it is written when it first queues or is paired.
local function drop(p, sid, m)
  redis.call('SREM', p..'sids:'..(redis.call('HGET', m, 'nd') or ''), sid)
  redis.call('DEL', m)
end
-- End sid's waiting or call (both sides' records go): returns the partner's sid, user and
-- name, or nothing.
local function finish(p, sid, m)
  local f = redis.call('HMGET', m, 'ph', 'pt')
  local out = {}
  if f[1] == 'w' then
    unqueue(p, sid, m)
  elseif f[1] == 'm' then
    local mp = p..'m:'..f[2]
    if redis.call('HGET', mp, 'pt') == sid then
      redis.call('HINCRBY', p..'stats', 'pairs', -1)
      local o = redis.call('HMGET', mp, 'u', 'n')
      out = {f[2], o[1], o[2]}
      drop(p, f[2], mp)
    end
  end
  if f[1] then drop(p, sid, m) end
  return out
end
"""

REGISTER = """
local function register(p, sid, m, user, name, node, address)
  redis.call('SADD', p..'sids:'..node, sid)
  redis.call('HSET', m, 'u', user, 'n', name, 'nd', node, 'ad', address, 'ph', 'i', 'pt', '')
end
"""

# KEYS: the index lists to read. ARGV: prefix, the seeker's sid, first and last rank of
# the page. Returns {arrival counter now, '1'/'0' per list: the page was full (the list
# may hold more), then per entry not read before in this page: its sid and _FIELDS}.
READ = """
local p, me = ARGV[1], ARGV[2]
local start, stop = tonumber(ARGV[3]), tonumber(ARGV[4])
local full, out, seen = {}, {redis.call('GET', p..'seq') or '0', ''}, {}
for i, key in ipairs(KEYS) do
  local page = redis.call('ZRANGE', key, start, stop)
  full[i] = (#page == stop - start + 1) and '1' or '0'
  for _, sid in ipairs(page) do
    if sid ~= me and not seen[sid] then
      seen[sid] = true
      out[#out + 1] = sid
      local f = redis.call('HMGET', p..'m:'..sid, 'ph', 'seq', 'since', 'it', 'st', 'wd', 'pv',
        'md', 'u', 'ad')
      for j = 1, 10 do out[#out + 1] = f[j] or '' end
    end
  end
end
out[2] = table.concat(full)
return out
"""

# KEYS: the seeker's record. ARGV: prefix, sid, since, mode, interests, strict, widened,
# previous, privacy, the arrival counter when the seeker last read the queue ('': queue
# whatever came since), then its user, name, node and address hash. Returns {position}, or
# {-3} without queuing when users queued (or widened) since that read: one of them may be
# the seeker's match, so it reads again (claim or enqueue: two compatible users queuing at
# once cannot both wait unseen); {-2, phase} when it is waiting or paired already.
ENQUEUE = (
    REGISTER
    + """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'nd')
if f[1] and f[1] ~= 'i' then return {-2, f[1]} end
if ARGV[10] ~= '' and tonumber(redis.call('GET', p..'seq') or '0') > tonumber(ARGV[10]) then
  return {-3}
end
if not f[1] then
  register(p, sid, m, ARGV[11], ARGV[12], ARGV[13], ARGV[14])
  f[2] = ARGV[13]
end
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
)

# KEYS: the seeker's record. ARGV: prefix, seeker sid, seeker's phase ('i' or 'w'), this
# claim's token, the least time to live in ms a candidate's node heartbeat must have left
# (-1: no check), the seeker's user, name, node and address hash (its record is written
# if it had none), then candidate sid and arrival number pairs, best first. Pairs the
# seeker with the first candidate still waiting as read whose node beat lately: returns
# {1, sid, user, name, since, address, privacy}; {0, stale sids...} when none is (the
# stale ones wait on a node that missed its beats: dead or stalled, it could not tell
# them); {-1, phase} when the seeker is no longer where it was.
CLAIM = (
    UNQUEUE
    + REGISTER
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
if (sp or 'i') ~= ARGV[3] then return {-1, sp or ''} end  -- no record: idle
local least = tonumber(ARGV[5])
local alive, stale = {}, {0}
local function beating(nd)
  if least < 0 then return true end
  if alive[nd] == nil then alive[nd] = redis.call('PTTL', p..'node:'..nd) > least end
  return alive[nd]
end
for i = 10, #ARGV, 2 do
  local cand = ARGV[i]
  local mc = p..'m:'..cand
  local c = redis.call('HMGET', mc, 'ph', 'seq', 'u', 'n', 'since', 'ad', 'pr', 'nd')
  local waiting = c[1] == 'w' and c[2] == ARGV[i + 1]
  if waiting and not beating(c[8] or '') then
    stale[#stale + 1] = cand
    waiting = false
  end
  if waiting then
    unqueue(p, cand, mc)
    if sp == 'w' then unqueue(p, sid, ms) end
    if not sp then register(p, sid, ms, ARGV[6], ARGV[7], ARGV[8], ARGV[9]) end
    redis.call('HSET', mc, 'ph', 'm', 'pt', sid)
    redis.call('HSET', ms, 'ph', 'm', 'pt', cand, 'ck', token, 'cp', c[7] or '0')
    redis.call('HINCRBY', p..'stats', 'pairs', 1)
    return {1, cand, c[3], c[4], c[5], c[6] or '', c[7] or '0'}
  end
end
return stale
"""
)

# KEYS: the record. ARGV: prefix, sid
LEAVE = (
    UNQUEUE
    + """
return finish(ARGV[1], ARGV[2], ARGV[1]..'m:'..ARGV[2])
"""
)

# KEYS: the record. ARGV: prefix, sid. The socket is gone: out of the queue or its call.
PART = (
    UNQUEUE
    + """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
if redis.call('EXISTS', m) == 0 then return {} end
return finish(p, sid, m)
"""
)

# KEYS: both records. ARGV: prefix, a, b, node, then a's and b's user, name and address
# hash: pair two idle connections of this node (a call resumed after a restart).
PAIR = (
    REGISTER
    + """
local p, a, b, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ma, mb = p..'m:'..a, p..'m:'..b
if a == b or redis.call('EXISTS', ma) == 1 or redis.call('EXISTS', mb) == 1 then
  return 0
end
register(p, a, ma, ARGV[5], ARGV[6], node, ARGV[7])
register(p, b, mb, ARGV[8], ARGV[9], node, ARGV[10])
redis.call('HSET', ma, 'ph', 'm', 'pt', b)
redis.call('HSET', mb, 'ph', 'm', 'pt', a)
redis.call('HINCRBY', p..'stats', 'pairs', 1)
return 1
"""
)

# ARGV: prefix, sid. Returns {} when not waiting or already widened.
WIDEN = """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'wd', 'seq', 'md', 'nd')
if f[1] ~= 'w' or f[2] == '1' then return {} end
redis.call('HSET', m, 'wd', '1')
redis.call('INCR', p..'seq')  -- newly visible to anyone: a seeker that read before reads again
redis.call('ZREM', p..'qw:'..f[5], sid)
redis.call('ZADD', p..'qa:'..f[4], f[3], sid)
return {f[3]}
"""

# ARGV: prefix, sid
POSITION = """
local p, sid = ARGV[1], ARGV[2]
local md = redis.call('HGET', p..'m:'..sid, 'md')
if not md then return nil end
local rank = redis.call('ZRANK', p..'q:'..md, sid)
if not rank then return nil end
return rank + 1
"""


def partner(reply: list[Any]) -> Member | None:
    if not reply:
        return None
    return Member(text(reply[0]), text(reply[1]), text(reply[2]))


def entries(sids: Iterable[str], rows: Iterable[list[Any]]) -> Iterable[tuple[int, Waiting]]:
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
