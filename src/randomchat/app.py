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

from randomchat import admin, http
from randomchat.clock import Clock, SystemClock
from randomchat.config import Settings
from randomchat.db import Ban, Database
from randomchat.gateway import Gateway
from randomchat.lobby import Lobby
from randomchat.metrics import Metrics
from randomchat.rules import Rules
from randomchat.store import MemoryStore, Store

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 60.0
WIDEN_SECONDS = 0.25
BAN_REFRESH_SECONDS = 2.0


@dataclass
class App:
    """The assembled service; ``asgi`` is what uvicorn serves."""

    asgi: Any
    lobby: Lobby
    store: Store
    metrics: Metrics
    gateway: Gateway
    db: Database


def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("periodic job failed", extra={"job": job.__name__})

    return asyncio.create_task(loop())


def create_app(
    settings: Settings, db: Database, *, store: Store | None = None, clock: Clock | None = None
) -> App:
    store = store if store is not None else MemoryStore()
    clock = clock or SystemClock()
    metrics = Metrics()
    lobby = Lobby(store, db, clock, metrics, Rules.from_settings(settings))
    gateway = Gateway(settings, lobby, metrics)

    async def kick(ban: Ban) -> None:
        await gateway.apply(lobby.kick_user(ban))

    async def housekeeping() -> None:
        lobby.housekeeping()

    async def widen() -> None:
        await gateway.apply(await lobby.widen_waiting())

    async def refresh_bans() -> None:
        """Pick up bans made elsewhere (the CLI, another process) and lifted ones."""
        await gateway.apply(await lobby.refresh_bans())

    async def unbanned(user_id: str) -> None:
        lobby.forget_ban(user_id)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await refresh_bans()  # before the first connection is admitted
        tasks = [
            _every(HOUSEKEEPING_SECONDS, housekeeping),
            _every(WIDEN_SECONDS, widen),
            _every(BAN_REFRESH_SECONDS, refresh_bans),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

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
    routes = admin.admin_routes(settings, db, on_ban=kick, on_unban=unbanned) + http.routes(
        settings, store, metrics
    )
    web = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    asgi = gateway.asgi(web)
    return App(asgi, lobby, store, metrics, gateway, db)
