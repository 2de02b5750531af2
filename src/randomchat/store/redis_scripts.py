"""The Lua scripts of ``store.redis``: each one step of the queue and the pairs, atomic.

Key names are derived from ``ARGV[1]``, the prefix (see ``store.redis`` for the keys),
except a waiting entry's queue and index lists: the caller names them (from
``core.matching.entry_lists``) and the record keeps them (``ix``), so the scripts know
no matching rule. ``partner`` and ``entries`` read the scripts' replies.
"""

from collections.abc import Iterable
from typing import Any

from randomchat.core.matching import Waiting
from randomchat.store import options_codec as codec
from randomchat.store.base import Member
from randomchat.store.redis_base import text

SEP = "\x1f"  # between names in a record's lists (cleaned tags never contain it)

UNQUEUE = """
local function unqueue(p, sid, m)
  local f = redis.call('HMGET', m, 'ix', 'nd')
  for key in string.gmatch(f[1] or '', '[^\\31]+') do
    redis.call('ZREM', key, sid)
  end
  redis.call('ZREM', p..'qw:'..(f[2] or ''), sid)
  redis.call('HDEL', m, 'seq', 'since', 'op', 'wd', 'pv', 'ix')
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
# may hold more), then per entry not read before in this page: its sid and ENTRY fields}.
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
      local f = redis.call('HMGET', p..'m:'..sid, 'ph', 'seq', 'since', 'op', 'wd', 'pv', 'u',
        'ad')
      for j = 1, 8 do out[#out + 1] = f[j] or '' end
    end
  end
end
out[2] = table.concat(full)
return out
"""
ENTRY = 9  # values per entry in READ's reply: the sid and eight fields

# KEYS: the seeker's record. ARGV: prefix, sid, since, its options (encoded), the
# preferences it accepts anyone on (SEP-joined), previous, '1' if it will widen on some
# preference, the arrival counter when the seeker last read the queue ('': queue whatever
# came since), its user, name, node and address hash, then the keys it goes on: its
# mode's queue first, then its index lists (``core.matching.entry_lists``). The record
# keeps those keys (``ix``): leaving, a claim or an eviction takes it off exactly those.
# Returns {position}, or {-3} without queuing when users queued (or widened) since that
# read: one of them may be the seeker's match, so it reads again (claim or enqueue: two
# compatible users queuing at once cannot both wait unseen); {-2, phase} when it is
# waiting or paired already.
ENQUEUE = (
    REGISTER
    + """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'nd')
if f[1] and f[1] ~= 'i' then return {-2, f[1]} end
if ARGV[8] ~= '' and tonumber(redis.call('GET', p..'seq') or '0') > tonumber(ARGV[8]) then
  return {-3}
end
if not f[1] then
  register(p, sid, m, ARGV[9], ARGV[10], ARGV[11], ARGV[12])
  f[2] = ARGV[11]
end
local seq = redis.call('INCR', p..'seq')
local keys = {}
for i = 13, #ARGV do
  keys[#keys + 1] = ARGV[i]
  redis.call('ZADD', ARGV[i], seq, sid)
end
redis.call('HSET', m, 'ph', 'w', 'seq', seq, 'since', ARGV[3], 'op', ARGV[4], 'wd', ARGV[5],
  'pv', ARGV[6], 'ix', table.concat(keys, '\\31'))
if ARGV[7] == '1' then redis.call('ZADD', p..'qw:'..f[2], ARGV[3], sid) end
return {redis.call('ZRANK', ARGV[13], sid) + 1}
"""
)

# KEYS: the seeker's record. ARGV: prefix, seeker sid, seeker's phase ('i' or 'w'), this
# claim's token, the least time to live in ms a candidate's node heartbeat must have left
# (-1: no check), the seeker's user, name, node and address hash (its record is written
# if it had none), then candidate sid and arrival number pairs, best first. Pairs the
# seeker with the first candidate still waiting as read whose node beat lately: returns
# {1, sid, user, name, since, address, options}; {0, stale sids...} when none is (the
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
  -- The partner's options left its record with its queue entry: kept with the token.
  local pt = f[2]
  local c = redis.call('HMGET', p..'m:'..pt, 'u', 'n', 'ad')
  return {1, pt, c[1], c[2], '', c[3] or '', f[4] or ''}
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
  local c = redis.call('HMGET', mc, 'ph', 'seq', 'u', 'n', 'since', 'ad', 'op', 'nd')
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
    redis.call('HSET', ms, 'ph', 'm', 'pt', cand, 'ck', token, 'cp', c[7] or '')
    redis.call('HINCRBY', p..'stats', 'pairs', 1)
    return {1, cand, c[3], c[4], c[5], c[6] or '', c[7] or ''}
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

# ARGV: prefix, sid, the preferences it accepts anyone on now (SEP-joined), '1' if it
# will still widen on some, the ``since`` DUE read ('': unchecked), then the keys it goes on (as
# ENQUEUE's). Moves the entry from the keys its record lists to these, at its arrival
# number (its place is kept). Returns {} when not waiting, nothing new is widened, or the
# entry is not the one DUE read (it left and searched again since: its wait starts anew).
WIDEN = """
local p, sid = ARGV[1], ARGV[2]
local m = p..'m:'..sid
local f = redis.call('HMGET', m, 'ph', 'wd', 'seq', 'ix', 'nd', 'since')
if f[1] ~= 'w' or f[2] == ARGV[3] or (ARGV[5] ~= '' and f[6] ~= ARGV[5]) then return {} end
for key in string.gmatch(f[4] or '', '[^\\31]+') do redis.call('ZREM', key, sid) end
local keys = {}
for i = 6, #ARGV do
  keys[#keys + 1] = ARGV[i]
  redis.call('ZADD', ARGV[i], f[3], sid)
end
redis.call('HSET', m, 'wd', ARGV[3], 'ix', table.concat(keys, '\\31'))
redis.call('INCR', p..'seq')  -- newly visible to more: a seeker that read before reads again
if ARGV[4] ~= '1' then redis.call('ZREM', p..'qw:'..f[5], sid) end
return {f[3]}
"""

# ARGV: prefix, node, the latest ``since`` due. Returns, per waiting sid of the node still
# to widen that queued by then: its sid, since, options and widened preferences.
DUE = """
local p = ARGV[1]
local out = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', p..'qw:'..ARGV[2], '-inf', ARGV[3])) do
  local f = redis.call('HMGET', p..'m:'..sid, 'ph', 'since', 'op', 'wd')
  if f[1] == 'w' then
    out[#out + 1] = sid
    for j = 2, 4 do out[#out + 1] = f[j] or '' end
  end
end
return out
"""

# ARGV: prefix, sid. The position in the first key the record lists: its mode's queue.
POSITION = """
local p, sid = ARGV[1], ARGV[2]
local ix = redis.call('HGET', p..'m:'..sid, 'ix')
if not ix then return nil end
local rank = redis.call('ZRANK', string.match(ix, '^[^\\31]+'), sid)
if not rank then return nil end
return rank + 1
"""


def partner(reply: list[Any]) -> Member | None:
    if not reply:
        return None
    return Member(text(reply[0]), text(reply[1]), text(reply[2]))


def names(joined: str) -> frozenset[str]:
    return frozenset(name for name in joined.split(SEP) if name)


def entries(sids: Iterable[str], rows: Iterable[list[Any]]) -> Iterable[tuple[int, Waiting]]:
    """READ's entries still waiting, with their arrival numbers."""
    for sid, row in zip(sids, rows, strict=True):
        phase, seq, since, options, widened, previous, user, address = (
            None if v is None else text(v) for v in row
        )
        if phase != "w" or not seq or user is None:
            continue  # taken or gone since the index was read
        yield (
            int(seq),
            Waiting(
                sid,
                user,
                float(since or 0),
                codec.decode(options or ""),
                names(widened or ""),
                previous or None,
                address or None,
            ),
        )
