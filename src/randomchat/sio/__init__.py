"""A purpose-built Engine.IO v4 / Socket.IO v5 server layer.

Modules, from the wire up: ``eio`` (Engine.IO packets and polling payloads),
``engine`` (sessions, heartbeat, bounded output buffers with one writer per
WebSocket, the two transports), ``budget`` (the per-connection packet budget),
``codec`` (Socket.IO packets, binary attachments, input bounds), ``server``
(namespaces, handlers, emits) and ``asgi`` (routing ``/socket.io/`` to the
engine). Every limit and its policy is stated in the docstring of the module
that enforces it: ``engine`` (buffers, rate, heartbeat, upgrade), ``codec``
(reserved names, depth, attachments), ``server`` (binary before CONNECT,
connect timeout, the connect/disconnect pairing).
"""

from randomchat.sio.asgi import ASGIApp
from randomchat.sio.server import ConnectionRefusedError, Server

__all__ = ["ASGIApp", "ConnectionRefusedError", "Server"]
