"""uvicorn's websockets-sansio protocol, lighter per connection and per message.

Measured with tracemalloc at 2,000 idle connections (docs/performance.md), uvicorn's
protocol object held about half of each connection's 26 KB: an ``asyncio.Queue`` for
inbound messages (four deques, about 3 KB) for what is at most a few messages, the
handshake's request and response with their headers (about 2.5 KB) kept for the
connection's life, and a keepalive ping timer. Per inbound message it also paused the
socket's reading and resumed it on the next ``receive`` (two changes to the event
loop's selector per message), so that at most one message waits.

``LeanWebSocketProtocol`` changes only those:

- ``Inbox`` stands in for the queue: a list and one waiter. Reading pauses once
  ``INBOX_PAUSE`` messages or ``INBOX_PAUSE_BYTES`` wait (uvicorn paused after every
  message), and resumes once the reader has taken them all; so a client that sends
  faster than its messages are handled is still held back by TCP, as before, without
  a selector change per message.
- ``Writable`` stands in for the ``asyncio.Event`` that holds ``send`` back while the
  socket is above its high-water mark: one shared future while it waits, no deque;
- the request and response are dropped once the handshake is sent, and so is the
  handshake's parser, whose suspended frame held the request (about 1.9 KB) for the
  connection's life: a frame parser of its own takes over;
- no websocket-level keepalive pings (``ws_ping_interval=None`` in the config): the
  Engine.IO heartbeat already closes a connection whose peer stopped answering.

Everything else (framing, close handshake, limits) is uvicorn's and websockets'.
The tests run every websocket client through this class.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol

# Received but not yet taken by the app: past either bound the socket's reading pauses.
INBOX_PAUSE = 8  # messages
INBOX_PAUSE_BYTES = 64 * 1024  # characters of text plus bytes of binary


class Inbox(asyncio.Queue[Any]):
    """The part of ``asyncio.Queue`` uvicorn's protocol uses: ``put_nowait``, ``get``, ``empty``.

    ``tests/test_wsprotocol.py`` checks that uvicorn's protocol uses no other part.
    """

    def __init__(self, protocol: LeanWebSocketProtocol) -> None:  # no super(): no deques
        self._items: list[Any] = []
        self._head = 0
        self._bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._protocol = protocol
        self._paused = False

    def __repr__(self) -> str:
        return f"<Inbox {self.qsize()} waiting, {self._bytes} bytes, paused={self._paused}>"

    def qsize(self) -> int:
        return len(self._items) - self._head

    def empty(self) -> bool:
        return self._head == len(self._items)

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._bytes += len(item.get("text") or item.get("bytes") or b"")
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self._paused and (self.qsize() >= INBOX_PAUSE or self._bytes >= INBOX_PAUSE_BYTES):
            transport = self._protocol.transport
            if not transport.is_closing():
                self._paused = True
                transport.pause_reading()

    async def get(self) -> Any:
        while self.empty():
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items[self._head]
        self._items[self._head] = None  # handled: not kept until the inbox empties
        self._head += 1
        if self._head == len(self._items):
            self._items.clear()
            self._head = 0
            self._bytes = 0
            if self._paused:
                self._paused = False
                self._protocol.transport.resume_reading()
        return item


class Writable(asyncio.Event):
    """``asyncio.Event`` without its deque: waiters (in practice the app's one writer)
    share one future, made only while the socket is above its high-water mark."""

    def __init__(self) -> None:  # no super(): no deque of waiters
        self._value = True
        self._waiter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<Writable {'set' if self._value else 'unset'}>"

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> Literal[True]:
        while not self._value:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            # shielded: one waiter cancelled does not cancel the others
            await asyncio.shield(self._waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox(self)
        self.writable = Writable()

    # uvicorn pauses reading after every message unless it believes reading is paused
    # already: the inbox decides instead (see the module's docstring).
    @property
    def read_paused(self) -> bool:
        return True

    @read_paused.setter
    def read_paused(self, _value: bool) -> None:
        pass

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Only the handshake reads them; about 2.5 KB a connection otherwise.
            del self.request, self.response
            self._forget_handshake_parser()

    def _forget_handshake_parser(self) -> None:
        """Swap the handshake's parser (suspended in the frame parser it delegates to,
        still holding the request) for a frame parser of its own.

        Only while that frame parser waits for the first byte of a frame (``at_eof``):
        then it has consumed nothing, and the new one starts exactly where it stood. A
        client that sent part of a frame before it saw the response keeps the first one.
        """
        conn = self.conn
        if not handshake_parser_between_frames(conn):
            return
        conn.parser = Protocol.parse(conn)
        next(conn.parser)  # to its first wait for bytes, as the one it replaces


def handshake_parser_between_frames(conn: Protocol) -> bool:
    """Whether the handshake's parser, past the handshake, waits in the frame parser it
    delegates to (``Protocol.parse``) for the first byte of a frame (``at_eof``)."""
    frames = getattr(conn.parser, "gi_yieldfrom", None)
    return getattr(getattr(frames, "gi_yieldfrom", None), "__name__", None) == "at_eof"
