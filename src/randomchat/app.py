"""create_app(settings, db): the ASGI app, Socket.IO and HTTP on one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from randomchat import admin, banstatus, http, online, proxy
from randomchat.auth import Verifier
from randomchat.clock import Clock, SystemClock
from randomchat.config import Settings
from randomchat.console import console_routes
from randomchat.core.replay import SharedReplay
from randomchat.db import Ban, Database
from randomchat.delivery import CallScope, LocalDelivery
from randomchat.errors import StorageError
from randomchat.gateway import Gateway, socket_server
from randomchat.lobby import Lobby, in_memory
from randomchat.lobby.resume import recovery_guard
from randomchat.metrics import Metrics
from randomchat.protocol import NAMESPACE
from randomchat.routing import Arrivals, ClusterDelivery, Router
from randomchat.rules import Rules
from randomchat.store import MemoryStore, Store
from randomchat.store.address_limits import SharedFactory
from randomchat.tasks import cancel_and_wait

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 60.0
WIDEN_SECONDS = 0.25
BAN_REFRESH_SECONDS = 2.0
# Each refresh re-reads the changes of this many seconds before the previous one:
# a ban committed late, or stamped by a process whose clock is behind, is not missed.


def wrap(asgi: Any, settings: Settings) -> Any:
    """The whole app behind the proxy headers and the Host allowlist (see proxy.py)."""
    policy = proxy.HostPolicy.build(
        settings.allowed_hosts, bind_host=settings.host, cors_origins=settings.cors_origins
    )
    if policy.names is None and not settings.allowed_hosts:
        log.warning(
            "serving any Host name: bound to a wildcard address without --allowed-host; "
            "set --allowed-host to the names of this server to refuse DNS rebinding",
            extra={"host": settings.host},
        )
    networks = proxy.parse_networks(settings.trusted_proxies)
    asgi = proxy.HostAllowlist(asgi, policy)
    return proxy.ForwardedHeaders(asgi, networks, settings.forwarded_header)


@dataclass
class App:
    """The assembled service; ``asgi`` is what uvicorn serves."""

    asgi: Any
    lobby: Lobby
    store: Store
    metrics: Metrics
    gateway: Gateway
    db: Database
    refresh_bans: Callable[[], Awaitable[None]]  # run every BAN_REFRESH_SECONDS
    drain: Callable[[], Awaitable[None]]  # on SIGTERM, before uvicorn shuts down


def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except StorageError as exc:  # Redis out of reach: said once per run, no traceback
                log.warning("periodic job failed", extra={"job": job.__name__, "error": str(exc)})
            except Exception:
                log.exception("periodic job failed", extra={"job": job.__name__})

    return asyncio.create_task(loop())


def create_app(
    settings: Settings, db: Database, *, store: Store | None = None, clock: Clock | None = None
) -> App:
    metrics = Metrics()
    node = None
    replay: SharedReplay | None = None  # used proofs of work: None keeps them in this process
    address_limits: SharedFactory | None = None  # POST /api/session per address: the same
    if settings.redis_url:  # a cluster node (imported only then: one process needs no Redis)
        from randomchat.cluster import Node
        from randomchat.store.redis_replay import RedisReplay

        node = Node(settings, metrics)
        store, clock = node.store, node.clock
        replay = RedisReplay(node.redis, node.prefix)  # a proof of work counts once per cluster
        address_limits = node.address_limits
    store = store if store is not None else MemoryStore()
    clock = clock or SystemClock()
    rules = Rules.from_settings(settings)
    # The call each socket was last told of: the delivery writes it as it writes call
    # events, the lobby reads it, and its relay hears of each change (delivery.CallScope).
    scope = CallScope()
    # On a cluster the caps, the pending resumes and the per-user state are on Redis.
    lobby = Lobby(store, db, clock, metrics, rules, node.shared if node else in_memory, scope)
    # A held socket goes back only to its own user (lobby.resume, sio.recovery).
    guard = recovery_guard(lobby.ctx, Verifier(settings.secret))
    server = socket_server(settings, guard, node.sid_prefix if node else "")
    local = LocalDelivery(server, NAMESPACE, metrics, scope)
    membership = None
    if node is None:
        gateway = Gateway(settings, lobby, metrics, local, server)
    else:
        # Sockets on other nodes through their inbox streams; what comes from them is
        # completed here, where the socket's token and call are known (Lobby.arriving).
        inbox = node.inbox(Arrivals(local, lobby.arriving))
        routed = ClusterDelivery(local, Router(node.name, local.holds), inbox)
        gateway = Gateway(settings, lobby, metrics, routed, server)
        membership = node.join(gateway, lobby, local, inbox)

    async def kick(ban: Ban) -> None:
        await gateway.apply(lobby.moderation.kick_user(ban))

    async def housekeeping() -> None:
        await lobby.housekeeping()

    async def widen() -> None:
        await gateway.apply(await lobby.search.widen_waiting())
        await gateway.apply(await lobby.resume.expired())

    async def refresh_bans() -> None:
        await gateway.apply(await lobby.moderation.refresh_bans())

    async def renew_caps() -> None:
        await lobby.ctx.connections.refresh(lobby.ctx.wall())

    async def unbanned(user_id: str) -> None:
        lobby.moderation.forget_ban(user_id)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await refresh_bans()  # before the first connection is admitted
        if membership is not None:
            await membership.start()
        tasks = [
            _every(HOUSEKEEPING_SECONDS, housekeeping),
            _every(WIDEN_SECONDS, widen),
            _every(BAN_REFRESH_SECONDS, refresh_bans),
        ]
        if node is not None:  # this node's connections keep counting on the cluster
            tasks.append(_every(node.caps_every, renew_caps))
        try:
            yield
        finally:
            await cancel_and_wait(tasks)  # before the node closes the Redis they use
            if membership is not None:
                await membership.stop()

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Content-Type", "Authorization"],
            )
        )
    routes = [
        *admin.admin_routes(settings, db, on_ban=kick, on_unban=unbanned),
        # The console (and its page at /admin) before http's catch-all mount of the page.
        *console_routes(settings, db, store, metrics, on_ban=kick, on_unban=unbanned),
        *banstatus.routes(settings, lobby.rules, lobby.moderation),
        *online.routes(store, clock),
        *http.routes(
            settings,
            store,
            metrics,
            lobby.moderation.address_ban,
            lambda: gateway.draining,
            ice=lobby.rules.ice,  # one TURN credential cache for the route and match-found
            replay=replay,
            address_limits=address_limits,
        ),
    ]
    web = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    asgi = wrap(gateway.asgi(web), settings)

    async def drain() -> None:
        await gateway.drain(settings.drain_seconds)

    return App(asgi, lobby, store, metrics, gateway, db, refresh_bans, drain)
