"""The lean websocket protocol: bounded inbox with pause and resume, handshake dropped."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from websockets.asyncio.client import connect

from randomchat.wsprotocol import INBOX_PAUSE, Inbox, LeanWebSocketProtocol
from tests.conftest import free_port

BURST = 5 * INBOX_PAUSE


class SlowEcho:
    """Echoes each text message, but only once ``go`` is set: the inbox fills meanwhile."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await self.go.wait()
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await send({"type": "websocket.send", "text": message["text"]})


async def test_a_burst_waits_in_a_bounded_inbox_and_arrives_whole_and_in_order() -> None:
    app = SlowEcho()
    port = free_port()
    config = uvicorn.Config(
        app, port=port, log_config=None, lifespan="off", ws=LeanWebSocketProtocol, loop="none"
    )
    config.ws_ping_interval = None
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        async with connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
            for i in range(BURST):
                await ws.send(f"m{i}")
            (protocol,) = server.server_state.connections
            assert isinstance(protocol, LeanWebSocketProtocol)
            assert not hasattr(protocol, "request") and not hasattr(protocol, "response")
            inbox = protocol.queue
            assert isinstance(inbox, Inbox)
            for _ in range(200):  # until the server has read what it will read
                if not protocol.transport.is_reading():
                    break
                await asyncio.sleep(0.01)
            assert not protocol.transport.is_reading()  # paused: TCP holds the rest
            assert INBOX_PAUSE <= inbox.qsize() < BURST
            app.go.set()
            got = [await ws.recv() for _ in range(BURST)]
            assert got == [f"m{i}" for i in range(BURST)]
            assert protocol.transport.is_reading() and inbox.empty()
    finally:
        server.should_exit = True
        await task
