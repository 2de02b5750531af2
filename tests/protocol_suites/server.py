"""The sample servers the official protocol test suites expect, on our layers.

The socket.io project publishes mocha suites that talk to a server on
localhost:3000 (github.com/socketio/engine.io-protocol and
github.com/socketio/socket.io-protocol, folder ``test-suite/``; their READMEs
give the reference server). This script starts the same server on our native
layer, or on python-socketio for comparison::

    .venv/bin/python -m tests.protocol_suites.server --suite engine.io [--layer native]
    .venv/bin/python -m tests.protocol_suites.server --suite socket.io [--layer python-socketio]

docs/performance.md says how the suites were run; they are never vendored here.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
MAX_PAYLOAD = 1_000_000
CONNECT_TIMEOUT = 1.0


def engine_echo_app() -> Any:
    """Bare Engine.IO on /engine.io/: every message is sent back as it came."""
    from randomchat.sio.eio import Message
    from randomchat.sio.engine import Engine, Receive, Scope, Send, Session

    class Echo:
        def on_open(self, session: Session) -> None:
            pass

        async def on_message(self, session: Session, message: Message) -> None:
            await session.send(message)

        async def on_close(self, session: Session, reason: str) -> None:
            pass

    engine = Engine(
        Echo(), ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, max_payload=MAX_PAYLOAD
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith("/engine.io/"):
            await engine.websocket(scope, receive, send)
        elif scope["type"] == "http" and scope["path"].startswith("/engine.io/"):
            await engine.http(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    return app


def engine_echo_app_python_socketio() -> Any:
    import engineio

    eio = engineio.AsyncServer(
        async_mode="asgi",
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        max_http_buffer_size=MAX_PAYLOAD,
        cors_allowed_origins="*",
    )

    @eio.on("message")  # type: ignore[misc]
    async def message(sid: str, data: Any) -> None:
        await eio.send(sid, data)

    return engineio.ASGIApp(eio, engineio_path="engine.io")


def _register(sio: Any) -> None:
    """The reference server's handlers, written once for both layers."""

    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        await sio.emit("auth", auth if auth is not None else {}, to=sid, namespace="/")

    async def message(sid: str, *args: Any) -> None:
        await sio.emit("message-back", tuple(args), to=sid, namespace="/")

    async def message_with_ack(sid: str, *args: Any) -> Any:
        return tuple(args)

    async def custom_connect(sid: str, environ: Any, auth: Any = None) -> None:
        await sio.emit("auth", auth if auth is not None else {}, to=sid, namespace="/custom")

    sio.on("connect", connect, namespace="/")
    sio.on("message", message, namespace="/")
    sio.on("message-with-ack", message_with_ack, namespace="/")
    sio.on("connect", custom_connect, namespace="/custom")


def socketio_app(layer: str) -> Any:
    if layer == "native":
        from randomchat import sio as native

        server = native.Server(
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
            max_http_buffer_size=MAX_PAYLOAD,
            cors_allowed_origins="*",
            connect_timeout=CONNECT_TIMEOUT,
        )
        _register(server)
        return native.ASGIApp(server)
    import socketio

    sio = socketio.AsyncServer(
        async_mode="asgi",
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        max_http_buffer_size=MAX_PAYLOAD,
        cors_allowed_origins="*",
    )
    _register(sio)
    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["engine.io", "socket.io"], required=True)
    parser.add_argument("--layer", choices=["native", "python-socketio"], default="native")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    if args.suite == "engine.io":
        app = engine_echo_app() if args.layer == "native" else engine_echo_app_python_socketio()
    else:
        app = socketio_app(args.layer)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
