"""A purpose-built Engine.IO v4 / Socket.IO v5 server layer.

Modules, from the wire up: ``eio`` (Engine.IO packets and polling payloads),
``engine`` (sessions, heartbeat, WebSocket and long-polling transports),
``codec`` (Socket.IO packets, binary attachments), ``server`` (namespaces,
handlers, emits) and ``asgi`` (routing ``/socket.io/`` to the engine).
"""

from randomchat.sio.asgi import ASGIApp
from randomchat.sio.server import ConnectionRefusedError, Server

__all__ = ["ASGIApp", "ConnectionRefusedError", "Server"]
