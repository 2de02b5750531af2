"""create_app(settings): the ASGI app, Socket.IO and HTTP on one port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from randomchat import http
from randomchat.clock import Clock, SystemClock
from randomchat.config import Settings
from randomchat.core.ratelimit import Limit
from randomchat.gateway import Gateway
from randomchat.lobby import Lobby
from randomchat.metrics import Metrics
from randomchat.store import MemoryStore, Store

HOUSEKEEPING_SECONDS = 60.0


@dataclass
class App:
    """The assembled service; ``asgi`` is what uvicorn serves."""

    asgi: Any
    lobby: Lobby
    store: Store
    metrics: Metrics
    gateway: Gateway


def create_app(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> App:
    store = store if store is not None else MemoryStore()
    metrics = Metrics()
    lobby = Lobby(
        store,
        clock or SystemClock(),
        metrics,
        find_limit=Limit.one_per(settings.find_rate_limit_ms),
        heartbeat_interval=settings.heartbeat_interval,
        ice_servers=settings.ice_servers,
    )
    gateway = Gateway(settings, lobby, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async def housekeeping() -> None:
            while True:
                await asyncio.sleep(HOUSEKEEPING_SECONDS)
                lobby.housekeeping()

        task = asyncio.create_task(housekeeping())
        try:
            yield
        finally:
            task.cancel()

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "Authorization"],
            )
        )
    web = Starlette(
        routes=http.routes(settings, store, metrics), middleware=middleware, lifespan=lifespan
    )
    asgi = socketio.ASGIApp(gateway.sio, other_asgi_app=web, socketio_path="socket.io")
    return App(asgi, lobby, store, metrics, gateway)
