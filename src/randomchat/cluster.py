"""Many nodes on one Redis: the assembly of a cluster node.

``Node`` puts together, from the settings, what a node needs: its Redis clients
(``connect``), the shared store and state, cross-node delivery through each
node's inbox stream (``randomchat.inbox``) and liveness, the heartbeat and the
eviction of dead nodes (``randomchat.liveness``). Each module's docstring says
how its part works; docs/scaling.md says it for operators.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
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
from randomchat.inbox import ClusterDelivery
from randomchat.liveness import Liveness
from randomchat.lobby import Lobby, Shared
from randomchat.metrics import Metrics
from randomchat.protocol import Empty, ServerEvent
from randomchat.rules import Rules
from randomchat.store.redis import RedisStore
from randomchat.store.redis_caps import RedisCaps
from randomchat.store.redis_resume import RedisResumes
from randomchat.store.redis_sessions import RedisAddressLimits
from randomchat.store.redis_shared import RedisBlocks, RedisLimits, RedisMeetings
from randomchat.store.shared import MemoryCalls

log = logging.getLogger(__name__)

NODE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
POOL_SIZE = 100  # Redis connections per node (redis-py's default bound)
POOL_WAIT = 5.0  # seconds a command waits for a free connection before failing


def connect(
    url: str, connections: int = POOL_SIZE, wait: float = POOL_WAIT, *, cluster: bool = False
) -> Redis:
    """A client that retries with back-off when it cannot reach Redis (redis-py's own retry).

    Only connection errors are retried, not timeouts: a command that timed out may have
    run, and the scripts that pair users are not idempotent (the claim script recognises
    its own retry; the others answer ``unavailable`` rather than run twice).

    It holds at most ``connections`` connections, one per command in flight. When all
    are busy, a command waits up to ``wait`` seconds for one, then fails (its request is
    answered ``unavailable``). redis-py's default pool fails at once instead, so a burst
    of requests on a busy node (the churn test's 200 users on two cores) refused some.
    """
    retry = Retry(
        ExponentialBackoff(cap=2.0, base=0.05), retries=3, supported_errors=(RedisConnectionError,)
    )
    if cluster:
        # A Redis Cluster: the client learns the slots from the node named and follows
        # MOVED; every key a script touches shares one hash tag (store.redis_base.lobby).
        # It bounds connections per shard the same way (it waits for a free one).
        client = RedisCluster.from_url(
            url,
            max_connections=connections,
            retry=retry,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
        )
        # The commands used are the same on both; redis-py types them apart.
        return cast(Redis, client)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=wait,
        retry=retry,
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


async def partner_disconnected(delivery: ClusterDelivery, sid: str, gone: str) -> None:
    await delivery.emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), gone)


async def state_lost(delivery: LocalDelivery, gateway: Gateway, lobby: Lobby, sid: str) -> None:
    """Redis lost ``sid``'s state (a restart without its data, or this node was evicted
    while stalled): a socket in a call is told as if its partner had gone; one that was
    waiting is queued again with the options of its search (its page still shows it
    waiting, and would otherwise wait for nobody, unseen by every newcomer)."""
    partner = delivery.partner_told(sid)
    if partner is not None:
        await delivery.emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), partner)
        return
    conn = lobby.ctx.connections.get(sid)
    if conn is not None and conn.waiting:
        await gateway.apply(await lobby.search.requeue(sid))


async def look_again(gateway: Gateway, lobby: Lobby) -> None:
    await gateway.apply(await lobby.search.look_again())


class Node:
    """One node of a cluster, assembled from the settings: its store, shared state,
    clock, delivery and liveness. ``create_app`` uses it when ``--redis-url`` is set."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        assert settings.redis_url is not None
        self.name = node_name(settings)
        self.prefix = settings.redis_prefix
        self.timeout = settings.node_timeout
        self.metrics = metrics
        cluster = settings.redis_cluster
        self.redis = connect(settings.redis_url, cluster=cluster)
        self.heartbeat = connect(settings.redis_url, connections=1, cluster=cluster)  # Liveness
        self.store = RedisStore(self.redis, self.name, self.prefix, settings.node_timeout)
        self.clock = WallClock()
        self.sid_prefix = self.name + "."
        self.delivery: ClusterDelivery | None = None
        self.liveness: Liveness | None = None

    def shared(self, rules: Rules, db: Database, limits: dict[str, Limit]) -> Shared:
        r, p = self.redis, self.prefix
        return Shared(
            RedisMeetings(r, rules.repeat_window, p),
            RedisBlocks(r, db, p),
            MemoryCalls(),  # each node keeps its own sockets' calls (lobby.arrival)
            RedisLimits(r, limits, p),
        )

    @property
    def caps_every(self) -> float:
        """Seconds between renewals of this node's connection leases (``caps``)."""
        return self.timeout / 3

    def caps(self, per_user: int, per_address: int) -> RedisCaps:
        """The connection caps on the cluster: each socket leased for the node timeout,
        so a dead node's sockets stop counting by the time it is evicted."""
        return RedisCaps(self.redis, per_user, per_address, self.timeout, self.prefix)

    def resumes(self) -> RedisResumes:
        """Pending resumes, findable from every node (a call's sides may come back on two)."""
        return RedisResumes(self.redis, self.store)

    def address_limits(self, name: str, limit: Limit) -> RedisAddressLimits:
        """A limiter of ``POST /api/session`` per address, shared by the nodes."""
        return RedisAddressLimits(self.redis, name, limit, self.prefix)

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
            call_lost=lambda sid: state_lost(local, gateway, lobby, sid),
            metrics=self.metrics,
            healthy=lambda: delivery.dead is None,
            # Its clients reconnect through the load balancer to a node that works
            # (this one's /healthz answers 503 from now on); a restart mends it.
            on_dead=lambda: gateway.drain(0.0),
            on_late_beat=lambda: look_again(gateway, lobby),
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
