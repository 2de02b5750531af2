"""The store on Redis: the queue and the pairs of a cluster of nodes.

Atomicity. Who may meet whom stays the pure ``core.matching.pick`` in Python,
exactly the rules of the in-memory store; Redis only decides who gets whom.
A search reads the waiting entries the seeker could match (one script call per
page of the index lists ``core.matching.seeker_lists`` names, in its mode,
oldest first, at most ``redis_read.SCAN_LIMIT`` each), picks the best in Python, and then
*claims* it with one script that checks, inside Redis, that the entry is still
the one it read (same arrival number, still waiting, its node beating) and that
the seeker is still where it was, and then takes both out of the queue and
pairs them. So no user is ever in two pairs and no two nodes take the same
waiting user: the loser of a race claims the next best. A seeker that finds
nobody queues itself, unless anyone queued since its read (the arrival counter
moved): then it reads again. So two compatible users who search at the same
moment cannot both wait for each other unseen (claim or enqueue).

Cost: a search is two round trips (read, claim or enqueue); connecting and
disconnecting an idle socket none (a socket's record is written when it first
queues or is paired, and removed when it is idle again). Every key is written
only by scripts, so a node that dies between two steps leaves nothing half
done; what it leaves is removed by ``evict_node`` (``randomchat.cluster``).

Keys (``prefix`` is ``rc:{lobby}:``: one hash tag, so one slot of a Redis
Cluster; docs/scaling.md):

==========================  ==============================================
``m:<sid>``                 a socket waiting or in a call: user, name,
                            node, phase, partner, and while waiting its
                            entry: arrival number, since, previous, its
                            ``SearchOptions`` as one field (``op``,
                            ``store.options_codec``), the preferences
                            widened, and the keys it is on (``ix``)
``q:<mode>``                waiting sids by arrival number (positions)
``ql:<mode>:<list>``        waiting sids by arrival number, per index list
                            of ``core.matching.entry_lists``: ``any``
                            (accepts anyone), ``i:<preference>:<tag>``
``qw:<node>``               sids of a node still to widen, by ``since``
``sids:<node>``             the sids of a node that have a record
``node:<node>``             the node's heartbeat (``liveness``)
``seq``, ``stats``          the arrival counter; the pair count
``online``                  sockets connected, per node (its heartbeat)
==========================  ==============================================
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace

from redis.asyncio import Redis

from randomchat.core.matching import (
    Seeker,
    Waiting,
    entry_lists,
    pending,
    seeker_lists,
    widening,
)
from randomchat.core.state import Phase, check_can_search
from randomchat.errors import IllegalMove, StorageError
from randomchat.protocol import MODES
from randomchat.store import options_codec as codec
from randomchat.store import redis_scripts as lua
from randomchat.store.base import Counts, Matched, Member, Queued, SearchResult, Taken
from randomchat.store.redis_base import lobby, text, unavailable
from randomchat.store.redis_read import best_of, read_entries

ENQUEUE_TRIES = 4  # reads a search makes while others keep queuing, before it just waits
MAX_CLAIMS = 16  # claim scripts one search may run before it waits (see _pair)
FRESH_SECONDS = 3.0  # a waiting user's node must have beaten this recently (see __init__)
_PHASES = {"i": Phase.IDLE, "w": Phase.WAITING, "m": Phase.MATCHED}


class RedisStore:
    """``Store`` for a cluster: every node's store talks to the same Redis."""

    def __init__(
        self, redis: Redis, node: str, prefix: str = "rc:", node_timeout: float | None = None
    ) -> None:
        self.redis = redis
        self.node = node
        self.prefix = lobby(prefix)  # every key here shares one hash tag (redis_base.lobby)
        # A waiting user is claimable only while its node's heartbeat (``liveness``, which
        # sets it to ``node_timeout`` at every beat) is at most ``FRESH_SECONDS`` old:
        # after a node dies or stalls, seekers elsewhere do not meet its waiting users
        # for the whole eviction timeout. None: no check (a store without liveness).
        self._least_ttl = -1
        if node_timeout is not None:
            self._least_ttl = max(0, int((node_timeout - min(FRESH_SECONDS, node_timeout)) * 1000))
        self._enqueue = redis.register_script(lua.ENQUEUE)
        self._claim = redis.register_script(lua.CLAIM)
        self._leave = redis.register_script(lua.LEAVE)
        self._part = redis.register_script(lua.PART)
        self._widen = redis.register_script(lua.WIDEN)
        self._pair_idle = redis.register_script(lua.PAIR)
        self._position = redis.register_script(lua.POSITION)
        self._read_page = redis.register_script(lua.READ)
        self._due = redis.register_script(lua.DUE)
        # The sockets of this node (a record in Redis is written only once one queues or
        # is paired: connecting costs no round trip), and those that may have a record:
        # added before a script may write one, removed when this node's leave or part
        # removed it. A partner's script may remove one unseen: parting it then costs a
        # round trip that finds nothing. Both bounded by this node's connections.
        self._members: dict[str, Member] = {}
        self._registered: set[str] = set()
        # the entries the last widening read saw, by sid: their ``since`` (one per waiting
        # socket of this node at most, replaced at each read)
        self._due_since: dict[str, str] = {}

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _keys_of(self, entry: Waiting) -> list[str]:
        """The keys a waiting entry is on: its mode's queue, then its index lists."""
        lists = [self._key("ql", entry.mode, name) for name in entry_lists(entry)]
        return [self._key("q", entry.mode), *lists]

    async def join(self, member: Member) -> None:
        self._members[member.sid] = member

    def awaits_pairing(self, sid: str) -> None:
        """``sid`` waits for a call resumed on any node (``store.redis_resume``), whose
        script may write its record unseen by this node: its leave and part look for it."""
        if sid in self._members:
            self._registered.add(sid)

    def local_count(self) -> int:
        """Sockets connected to this node (``liveness`` publishes it for ``counts``)."""
        return len(self._members)

    def _me(self, sid: str) -> list[str]:
        """The user, name, node and address of ``sid`` as its record holds them."""
        member = self._members.get(sid) or Member(sid, "", "")
        return [member.user_id, member.username, self.node, member.address or ""]

    @unavailable
    async def part(self, sid: str) -> Member | None:
        self._members.pop(sid, None)
        if sid not in self._registered:
            return None  # never queued nor paired, or its record already gone: none to end
        partner = await self.part_record(sid)
        self._registered.discard(sid)
        return partner

    @unavailable
    async def part_record(self, sid: str) -> Member | None:
        """End whatever Redis holds of ``sid`` (this node's or a dead node's socket)."""
        return lua.partner(await self._part(keys=[self._key("m", sid)], args=[self.prefix, sid]))

    @unavailable
    async def pair(self, a: str, b: str) -> bool:
        keys = [self._key("m", a), self._key("m", b)]
        self._registered.update((a, b))
        args = [self.prefix, a, b, self.node]
        for sid in (a, b):
            user, name, _, address = self._me(sid)
            args += [user, name, address]
        return bool(await self._pair_idle(keys=keys, args=args))

    @unavailable
    async def leave(self, sid: str) -> Member | None:
        if sid not in self._registered:
            return None
        partner = lua.partner(
            await self._leave(keys=[self._key("m", sid)], args=[self.prefix, sid])
        )
        self._registered.discard(sid)
        return partner

    @unavailable
    async def search(self, seeker: Seeker, now: float) -> SearchResult:
        for _ in range(ENQUEUE_TRIES):
            matched, read_at = await self._pair(seeker, "i", now)
            if matched is not None:
                return matched
            position = await self._queue(seeker, now, read_at)
            if position is not None:
                # Nothing awaited after the enqueue until the lobby emits waiting-for-partner:
                # a seeker that claims this one later does it after the enqueue, and its
                # match-found comes through this node's stream reader, which cannot run
                # before that emit (or from a local claimer, whose claim reply comes later).
                return Queued(position)
        # The queue keeps changing under this seeker: queue, then look once more.
        position = await self._queue(seeker, now, None)
        return await self._look_again(seeker, now, position)

    @unavailable
    async def due_to_widen(
        self, now: float, waits: Mapping[str, float]
    ) -> list[tuple[str, frozenset[str]]]:
        latest = now - min(waits.values(), default=0.0)
        keys = [self._key("qw", self.node)]  # (a Redis Cluster routes a script by its keys)
        reply = await self._due(keys=keys, args=[self.prefix, self.node, repr(latest)])
        due: list[tuple[str, frozenset[str]]] = []
        self._due_since = {}
        for i in range(0, len(reply), 4):
            sid, since, options, widened = (text(v) for v in reply[i : i + 4])
            self._due_since[sid] = since
            entry = Waiting(sid, "", float(since), codec.decode(options), lua.names(widened))
            wider = widening(entry, now, waits)
            if wider != entry.widened:
                due.append((sid, wider))
        return due

    @unavailable
    async def widen(self, seeker: Seeker, now: float) -> SearchResult | None:
        entry = seeker.waiting(now)
        args = [self.prefix, seeker.sid, lua.SEP.join(sorted(seeker.widened))]
        # the entry the widening read saw, not a newer search's (widened at once)
        since = self._due_since.pop(seeker.sid, "")
        args += ["1" if pending(entry) else "0", since, *self._keys_of(entry)]
        if not await self._widen(keys=[self._key("m", seeker.sid)], args=args):
            return None
        return await self._look_again(seeker, now, None)

    @unavailable
    async def look_again(self, seeker: Seeker, now: float) -> SearchResult | None:
        phase, widened = await self.redis.hmget(self._key("m", seeker.sid), "ph", "wd")
        if phase is None or _PHASES[text(phase)] is not Phase.WAITING:
            return None
        # what it widened on while it waited counts (the lobby's seeker knows none of it)
        seeker = replace(seeker, widened=seeker.widened | lua.names(text(widened or "")))
        result = await self._look_again(seeker, now, 1)
        return None if isinstance(result, Queued) else result

    async def _look_again(self, seeker: Seeker, now: float, position: int | None) -> SearchResult:
        """The seeker waits: pair it with whoever queued meanwhile, if anyone."""
        try:
            matched, _ = await self._pair(seeker, "w", now)
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

    async def _pair(self, seeker: Seeker, phase: str, now: float) -> tuple[Matched | None, int]:
        """Claim the best compatible waiting entry, or the next best if it was taken.

        One script call tries the ``redis_read.CLAIM_BATCH`` best candidates in rank order.
        When all were taken, another seeker paired meanwhile, so the cluster as a
        whole progresses; ``MAX_CLAIMS`` bounds one seeker's work under extreme
        contention (it then waits, and later seekers find it). Also returns the arrival
        counter as of the last read (see ``search``).
        """
        stale: set[str] = set()  # waiting on a node that missed its beats: passed over
        read_at = 0
        for _ in range(MAX_CLAIMS):
            keys = [self._key("ql", seeker.mode, name) for name in seeker_lists(seeker)]
            read, read_at = await read_entries(self._read_page, keys, self.prefix, seeker)
            ranked = best_of(seeker, [(seq, e) for seq, e in read if e.sid not in stale])
            if not ranked:
                return None, read_at
            # The token tells a retry of this call (by the client library, after a lost
            # reply) from a pairing made by someone else's claim.
            token = secrets.token_hex(8)
            args: list[str | int] = [self.prefix, seeker.sid, phase, token, self._least_ttl]
            args += self._me(seeker.sid)
            self._registered.add(seeker.sid)
            for best, seq in ranked:
                args += [best.entry.sid, seq]
            reply = await self._claim(keys=[self._key("m", seeker.sid)], args=args)
            code = int(reply[0])
            if code == 1:
                sid = text(reply[1])
                best = next(best for best, _ in ranked if best.entry.sid == sid)
                partner = Member(sid, text(reply[2]), text(reply[3]), text(reply[5]) or None)
                since = text(reply[4])
                waited = max(0.0, now - float(since)) if since else 0.0
                theirs = codec.decode(text(reply[6]))
                return Matched(partner, waited, best.shared, theirs), read_at
            if code == -1:
                check_can_search(_PHASES.get(text(reply[1]), Phase.IDLE))
                raise _lost()
            stale.update(text(sid) for sid in reply[1:])
        return None, read_at

    async def _queue(self, seeker: Seeker, now: float, read_at: int | None) -> int | None:
        """Queue the seeker; its position. None without queuing if users queued since
        ``read_at`` (the arrival counter of its last read): it must read again first."""
        self._registered.add(seeker.sid)
        entry = seeker.waiting(now)
        reply = await self._enqueue(
            keys=[self._key("m", seeker.sid)],
            args=[
                self.prefix,
                seeker.sid,
                repr(now),
                codec.encode(seeker.options),
                lua.SEP.join(sorted(seeker.widened)),
                seeker.previous or "",
                "1" if pending(entry) else "0",
                "" if read_at is None else read_at,
                *self._me(seeker.sid),
                *self._keys_of(entry),
            ],
        )
        code = int(reply[0])
        if code == -2:
            check_can_search(_PHASES[text(reply[1])])
        return None if code == -3 else code

    @unavailable
    async def partner_of(self, sid: str) -> str | None:
        phase, partner = await self.redis.hmget(self._key("m", sid), "ph", "pt")
        return text(partner) if phase is not None and text(phase) == "m" and partner else None

    @unavailable
    async def phase_of(self, sid: str) -> Phase | None:
        phase = await self.redis.hget(self._key("m", sid), "ph")
        if phase is None:  # no record: idle if connected here (another node's: unknown)
            return Phase.IDLE if sid in self._members else None
        return _PHASES[text(phase)]

    @unavailable
    async def position_of(self, sid: str) -> int | None:
        position = await self._position(keys=[self._key("m", sid)], args=[self.prefix, sid])
        return None if position is None else int(position)

    @unavailable
    async def counts(self) -> Counts:
        """Connected: this node's own count now, the others' as of their last beat
        (``liveness``: a second old at most); waiting and pairs: the cluster's."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key("stats"), "pairs")
            for mode in MODES:
                pipe.zcard(self._key("q", mode))
            pipe.hgetall(self._key("online"))
            pairs, *waiting, online = await pipe.execute()
        others = sum(int(n) for node, n in online.items() if text(node) != self.node)
        connected = others + self.local_count()
        return Counts(connected, sum(int(w) for w in waiting), int(pairs or 0))

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
            partner = await self.part_record(sid)
            if partner is not None and not partner.sid.startswith(node + "."):
                partners.append((sid, partner))
        await self.redis.delete(self._key("sids", node), self._key("qw", node))
        await self.redis.hdel(self._key("online"), node)
        return partners

    def lost(self, known: set[str]) -> list[str]:
        """This node's sockets that may have had a record, absent from ``known`` (the
        sids Redis holds for this node): after Redis lost its data, or the others evicted
        this node, their queue places and calls are gone (``liveness.reconcile``)."""
        return sorted(sid for sid in self._registered - known if sid in self._members)


def _lost() -> StorageError:
    # A waiting socket's record is gone: Redis lost its data (a restart) or the others
    # evicted this node; its next reconcile queues it again (randomchat.cluster).
    return StorageError("shared state lost this connection; try again")
