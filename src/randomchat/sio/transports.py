"""A session's two transports as objects, and the WebSocket task that may be interrupted.

``Polling``: the GET that is open (one future, woken by the first packet queued)
and the guard against two POSTs at once. ``WebSocket``: the ASGI ``send``, the
one writer task that drains the session's buffer into it, whether a close frame
ends it, and whether the peer was found gone (``broken``: its writer failed).
``Reader``: the ASGI task of a WebSocket, the session's reader or the prober of
an upgrade, which may be interrupted while it waits for its client (``parked``)
and never while it runs a handler.

They hold their transport's flags; which transport a session is on, and every
change of its phase, is ``session``'s (its ``MOVES`` table).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Polling:
    __slots__ = ("posting", "waiter")

    name = "polling"

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None  # the open GET
        self.posting = False  # a POST is being handled: a second one is refused

    def wake(self) -> None:
        """Answer the open GET, if any."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class WebSocket:
    __slots__ = ("broken", "close_frame", "send", "waiter", "writer")

    name = "websocket"

    def __init__(self, send: Send) -> None:
        self.send = send
        self.writer: asyncio.Task[None] | None = None
        self.waiter: asyncio.Future[None] | None = None  # the writer, waiting for packets
        self.close_frame = False  # the writer ends with a close frame (a deliberate close)
        self.broken = False  # the writer failed: the peer is gone

    def wake(self) -> None:
        """Wake the writer, if it waits."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.cancel()

    async def done(self) -> None:
        """Return once the writer has finished."""
        if self.writer is not None:
            await asyncio.wait([self.writer])


Transport = Polling | WebSocket


class Reader:
    """A WebSocket's ASGI task: interruptible (``kick``) only while it waits for its client."""

    __slots__ = ("kicked", "parked", "task")

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.parked = False  # waiting for its client, not in a handler
        self.kicked = False

    def kick(self) -> None:
        if self.task is not None and self.parked and not self.kicked:
            self.kicked = True
            self.task.cancel()

    def kicked_out(self) -> bool:
        """In ``except CancelledError``: whether it was ``kick`` (and only it)."""
        if not self.kicked:
            return False
        self.kicked = False
        task = asyncio.current_task()
        return task is not None and task.uncancel() == 0
