"""HTTP long-polling: a GET takes what is queued (or waits for it), a POST brings packets in.

A GET waits for buffered packets (one future, woken by the first packet) and
takes them all; a POST carries packets in, handled inline in order. Limits and
policies are the engine's docstring's: a second GET while one is open, a GET
whose client drops while it waits ("transport error"), a body over
``max_payload`` (413), malformed input (400, "parse error"), the packet budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat.sio.eio import NOOP, PacketError, decode_payload, encode_payload
from randomchat.sio.session import Phase, Session
from randomchat.sio.transports import Polling, Send

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Headers = list[tuple[bytes, bytes]]

UPGRADE_NOOP_DELAY = 0.1
"""Seconds a GET with nothing to carry waits during an upgrade before its noop."""


async def get(session: Session, receive: Receive, send: Send, cors: Headers) -> None:
    poll = session.wire
    assert isinstance(poll, Polling)  # http() sends WebSocket sessions away
    if poll.waiter is not None:  # a second GET while one is open
        await respond(send, 400, error_body("Overlapping poll"), cors)
        await session.close("transport error")
        return
    if session.closed and not session.queued:
        session.forget()
        await respond(send, 400, error_body("Session ID unknown"), cors)
        return
    if not session.queued and not session.closed:
        waiter = asyncio.get_running_loop().create_future()
        poll.waiter = waiter
        # Listen for the client dropping this GET meanwhile: what we would
        # answer it would be lost, so the session ends (as in Node).
        gone = asyncio.ensure_future(_disconnected(receive))
        timeout = UPGRADE_NOOP_DELAY if session.phase is Phase.PROBED else None
        try:
            await asyncio.wait((waiter, gone), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            poll.waiter = None
            gone.cancel()
        if not waiter.done() and gone.done():
            await session.close("transport error")
            return
    if session.on_websocket or not session.queued:
        await respond(send, 200, NOOP.encode(), cors)
        return
    queued = session.take_all()
    if session.closed:
        session.forget()
    await respond(send, 200, encode_payload(queued).encode(), cors)


async def post(session: Session, receive: Receive, send: Send, cors: Headers) -> None:
    poll = session.wire
    assert isinstance(poll, Polling)  # http() sends WebSocket sessions away
    if session.closed or poll.posting:
        await respond(send, 400, error_body("Bad request"), cors)
        await session.close("transport error")
        return
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        event = await receive()
        if event["type"] != "http.request":
            return
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > session.engine.max_payload:
            await respond(send, 413, error_body("Payload too large"), cors)
            await session.close("message too big")
            return
        chunks.append(chunk)
        more = event.get("more_body", False)
    try:
        packets = decode_payload(b"".join(chunks).decode())
    except (PacketError, UnicodeDecodeError):
        await respond(send, 400, error_body("Bad request"), cors)
        await session.close("parse error")
        return
    poll.posting = True
    reason: str | None = None
    try:
        for packet in packets:
            if session.closed:
                break
            if not session.take_token():
                log.warning("packet budget exceeded", extra={"sid": session.sid})
                reason = "rate limit"
                break
            await session.receive(packet)
    except PacketError as exc:
        log.warning("protocol error", extra={"sid": session.sid, "problem": str(exc)})
        reason = "parse error"
    except Exception:
        log.exception("message handling failed", extra={"sid": session.sid})
        reason = "server error"
    finally:
        poll.posting = False
    if reason is not None:
        await respond(send, 400, error_body("Bad request"), cors)
        await session.close(reason)
        return
    await respond(send, 200, b"ok", cors)


PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
]


async def _disconnected(receive: Receive) -> None:
    """Return when the HTTP client goes away (its request body, if any, is discarded)."""
    with contextlib.suppress(Exception):  # a failing receive means the same
        while (await receive())["type"] != "http.disconnect":
            pass


# Without sticky sessions (several workers on one port) the requests of one long-polling
# session would reach different processes: refused up front, with the way out.
POLLING_REFUSED = (
    "Long-polling is off on this server (it runs several workers without sticky sessions): "
    "connect with transports: [websocket]"
)


def error_body(message: str) -> bytes:
    return b'{"message":"' + message.encode() + b'"}'


async def respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: str = "text/plain; charset=UTF-8",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
