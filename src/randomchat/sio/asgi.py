"""The ASGI app: ``/socket.io/`` to the server's engine, anything else to the inner app."""

from __future__ import annotations

from typing import Any

from randomchat.sio.engine import Receive, Scope, Send
from randomchat.sio.server import Server


class ASGIApp:
    def __init__(
        self, server: Server, other_asgi_app: Any = None, socketio_path: str = "socket.io"
    ) -> None:
        self.engine = server.engine
        self.other = other_asgi_app
        self.prefix = "/" + socketio_path.strip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "lifespan" and scope["path"].startswith(self.prefix):
            if kind == "websocket":
                await self.engine.websocket(scope, receive, send)
            elif kind == "http":
                await self.engine.http(scope, receive, send)
            return
        if self.other is not None:
            await self.other(scope, receive, send)
        elif kind == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif kind == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "websocket.close", "code": 1000})
