"""A purpose-built Engine.IO v4 / Socket.IO v5 server layer.

Modules, from the wire up: ``eio`` (Engine.IO packets and polling payloads),
``scope`` (a request's environ and origin check), ``transports`` (the
WebSocket's writer and reader, the open GET), ``session`` (one session's phase
table, output buffer, heartbeat and close), ``polling`` (GET and POST),
``engine`` (the session table, WebSocket reading and upgrade), ``budget`` (the
per-connection packet budget), ``codec`` (Socket.IO packets, binary
attachments, input bounds), ``sockets`` (a namespace socket's state table and
its handlers' turns), ``handlers`` (the application's handler slots),
``recovery`` (connection-state recovery: outboxes and held sockets), ``server``
(namespaces, emits, connect and disconnect) and ``asgi`` (routing
``/socket.io/`` to the engine). Every limit and its policy is stated in the
docstring of the module that enforces it: ``engine`` (buffers, rate,
heartbeat, upgrade), ``codec`` (reserved names, depth, attachments),
``recovery`` (outboxes, the window), ``server`` (binary before CONNECT,
connect timeout, the connect/disconnect pairing).
"""

from randomchat.sio.asgi import ASGIApp
from randomchat.sio.handlers import ConnectionRefusedError
from randomchat.sio.server import Server

__all__ = ["ASGIApp", "ConnectionRefusedError", "Server"]
