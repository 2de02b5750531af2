"""Many nodes on one Redis: the assembly of a cluster node.

``Node`` makes, from the settings, what a node needs: its Redis clients
(``connect``), the shared store and state (``Node.shared``, which the lobby takes
at construction), its inbox stream (``Node.inbox``: ``randomchat.inbox``, the
transport under ``routing.ClusterDelivery``) and, once the gateway is built, its
membership (``Node.join``): the inbox and the liveness, the heartbeat and the
eviction of dead nodes (``randomchat.liveness``), started and stopped together.
``create_app`` assembles them in that order; nothing is swapped afterwards. Each
module's docstring says how its part works; docs/scaling.md says it for operators.
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
from randomchat.inbox import Deliver, Inbox
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


async def partner_disconnected(gateway: Gateway, sid: str, gone: str) -> None:
    await gateway.delivery.emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), gone)


async def state_lost(delivery: LocalDelivery, gateway: Gateway, lobby: Lobby, sid: str) -> None:
    """Redis lost ``sid``'s state (a restart without its data, or this node was evicted
    while stalled): a socket in a call is told as if its partner had gone; one that was
    waiting is queued again with the options of its search (its page still shows it
    waiting, and would otherwise wait for nobody, unseen by every newcomer)."""
    partner = delivery.scope.partner(sid)  # the call it was last told of (CallScope)
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

    def shared(self, rules: Rules, db: Database, limits: dict[str, Limit]) -> Shared:
        """The lobby's shared state on Redis (a ``lobby.SharedFactory``)."""
        r, p = self.redis, self.prefix
        return Shared(
            RedisMeetings(r, rules.repeat_window, p),
            RedisBlocks(r, db, p),
            MemoryCalls(),  # each node keeps its own sockets' calls (lobby.arrival)
            RedisLimits(r, limits, p),
            # The caps per user and per address count across the nodes: each socket
            # leased for the node timeout, so a dead node's stop counting by its eviction.
            RedisCaps(
                r, rules.max_sockets_per_user, rules.max_sockets_per_address, self.timeout, p
            ),
            # The first side of a resumed call waits where any node finds it (its partner
            # may come back on another node).
            RedisResumes(r, self.store),
        )

    @property
    def caps_every(self) -> float:
        """Seconds between renewals of this node's connection leases (``caps``)."""
        return self.timeout / 3

    def address_limits(self, name: str, limit: Limit) -> RedisAddressLimits:
        """A limiter of ``POST /api/session`` per address, shared by the nodes."""
        return RedisAddressLimits(self.redis, name, limit, self.prefix)

    def inbox(self, deliver: Deliver) -> Inbox:
        """This node's inbox stream: what it reads goes to ``deliver`` (``routing.Arrivals``)."""
        return Inbox(self.redis, self.name, self.prefix, self.metrics, deliver)

    def join(
        self, gateway: Gateway, lobby: Lobby, local: LocalDelivery, inbox: Inbox
    ) -> Membership:
        """What runs while this node is in the cluster: its inbox, and its liveness
        (which watches the other nodes, and parts what Redis lost of this one)."""
        liveness = Liveness(
            self.redis,
            self.heartbeat,
            self.store,
            self.name,
            self.prefix,
            self.timeout,
            holds=lambda sid: sid in lobby.ctx.connections,
            members=lobby.members,
            tell_partner=lambda sid, gone: partner_disconnected(gateway, sid, gone),
            call_lost=lambda sid: state_lost(local, gateway, lobby, sid),
            metrics=self.metrics,
            healthy=lambda: inbox.dead is None,
            # Its clients reconnect through the load balancer to a node that works
            # (this one's /healthz answers 503 from now on); a restart mends it.
            on_dead=lambda: gateway.drain(0.0),
            on_late_beat=lambda: look_again(gateway, lobby),
        )
        return Membership(self, inbox, liveness)


class Membership:
    """A node's running part in the cluster: its inbox's reader and writer, its liveness."""

    def __init__(self, node: Node, inbox: Inbox, liveness: Liveness) -> None:
        self.node = node
        self.inbox = inbox
        self.liveness = liveness

    async def start(self) -> None:
        await self.inbox.start_reading_from_now()
        self.inbox.start()
        await self.liveness.start()
        log.info("cluster node started", extra={"node": self.node.name})

    async def stop(self) -> None:
        """Leave the cluster cleanly: the partners of this node's users are told at once."""
        await self.liveness.stop()
        with contextlib.suppress(RedisError, StorageError):  # Redis gone: the others evict
            await self.liveness.evict_self()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self.inbox.flush()
        await self.inbox.stop()
        await self.liveness.leave()
        await self.node.redis.aclose()
        await self.node.heartbeat.aclose()
