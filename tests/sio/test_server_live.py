"""The native layer on a real uvicorn, with python-socketio's client: both transports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from randomchat import sio
from tests.conftest import free_port
from tests.server.harness import serving

pytestmark = pytest.mark.server


@contextlib.asynccontextmanager
async def serve(server: sio.Server) -> AsyncIterator[str]:
    async with serving(sio.ASGIApp(server), free_port(), lifespan="off") as url:
        yield url


def echo_server() -> tuple[sio.Server, list[tuple[str, Any]]]:
    server = sio.Server(ping_interval=0.5, ping_timeout=2)
    seen: list[tuple[str, Any]] = []

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        if auth.get("token") == "bad":
            raise sio.ConnectionRefusedError("Banned", {"until": 5})
        seen.append(("connect", auth))
        await server.emit("hello", {"sid": sid}, to=sid, namespace="/ns")

    async def echo(sid: str, *args: Any) -> Any:
        await server.emit("echo", tuple(args), to=sid, namespace="/ns")
        return "acked"

    async def disconnect(sid: str, reason: str) -> None:
        seen.append(("disconnect", reason))

    async def kick(sid: str) -> None:
        await server.disconnect(sid, namespace="/ns")

    server.on("connect", connect, namespace="/ns")
    server.on("echo", echo, namespace="/ns")
    server.on("kick", kick, namespace="/ns")
    server.on("disconnect", disconnect, namespace="/ns")
    return server, seen


@pytest.mark.parametrize(
    "transports", [["websocket"], ["polling"], ["polling", "websocket"]], ids=str
)
async def test_events_acks_binary_and_disconnect(transports: list[str]) -> None:
    server, seen = echo_server()
    async with serve(server) as url:
        client = socketio.AsyncClient(reconnection=False)
        got: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        client.on("hello", lambda data: got.put_nowait(("hello", data)), namespace="/ns")
        client.on("echo", lambda *args: got.put_nowait(("echo", args)), namespace="/ns")
        await client.connect(
            url, namespaces=["/ns"], transports=transports, auth={"token": "t"}, wait_timeout=5
        )
        assert (await asyncio.wait_for(got.get(), 5))[0] == "hello"
        ack = await client.call("echo", (1, b"\x00\xff", {"k": [True]}), namespace="/ns")
        assert ack == "acked"
        assert await asyncio.wait_for(got.get(), 5) == ("echo", (1, b"\x00\xff", {"k": [True]}))
        await asyncio.sleep(1.2)  # heartbeats pass, the connection stays
        assert client.connected
        await client.disconnect()
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.02)
        # "client disconnect" when the client's 41 arrives before it closes, else the close
        assert seen[0] == ("connect", {"token": "t"})
        assert seen[1] in [("disconnect", "client disconnect"), ("disconnect", "transport close")]
        assert not server.sockets and not server.engine.sessions


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_refusal_carries_message_and_data(transport: str) -> None:
    server, _ = echo_server()
    async with serve(server) as url:
        client = socketio.AsyncClient(reconnection=False)
        errors: list[Any] = []
        client.on("connect_error", errors.append, namespace="/ns")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                url,
                namespaces=["/ns"],
                transports=[transport],
                auth={"token": "bad"},
                wait_timeout=5,
            )
        await client.disconnect()
        assert errors == [{"message": "Banned", "data": {"until": 5}}]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_server_disconnect_reaches_the_client(transport: str) -> None:
    server, seen = echo_server()
    async with serve(server) as url:
        client = socketio.AsyncClient(reconnection=False)
        gone = asyncio.Event()
        client.on("disconnect", gone.set, namespace="/ns")
        await client.connect(url, namespaces=["/ns"], transports=[transport], wait_timeout=5)
        await client.emit("kick", namespace="/ns")
        await asyncio.wait_for(gone.wait(), 5)
        assert seen[-1] == ("disconnect", "server disconnect")
        await client.disconnect()
        for _ in range(100):
            if not server.engine.sessions:
                break
            await asyncio.sleep(0.02)
        assert not server.sockets and not server.engine.sessions
