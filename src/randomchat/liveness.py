"""Node liveness: each node's heartbeat, and the eviction of nodes whose heartbeat stopped.

Each node refreshes ``<prefix>{lobby}:node:<name>`` with an expiry of ``node_timeout``
every third of it, from a task and a Redis connection of its own (so only a
stalled process misses its beats, not a busy one), and lists itself in
``<prefix>nodes``. Every node checks the list at the same pace; the first to see
a node's key expired removes it from the list (``SREM`` answers 1 to exactly one
node), evicts its sockets from the store (out of the queue, out of their pairs)
and tells their partners on other nodes ``partner-disconnected``. A node that
starts evicts whatever its name left behind before it takes connections, so a
restarted node inherits no stale state. Every check also reconciles this node's
sockets in Redis with the ones it holds: a socket that closed while Redis was
unreachable is parted then, and its partner told.

A beat that finds this node no longer listed means one of two things, told apart
by ``<prefix>epoch``: a value the first node to find it missing sets (``SET NX``),
and every node remembers. The same epoch: the others evicted this node (its beat
came too late). Another or a new one: Redis lost its data (restarted without
persistence), and nobody evicted anyone.

A node whose cross-node delivery is dead (``healthy()`` false: its reader or writer
was given up) stops beating and checking, so that the others evict it: its
partners hear ``partner-disconnected`` instead of waiting for events it can no
longer pass on, and ``on_dead`` lets the node send its clients elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from randomchat.errors import StorageError
from randomchat.metrics import Metrics
from randomchat.store import Member
from randomchat.store.redis import FRESH_SECONDS, RedisStore
from randomchat.store.redis_base import lobby, text
from randomchat.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Beat(enum.Enum):
    OK = "ok"
    EVICTED = "evicted"  # the others removed this node: its beat came too late
    DATA_LOST = "data_lost"  # Redis lost everything (restarted empty): nobody evicted us


def beat_outcome(remembered: str | None, epoch: str | None, added: bool) -> Beat:
    """What a beat found: ``epoch`` is Redis's now, ``remembered`` this node's (None
    before its first beat); ``added``: the beat had to list this node again."""
    if remembered is None:
        return Beat.OK  # this node's first beat: it listed itself
    if epoch != remembered:
        return Beat.DATA_LOST
    return Beat.EVICTED if added else Beat.OK


BEAT_SECONDS = 1.0


async def _nothing() -> None:
    return None


class Liveness:
    """This node's heartbeat, and the eviction of nodes whose heartbeat stopped.

    The heartbeat has its own task and its own Redis connection (``heartbeat``):
    a check that takes long (many sockets to part after an outage) or a pool that
    every request is waiting on must not make the others evict a node that is
    alive. Only a stalled process (or one cut off from Redis) misses its beats.
    """

    def __init__(
        self,
        redis: Redis,
        heartbeat: Redis,
        store: RedisStore,
        node: str,
        prefix: str,
        timeout: float,
        holds: Callable[[str], bool],
        members: Callable[[], list[Member]],
        tell_partner: Callable[[str, str], Awaitable[None]],
        call_lost: Callable[[str], Awaitable[None]],
        *,
        metrics: Metrics,
        healthy: Callable[[], bool] = lambda: True,
        on_dead: Callable[[], Awaitable[None]] = _nothing,
        on_late_beat: Callable[[], Awaitable[None]] = _nothing,
    ) -> None:
        self.redis = redis
        self.heartbeat = heartbeat
        self.store = store
        self.node = node
        self.prefix = prefix
        self.timeout = timeout
        self.holds = holds
        self.members = members
        self.tell_partner = tell_partner
        self.call_lost = call_lost
        self.metrics = metrics
        self.healthy = healthy
        self.on_dead = on_dead
        self.on_late_beat = on_late_beat
        self._late: asyncio.Task[None] | None = None
        self.boot = secrets.token_hex(8)
        self.epoch: str | None = None  # Redis's epoch as this node last saw it
        self.gave_up = False  # delivery dead: no more beats or checks
        # A beat found Redis emptied or this node evicted: the next reconcile tells.
        self._lost_seen = False
        self._tasks: list[asyncio.Task[None]] = []

    def _key(self, node: str) -> str:
        # Beside the queue (one hash tag): the claim script reads it (store.redis).
        return f"{lobby(self.prefix)}node:{node}"

    async def start(self) -> None:
        """Evict what this node's name left behind, then beat and check."""
        previous = await self.redis.get(self._key(self.node))
        if previous is not None:
            log.warning(
                "node name was alive recently; evicting its state", extra={"node": self.node}
            )
        await self._evict(self.node)
        await self.redis.srem(f"{self.prefix}nodes", self.node)
        await self.beat()
        self._tasks = [
            asyncio.create_task(self._beating()),
            asyncio.create_task(self._checking()),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks + ([self._late] if self._late is not None else []))

    async def leave(self) -> None:
        """A clean exit: drop the heartbeat so that the others evict at once."""
        with contextlib.suppress(RedisError):
            await self.heartbeat.delete(self._key(self.node))
            await self.heartbeat.hdel(f"{lobby(self.prefix)}online", self.node)

    async def beat(self) -> Beat:
        """Refresh the heartbeat, and say whether this node was evicted or Redis emptied."""
        epoch = f"{self.prefix}epoch"
        async with self.heartbeat.pipeline(transaction=False) as pipe:
            pipe.pttl(self._key(self.node))
            pipe.set(self._key(self.node), self.boot, px=int(self.timeout * 1000))
            # How many sockets it holds, for everyone's ``counts`` (a record per socket
            # is written only once it searches, so Redis cannot count them).
            pipe.hset(f"{lobby(self.prefix)}online", self.node, self.store.local_count())
            pipe.sadd(f"{self.prefix}nodes", self.node)
            # A fresh value each time: after Redis lost its data, the first node to beat
            # sets one that no node remembers (never one it remembered itself).
            pipe.set(epoch, secrets.token_hex(8), nx=True)
            pipe.get(epoch)
            left, _, _, added, _, now = await pipe.execute()
        late = int(left) < (self.timeout - min(FRESH_SECONDS, self.timeout)) * 1000
        if late and (self._late is None or self._late.done()):
            # This beat comes late (or Redis lost the last): meanwhile this node's
            # waiting users were not claimable, and seekers may have queued instead.
            # In its own task, one at a time: the heartbeat never waits on it.
            self._late = asyncio.create_task(self._look_again())
        outcome = beat_outcome(self.epoch, None if now is None else text(now), bool(added))
        self.epoch = None if now is None else text(now)
        return outcome

    async def _look_again(self) -> None:
        try:
            await self.on_late_beat()
        except (RedisError, StorageError):
            log.warning("waiting users could not look again (Redis unreachable?)")

    async def _beating(self) -> None:
        while True:
            # At least every second: a node's waiting users are claimable only while its
            # heartbeat is fresh (store.redis.FRESH_SECONDS), however long the timeout.
            await asyncio.sleep(min(BEAT_SECONDS, self.timeout / 3))
            if not self.healthy():
                await self._give_up()
                return
            try:
                outcome = await self.beat()
            except RedisError as exc:  # an outage: what failed, not a traceback per beat
                log.warning("heartbeat failed (Redis unreachable?)", extra={"error": repr(exc)})
                continue
            if outcome is Beat.EVICTED:
                # Its heartbeat came later than --node-timeout (a blocked process):
                # the others ended its users' searches and calls. The next check
                # tells those in a call and queues the waiting ones again.
                self.metrics.evicted.inc()
                self._lost_seen = True
                log.error("this node was evicted by the others", extra={"node": self.node})
            elif outcome is Beat.DATA_LOST:
                # Not an eviction: searches and calls in Redis are gone for every node.
                # The next check tells those in a call and queues the waiting ones again.
                self.metrics.redis_data_lost.inc()
                self._lost_seen = True
                log.warning(
                    "Redis lost its data (restarted without persistence?); "
                    "its calls end, its waiting users queue again",
                    extra={"node": self.node},
                )

    async def _give_up(self) -> None:
        """Delivery is dead: let the others evict this node now, not after the timeout."""
        self.gave_up = True
        log.error(
            "cross-node delivery is dead; stopping the heartbeat so that the others "
            "evict this node",
            extra={"node": self.node},
        )
        await self.leave()
        await self.on_dead()

    async def _checking(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 3)
            if self.gave_up:
                return  # a check would register this node's sockets again
            try:
                await self.check()
            except (RedisError, StorageError) as exc:  # the store's calls fail as StorageError
                log.warning("cluster check failed (Redis unreachable?)", extra={"error": repr(exc)})

    async def check(self) -> None:
        """Evict the nodes whose heartbeat expired; part this node's closed sockets."""
        nodes = {text(n) for n in await self.redis.smembers(f"{self.prefix}nodes")}
        for node in sorted(nodes - {self.node}):
            if await self.redis.exists(self._key(node)):
                continue
            if await self.redis.srem(f"{self.prefix}nodes", node):  # exactly one node wins
                log.warning("node is gone; evicting its sockets", extra={"node": node})
                await self._evict(node)
        await self.reconcile()

    async def reconcile(self) -> None:
        """Make Redis hold exactly this node's sockets.

        A socket that closed while Redis was unreachable is parted now (its partner
        told). After Redis lost its data, or the others evicted this node while it was
        stalled (``_lost_seen``), the queue places and calls of its sockets are gone: a
        socket that was in a call is told ``partner-disconnected`` (its partner's node
        tells its partner), and one that was waiting is queued again
        (``cluster.state_lost``). An idle socket has nothing in Redis to lose.
        """
        lost_seen, self._lost_seen = self._lost_seen, False
        known = await self.store.sids_of(self.node)
        for sid in known:
            if self.holds(sid):
                continue
            log.info("parting a socket this node no longer holds", extra={"sid": sid})
            partner = await self.store.part_record(sid)
            if partner is not None:
                await self.tell_partner(partner.sid, sid)
        if lost_seen:
            for sid in self.store.lost(known):
                await self.call_lost(sid)

    async def evict_self(self) -> None:
        await self._evict(self.node)

    async def _evict(self, node: str) -> None:
        for gone, partner in await self.store.evict_node(node):
            await self.tell_partner(partner.sid, gone)
        await self.redis.delete(f"{self.prefix}inbox:{node}")
