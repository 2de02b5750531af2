"""The uvicorn server: its config built once from the settings, and a request deadline.

uvicorn (0.54) closes idle keep-alive connections but has no timeout for a
request that is still arriving (its issue #157, ``--timeout-request-start``,
is open): a client that opens a connection and never finishes its headers
(slowloris) holds a descriptor forever, and with httptools the head of a
request is not bounded in size either. ``DeadlineProtocol`` is uvicorn's
httptools protocol with both bounds added:

- every request must be received in full (request line, headers and body)
  within ``request_timeout`` seconds of its first byte, or of the connection's
  opening for the first request; otherwise the connection is closed (with a
  408 if no part of a response was sent). The deadline ends when the request
  is complete or the connection is upgraded to a websocket, so long-polls and
  websockets are not affected;
- the request line and headers may hold at most ``MAX_HEAD_BYTES``; a larger
  head gets 431 and the connection is closed.

uvicorn takes the protocol class as ``Config(http=...)``; everything else is
its own settings (``timeout_keep_alive``, ``ws_max_size``, ``backlog``...).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from randomchat.config import Settings
from randomchat.wsprotocol import LeanWebSocketProtocol

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
KEEP_ALIVE_SECONDS = 5
BACKLOG = 2048

_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class _HeadTooLarge(Exception):
    pass


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a per-request deadline and a head size cap."""

    request_timeout: float = 10.0
    max_head_bytes: int = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._in_head = True
        self._head_too_large = False

    @classmethod
    def configured(cls, request_timeout: float, max_head_bytes: int) -> type[DeadlineProtocol]:
        """A subclass with these bounds (uvicorn instantiates the class per connection)."""
        attrs = {"request_timeout": request_timeout, "max_head_bytes": max_head_bytes}
        return type("ConfiguredDeadlineProtocol", (cls,), attrs)

    # -- the deadline ----------------------------------------------------------

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.debug("request deadline passed", extra={"in_head": self._in_head})
        if self._in_head:
            self.transport.write(_408)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is a slowloris too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    # -- the head size cap -----------------------------------------------------

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            self._head_too_large = True
            # httptools turns this into HttpParserError; uvicorn then answers
            # through send_400_response, which we turn into a 431.
            raise _HeadTooLarge

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        log.warning("refused request head", extra={"limit": self.max_head_bytes})
        self._disarm()
        self.transport.write(_431)
        self.transport.close()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a drain before a SIGTERM stops it (a rolling deploy).

    The first SIGTERM runs ``drain`` (the app stops taking connections and
    searches, lets fresh calls finish negotiating, closes its sockets) and then
    lets uvicorn shut down as usual; a second signal, or SIGINT, stops at once.
    """

    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self.drain = drain
        self._draining: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._draining is None and self._loop is not None:
            # A signal handler runs between two bytecodes of the loop's thread: hand over.
            self._loop.call_soon_threadsafe(self._start_drain, sig, frame)
            return
        super().handle_exit(sig, frame)

    def _start_drain(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain_then_exit(sig, frame))

    async def _drain_then_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            await self.drain()
        except Exception:
            log.exception("drain failed; stopping anyway")
        finally:
            super().handle_exit(sig, frame)


def uvicorn_config(settings: Settings, asgi: Any) -> uvicorn.Config:
    """The uvicorn config ``randomchat serve`` runs with (also used by the tests)."""
    return uvicorn.Config(
        asgi,
        host=settings.host,
        port=settings.port,
        loop="none",
        http=DeadlineProtocol.configured(settings.request_timeout, MAX_HEAD_BYTES),
        ws=LeanWebSocketProtocol,
        ws_ping_interval=None,  # the Engine.IO heartbeat finds dead peers (wsprotocol.py)
        # Signaling messages are small and mostly unique SDP: compressing them
        # costs more CPU on both ends than it saves on the wire.
        ws_per_message_deflate=False,
        # Larger frames are refused by the socket layer anyway: don't buffer them.
        ws_max_size=settings.max_message_bytes + 1024,
        # Proxy headers are read by randomchat.proxy, from --trusted-proxy peers only.
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=BACKLOG,
        lifespan="on",
        log_config=None,
        # The access line holds the query string, where a client may have put a
        # token; requests are not logged one by one (see logs.py for the rest).
        access_log=False,
        timeout_graceful_shutdown=5,
    )
