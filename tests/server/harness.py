"""A real server in the test's own event loop, and a Socket.IO client that records events."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import socketio
import uvicorn

from randomchat.app import App, create_app
from randomchat.clock import Clock
from randomchat.config import Settings
from randomchat.db import Database
from randomchat.delivery import LocalDelivery
from randomchat.wsprotocol import LeanWebSocketProtocol
from tests.conftest import SECRET, free_port

NS = "/random-chat"


@dataclass
class Live:
    url: str
    app: App
    settings: Settings

    async def assert_empty(self) -> None:
        """Nothing is left of any connection: store, local state, Socket.IO rooms."""
        for _ in range(100):
            counts = await self.app.store.counts()
            sizes = self.app.lobby.local_sizes()
            if counts.empty and sizes["connections"] == 0 and sizes["pending_batches"] == 0:
                break
            await asyncio.sleep(0.02)
        assert (await self.app.store.counts()).empty
        await self.app.lobby.housekeeping()
        sizes = self.app.lobby.local_sizes()
        assert sizes["connections"] == sizes["pending_batches"] == 0
        delivery = self.app.gateway.delivery
        assert isinstance(delivery, LocalDelivery) and delivery.told() == 0


def make_token(username: str = "Tester", sub: str | None = None, **claims: Any) -> str:
    body: dict[str, Any] = {
        "sub": sub or f"u-{username}",
        "username": username,
        "exp": int(time.time()) + 3600,
    }
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")


@contextlib.asynccontextmanager
async def live_server(clock: Clock | None = None, **overrides: Any) -> AsyncIterator[Live]:
    """A real server on a free port; ``clock`` (a hand clock) drives the lobby's time."""
    values: dict[str, Any] = {
        "port": free_port(),
        "jwt_secret": SECRET,
        "stun_urls": (),  # tests never send packets beyond this machine
        "find_rate_limit_ms": 0,
        "web_dir": "/nonexistent",
        "data_dir": tempfile.mkdtemp(prefix="rc-live-"),
    }
    values.update(overrides)
    settings = Settings(**values)
    db = await Database.open(settings.database)
    app = create_app(settings, db, clock=clock)
    try:
        async with serving(app.asgi, settings.port, lifespan="on") as url:
            yield Live(url, app, settings)
    finally:
        await db.close()


Lifespan = Literal["auto", "on", "off"]


@contextlib.asynccontextmanager
async def serving(asgi: Any, port: int, *, lifespan: Lifespan) -> AsyncIterator[str]:
    """Serve ``asgi`` with uvicorn in this event loop; yield its URL."""
    async with running(asgi, port, lifespan=lifespan):
        yield f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def running(asgi: Any, port: int, *, lifespan: Lifespan) -> AsyncIterator[uvicorn.Server]:
    """``serving``, yielding uvicorn's server (its ``server_state`` holds the connections)."""
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan=lifespan,
        ws=LeanWebSocketProtocol,  # as randomchat serve (httpserver.uvicorn_config)
        ws_ping_interval=None,
        loop="none",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


class Peer:
    """A python-socketio client on the namespace, with every event it receives queued."""

    def __init__(self, name: str = "Tester", sub: str | None = None) -> None:
        self.name = name
        self.sub = sub or f"u-{name}"
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.disconnected = asyncio.Event()

        async def catch_all(event: str, *args: Any) -> None:
            await self.events.put((event, args[0] if args else None))

        self.client.on("*", catch_all, namespace=NS)
        self.client.on("disconnect", self.disconnected.set, namespace=NS)

    async def connect(
        self, url: str, token: str | None = None, transports: list[str] | None = None, **kwargs: Any
    ) -> Peer:
        await self.client.connect(
            url,
            namespaces=[NS],
            transports=transports or ["websocket"],
            auth={"token": token or make_token(self.name, self.sub)},
            wait_timeout=5,
            **kwargs,
        )
        return self

    async def emit(self, event: str, *data: Any) -> None:
        await self.client.emit(event, data[0] if len(data) == 1 else data or None, namespace=NS)

    async def emit_raw(self, event: str, *args: Any) -> None:
        """Emit with exactly these Socket.IO arguments (zero, one or several)."""
        await self.client.emit(event, tuple(args) if args else None, namespace=NS)

    async def expect(self, event: str, timeout: float = 5.0) -> Any:
        """Wait for ``event``; fail on any other event that arrives first."""
        got, data = await asyncio.wait_for(self.events.get(), timeout)
        assert got == event, f"{self.name}: expected {event!r}, got {got!r} {data!r}"
        return data

    async def quiet(self, seconds: float = 0.2) -> None:
        """Assert that nothing arrives for a while."""
        await asyncio.sleep(seconds)
        assert self.events.empty(), f"{self.name}: unexpected {self.events.get_nowait()!r}"

    async def close(self) -> None:
        await self.client.disconnect()


async def ready(url: str, name: str, **kwargs: Any) -> Peer:
    """A connected peer past its first ``connection-quality``."""
    peer = await Peer(name, **kwargs).connect(url)
    await peer.expect("connection-quality")
    return peer


async def match(waiter: Peer, seeker: Peer) -> tuple[Any, Any]:
    """``waiter`` searches first and waits, ``seeker`` finds it; their ``match-found``s."""
    await waiter.emit_raw("find-partner")
    await waiter.expect("waiting-for-partner")
    await seeker.emit_raw("find-partner")
    found = await seeker.expect("match-found")
    return found, await waiter.expect("match-found")
