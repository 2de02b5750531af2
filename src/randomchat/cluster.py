"""Many nodes on one Redis: cross-node delivery and node liveness.

Delivery. A socket id starts with the name of the node that holds it
(``<node>.<random>``), so a node that must emit to a socket it does not hold
knows where it lives without asking Redis. It appends the event to that
node's own stream (``<prefix>inbox:<node>``), never to a channel every node
decodes: the cost of an event is on the two nodes involved, however many
nodes there are. One writer task per node appends in order (pipelined in
batches), and each node reads its own stream with one blocking reader that
remembers the last id it handled: when its Redis connection drops, it reads
on from that id after reconnecting, so events are redelivered in order, not
lost. A stream keeps at most ``INBOX_MAX`` entries (older ones are trimmed:
a node that is that far behind is as good as dead); the writer's queue holds
at most ``OUTBOX_MAX`` events, and an event that finds it full is counted as
undelivered and logged.

Liveness. Each node refreshes ``<prefix>node:<name>`` with an expiry of
``node_timeout`` every third of it, from a task and a Redis connection of its
own (so only a stalled process misses its beats, not a busy one), and lists
itself in ``<prefix>nodes``. Every node checks the list at the same pace; the
first to see a node's key expired removes it from the list (``SREM`` answers 1
to exactly one node), evicts its sockets from the store (out of the queue, out
of their pairs) and tells their partners on other nodes ``partner-disconnected``.
A node that starts evicts whatever its name left behind before it takes
connections, so a restarted node inherits no stale state. Every check also
reconciles this node's sockets in Redis with the ones it holds: a socket that
closed while Redis was unreachable is parted then, and its partner told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from randomchat.clock import WallClock
from randomchat.config import Settings
from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.delivery import LocalDelivery
from randomchat.errors import StorageError
from randomchat.gateway import Gateway
from randomchat.lobby import Lobby, Shared
from randomchat.metrics import Metrics
from randomchat.protocol import Empty, ServerEvent
from randomchat.rules import Rules
from randomchat.store import Member
from randomchat.store.redis import RedisStore
from randomchat.store.redis_base import text
from randomchat.store.redis_shared import RedisBlocks, RedisCalls, RedisLimits, RedisMeetings
from randomchat.tasks import cancel_and_wait

log = logging.getLogger(__name__)

NODE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
INBOX_MAX = 100_000  # entries kept in a node's stream (approximate trimming)
OUTBOX_MAX = 100_000  # events waiting for the writer
READ_BATCH = 1000
READ_BLOCK_MS = 2000
SENDERS_KEPT = 1024  # sender lives whose last sequence number a reader remembers
DISCONNECT = "!disconnect"  # the stream's event name for "close this socket"
POOL_SIZE = 100  # Redis connections per node (redis-py's default bound)
POOL_WAIT = 5.0  # seconds a command waits for a free connection before failing


def connect(url: str, connections: int = POOL_SIZE, wait: float = POOL_WAIT) -> Redis:
    """A client that retries with back-off when it cannot reach Redis (redis-py's own retry).

    Only connection errors are retried, not timeouts: a command that timed out may have
    run, and the scripts that pair users are not idempotent (the claim script recognises
    its own retry; the others answer ``unavailable`` rather than run twice).

    It holds at most ``connections`` connections, one per command in flight. When all
    are busy, a command waits up to ``wait`` seconds for one, then fails (its request is
    answered ``unavailable``). redis-py's default pool fails at once instead, so a burst
    of requests on a busy node (the churn test's 200 users on two cores) refused some.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=wait,
        retry=Retry(
            ExponentialBackoff(cap=2.0, base=0.05),
            retries=3,
            supported_errors=(RedisConnectionError,),
        ),
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=10,
    )
    return Redis.from_pool(pool)  # closed with the client


def node_name(settings: Settings) -> str:
    """``--node-name``, or this host's name and port: stable across restarts of the node."""
    if settings.node_name:
        return settings.node_name
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:30] or "node"
    return f"{host}-{settings.port}"


def node_of(sid: str) -> str | None:
    node, dot, _ = sid.partition(".")
    return node if dot else None


class ClusterDelivery:
    """``Delivery`` for a cluster node: local sockets directly, others through Redis."""

    def __init__(
        self,
        local: LocalDelivery,
        redis: Redis,
        node: str,
        prefix: str,
        metrics: Metrics,
    ) -> None:
        self.local = local
        self.redis = redis
        self.node = node
        self.prefix = prefix
        self.metrics = metrics
        # node, sid, event, data, source (the relaying partner, or ""), sequence number.
        # At most OUTBOX_MAX events (``_send``): past it an event is counted undelivered.
        self._out: deque[tuple[str, str, str, bytes, str, int]] = deque()
        self._wake = asyncio.Event()
        self._last_id = "$"
        self._tasks: list[asyncio.Task[None]] = []
        # A batch whose XADD failed is sent again, and may have been stored the first
        # time (a timeout after the write): each event carries its sender's life and a
        # sequence number, and the reader skips what it has seen (one entry per sender
        # life, the oldest forgotten past SENDERS_KEPT).
        self._origin = f"{node}:{secrets.token_hex(4)}"
        self._seq = 0
        self._seen: dict[str, int] = {}
        # What this node adds to an event from its inbox (TURN credentials: lobby.ice).
        self.arriving: Callable[[str, str, Any], Any] = lambda sid, event, data: data

    def inbox(self, node: str) -> str:
        return f"{self.prefix}inbox:{node}"

    def holds(self, sid: str) -> bool:
        return sid in self.local.server.sockets

    async def emit(self, sid: str, event: str, data: Any = None, source: str | None = None) -> bool:
        node = node_of(sid)
        if node is None or node == self.node or self.holds(sid):
            return await self.local.emit(sid, event, data, source)
        return self._send(node, sid, event, orjson.dumps(data), source or "")

    async def disconnect(self, sid: str) -> None:
        node = node_of(sid)
        if node is None or node == self.node or self.holds(sid):
            await self.local.disconnect(sid)
        else:
            self._send(node, sid, DISCONNECT, b"null", "")

    def forget(self, sid: str) -> None:
        self.local.forget(sid)  # the lobby only forgets the sockets of its own node

    def _send(self, node: str, sid: str, event: str, data: bytes, source: str) -> bool:
        if len(self._out) >= OUTBOX_MAX:
            self.metrics.undelivered.labels(event).inc()
            log.warning("cross-node outbox full", extra={"sid": sid, "event_name": event})
            return False
        self._seq += 1
        self._out.append((node, sid, event, data, source, self._seq))
        self._wake.set()
        return True

    # -- the writer and the reader --------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write()), asyncio.create_task(self._read())]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._out:
                batch = [self._out[i] for i in range(min(len(self._out), READ_BATCH))]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for node, sid, event, data, source, seq in batch:
                            fields: dict[str | bytes, str | bytes | int] = {
                                "s": sid,
                                "e": event,
                                "d": data,
                                "f": source,
                                "o": self._origin,
                                "q": seq,
                            }
                            pipe.xadd(
                                self.inbox(node),
                                fields,  # type: ignore[arg-type]
                                maxlen=INBOX_MAX,
                                approximate=True,
                            )
                        await pipe.execute()
                except RedisError:
                    log.warning("cross-node send failed; retrying", exc_info=True)
                    await asyncio.sleep(0.5)  # the batch stays queued, in order
                    continue
                for _ in batch:
                    self._out.popleft()

    async def _read(self) -> None:
        key = self.inbox(self.node)
        while True:
            try:
                replies: Any = await self.redis.xread(
                    {key: self._last_id}, count=READ_BATCH, block=READ_BLOCK_MS
                )  # RESP2: [[stream, [(id, fields), ...]]]
            except RedisError:
                log.warning("cross-node read failed; reading on from the last id", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for _, entries in replies:
                for entry_id, fields in entries:
                    self._last_id = text(entry_id)
                    await self._deliver(fields)

    def _first_time(self, fields: dict[bytes, bytes]) -> bool:
        origin = text(fields.get(b"o", b""))
        seq = int(fields.get(b"q", b"0"))
        if seq <= self._seen.get(origin, 0):
            return False
        self._seen.pop(origin, None)  # most recent last: the oldest are forgotten first
        self._seen[origin] = seq
        while len(self._seen) > SENDERS_KEPT:
            del self._seen[next(iter(self._seen))]
        return True

    async def _deliver(self, fields: dict[bytes, bytes]) -> None:
        if not self._first_time(fields):
            return  # sent again after a failed write that had been stored
        sid = text(fields[b"s"])
        event = text(fields[b"e"])
        # A partner's event that comes after its call ended (the receiver pressed Next
        # while it was on its way) is dropped by ``local``: it never reaches the next call.
        source = text(fields.get(b"f", b"")) or None
        try:
            if event == DISCONNECT:
                await self.local.disconnect(sid)
            else:
                data = self.arriving(sid, event, orjson.loads(fields[b"d"]))
                await self.local.emit(sid, event, data, source)
        except Exception:
            log.exception("cross-node delivery failed", extra={"sid": sid, "event_name": event})

    async def flush(self) -> None:
        """Wait until the writer has sent what was queued (the caller bounds the wait)."""
        while self._out:  # noqa: ASYNC110 (the writer owns the queue; this only watches it)
            await asyncio.sleep(0.01)

    async def start_reading_from_now(self) -> None:
        """Skip what the stream held before this node started: it was for a previous life."""
        await self.redis.delete(self.inbox(self.node))
        self._last_id = "0-0"


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
        self.boot = secrets.token_hex(8)
        self._tasks: list[asyncio.Task[None]] = []

    def _key(self, node: str) -> str:
        return f"{self.prefix}node:{node}"

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
        await cancel_and_wait(self._tasks)

    async def leave(self) -> None:
        """A clean exit: drop the heartbeat so that the others evict at once."""
        with contextlib.suppress(RedisError):
            await self.heartbeat.delete(self._key(self.node))

    async def beat(self) -> bool:
        """Refresh the heartbeat; False if the others had evicted this node meanwhile."""
        async with self.heartbeat.pipeline(transaction=False) as pipe:
            pipe.set(self._key(self.node), self.boot, px=int(self.timeout * 1000))
            pipe.sadd(f"{self.prefix}nodes", self.node)
            _, added = await pipe.execute()
        return not added

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 3)
            try:
                if not await self.beat():
                    # Its heartbeat came later than --node-timeout (a blocked process):
                    # the others ended its users' searches and calls. The next check
                    # registers its sockets again, idle.
                    log.error("this node was evicted by the others", extra={"node": self.node})
            except RedisError:
                log.warning("heartbeat failed (Redis unreachable?)", exc_info=True)

    async def _checking(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 3)
            try:
                await self.check()
            except (RedisError, StorageError):  # the store's calls fail as StorageError
                log.warning("cluster check failed (Redis unreachable?)", exc_info=True)

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

        A socket that closed while Redis was unreachable is parted now (its
        partner told); a socket Redis lost (a Redis restarted without its data)
        is registered again, idle: its call or its place in the queue is gone
        with the data, so a socket that was in a call is told
        ``partner-disconnected`` (its partner's node tells its partner), and the
        client's next search works.
        """
        known = await self.store.sids_of(self.node)
        for sid in known:
            if self.holds(sid):
                continue
            log.info("parting a socket this node no longer holds", extra={"sid": sid})
            partner = await self.store.part(sid)
            if partner is not None:
                await self.tell_partner(partner.sid, sid)
        for member in self.members():
            if member.sid not in known and await self.store.rejoin(member):
                await self.call_lost(member.sid)

    async def evict_self(self) -> None:
        await self._evict(self.node)

    async def _evict(self, node: str) -> None:
        for gone, partner in await self.store.evict_node(node):
            await self.tell_partner(partner.sid, gone)
        await self.redis.delete(f"{self.prefix}inbox:{node}")


async def partner_disconnected(delivery: ClusterDelivery, sid: str, gone: str) -> None:
    await delivery.emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), gone)


async def call_lost(delivery: LocalDelivery, sid: str) -> None:
    """Redis lost ``sid``'s call: the socket is told as if its partner had gone."""
    partner = delivery.partner_told(sid)
    if partner is not None:
        await delivery.emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), partner)


class Node:
    """One node of a cluster, assembled from the settings: its store, shared state,
    clock, delivery and liveness. ``create_app`` uses it when ``--redis-url`` is set."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        assert settings.redis_url is not None
        self.name = node_name(settings)
        self.prefix = settings.redis_prefix
        self.timeout = settings.node_timeout
        self.metrics = metrics
        self.redis = connect(settings.redis_url)
        self.heartbeat = connect(settings.redis_url, connections=1)  # see Liveness
        self.store = RedisStore(self.redis, self.name, self.prefix)
        self.clock = WallClock()
        self.sid_prefix = self.name + "."
        self.delivery: ClusterDelivery | None = None
        self.liveness: Liveness | None = None

    def shared(self, rules: Rules, db: Database, limits: dict[str, Limit]) -> Shared:
        r, p = self.redis, self.prefix
        return Shared(
            RedisMeetings(r, rules.repeat_window, p),
            RedisBlocks(r, db, p),
            RedisCalls(r, p),
            RedisLimits(r, limits, p),
        )

    def attach(self, gateway: Gateway, lobby: Lobby) -> None:
        """Deliver through the cluster, and watch the other nodes."""
        local = gateway.delivery
        assert isinstance(local, LocalDelivery)
        delivery = ClusterDelivery(local, self.redis, self.name, self.prefix, self.metrics)
        gateway.delivery = self.delivery = delivery
        self.liveness = Liveness(
            self.redis,
            self.heartbeat,
            self.store,
            self.name,
            self.prefix,
            self.timeout,
            holds=lambda sid: sid in lobby.ctx.connections,
            members=lobby.members,
            tell_partner=lambda sid, gone: partner_disconnected(delivery, sid, gone),
            call_lost=lambda sid: call_lost(local, sid),
        )

    async def start(self) -> None:
        assert self.delivery is not None and self.liveness is not None
        await self.delivery.start_reading_from_now()
        self.delivery.start()
        await self.liveness.start()
        log.info("cluster node started", extra={"node": self.name})

    async def stop(self) -> None:
        """Leave the cluster cleanly: the partners of this node's users are told at once."""
        assert self.delivery is not None and self.liveness is not None
        await self.liveness.stop()
        with contextlib.suppress(RedisError, StorageError):  # Redis gone: the others evict
            await self.liveness.evict_self()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self.delivery.flush()
        await self.delivery.stop()
        await self.liveness.leave()
        await self.redis.aclose()
        await self.heartbeat.aclose()
