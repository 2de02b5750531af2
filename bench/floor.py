"""The floor: a bare Socket.IO relay on our stack, with no logic, for `make bench`.

What it is. An ASGI app served exactly as ``randomchat serve`` serves ours
(uvicorn with ``loop="none"`` under a uvloop runner, httptools, the
same WebSocket protocol (``randomchat.wsprotocol``), per-message-deflate off, the
same ``ws_max_size``, the same garbage-collector tuning) that speaks only as
much Engine.IO v4 / Socket.IO v5 text framing over WebSocket as socket.io-client
needs for one call set-up on the namespace ``/random-chat``:

  open packet -> namespace CONNECT ack + ``connection-quality`` ->
  ``find-partner``: ``waiting-for-partner``, or ``match-found`` to both ->
  offer / answer relayed (the frame as received) + ``signal-*-ack`` to the sender ->
  ICE candidates relayed, batched the way ours batches them ->
  ``partner-disconnected`` when a partner's socket goes; Engine.IO ping/pong.

Why it is the floor. Per set-up it sends and receives the same WebSocket frames
as our server (same count, same events, nearly the same bytes), so what it costs
is what the stack itself costs: accepting a TCP connection, the HTTP upgrade,
WebSocket framing in and out, and the event loop. There is nothing to take away:
no token verification (the CONNECT auth is not read), no payload validation, no
rate limits, no ban or block checks, no logging, no metrics, no bounded output
buffers or writer tasks (a frame is written straight into the partner's ASGI
``send``), no recovery, no database. Pairing is one ordered dict (the first
waiting socket pairs with the next ``find-partner``). A Python signaling server
on this stack that does the same exchange cannot spend less CPU per set-up;
ours minus the floor is what our logic costs.

Honest framing, and where it is read. The event name is sliced out of the text
(``42/random-chat,["name"...``); no frame is JSON-decoded on the hot path. An
offer or answer is forwarded as the very text it arrived in (same namespace, same
event, same payload). A candidate's inner object is sliced out of
``{"candidate":...}`` (what socket.io-client and python-socketio write);
only a payload of another shape is decoded with ``json`` to find it. Candidates
from one sender are held until the next turn of the event loop and sent as one
``signal-ice-candidate`` (one) or ``signal-ice-candidates-batch`` (several),
as ours does (src/randomchat/core/batching.py), so the frame count matches, and
flushed before a description from the same sender so order is kept.

Not spoken (the bench does not need it): long-polling, acks with ids, binary
packets, other namespaces (refused with CONNECT_ERROR), ``next``/``leave``.
``match-found`` carries the seed's fields with fixed values (``partnerName``
is ``Stranger``: the token is not read) and no ``callId``/``resume`` (ours
signs a resume ticket: logic).

    .venv/bin/python bench/floor.py --port 3903 [--host 127.0.0.1]

``GET /healthz`` answers 200 ``ok``. Standard library, uvicorn (with the uvloop
it installs, as ours runs on) and our websocket protocol only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from randomchat.wsprotocol import LeanWebSocketProtocol

# As ours: config ping_interval / ping_timeout (seconds), max_message_bytes.
PING_INTERVAL = 25.0
PING_TIMEOUT = 60.0
MAX_PAYLOAD = 1_000_000
GC_THRESHOLD = 20_000  # randomchat.cli.tune_gc

NS = "/random-chat"
EVENT = "42" + NS + ","
OPEN = '0{"sid":"%s","upgrades":[],"pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}'
CONNECT_ACK = "40" + NS + ',{"sid":"%s"}'
QUALITY = EVENT + '["connection-quality",{"quality":"excellent"}]'
WAITING = EVENT + '["waiting-for-partner",{"queuePosition":%d,"timestamp":%d}]'
MATCH = (
    EVENT + '["match-found",{"role":"%s","partnerName":"Stranger","timestamp":%d,'
    '"iceServers":[],"commonInterests":[],"iceTransportPolicy":"all","mode":"video"}]'
)
OFFER_ACK = EVENT + '["signal-offer-ack"]'
ANSWER_ACK = EVENT + '["signal-answer-ack"]'
ONE_CANDIDATE = EVENT + '["signal-ice-candidate",{"candidate":%s}]'
BATCH = EVENT + '["signal-ice-candidates-batch",{"candidates":[%s]}]'
GONE = EVENT + '["partner-disconnected",{}]'
CANDIDATE_PREFIX = '{"candidate":'

Send = Callable[[dict[str, Any]], Any]


class Session:
    __slots__ = ("_send", "closed", "partner", "pending", "timer")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.partner: Session | None = None
        self.pending: list[str] | None = None  # candidate texts held until the next loop turn
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False

    async def send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception:  # the peer went away between two frames: nothing to do
            self.closed = True

    async def send_close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": 1000})


class Floor:
    def __init__(self) -> None:
        self.waiting: dict[Session, None] = {}  # ordered: the oldest waiter pairs first
        self.tasks: set[asyncio.Task[None]] = set()

    # -- ASGI ------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self.websocket(receive, send)
        elif scope["type"] == "http":
            ok = scope["path"] == "/healthz"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200 if ok else 404,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok" if ok else b"not found"})

    async def websocket(self, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        s = Session(send)
        loop = asyncio.get_running_loop()
        sid = secrets.token_urlsafe(15)
        await s.send(OPEN % (sid, PING_INTERVAL * 1000, PING_TIMEOUT * 1000, MAX_PAYLOAD))
        s.timer = loop.call_later(PING_INTERVAL, self.ping, s)
        try:
            while True:
                message = await receive()
                text = message.get("text")
                if text is None:
                    if message["type"] == "websocket.disconnect":
                        break
                    continue  # binary: not spoken
                if text.startswith(EVENT):
                    await self.event(s, text)
                elif text == "3":  # pong
                    if s.timer is not None:
                        s.timer.cancel()
                    s.timer = loop.call_later(PING_INTERVAL, self.ping, s)
                elif text.startswith("40"):
                    if text.startswith("40" + NS):
                        await s.send(CONNECT_ACK % secrets.token_urlsafe(15))
                        await s.send(QUALITY)
                    else:
                        await s.send('44{"message":"Invalid namespace"}')
                elif text.startswith("41" + NS) or text == "1":
                    self.leave(s)
        finally:
            self.leave(s)
            s.closed = True
            if s.timer is not None:
                s.timer.cancel()

    # -- Socket.IO events ------------------------------------------------------
    async def event(self, s: Session, text: str) -> None:
        start = len(EVENT) + 2  # past '["'
        end = text.find('"', start)
        if text[start - 2 : start] != '["' or end < 0:
            return  # an ack id or a non-event: not spoken
        name = text[start:end]
        if name == "signal-ice-candidate":
            self.candidate(s, text[end + 2 : -1])
        elif name == "signal-offer" or name == "signal-answer":
            partner = s.partner
            if partner is None:
                return
            if s.pending:
                await partner.send(self.take(s))
            await partner.send(text)
            await s.send(OFFER_ACK if name == "signal-offer" else ANSWER_ACK)
        elif name == "find-partner":
            await self.find(s)

    async def find(self, s: Session) -> None:
        if s.partner is not None or s in self.waiting:
            return
        now = int(time.time() * 1000)
        if not self.waiting:
            self.waiting[s] = None
            await s.send(WAITING % (len(self.waiting), now))
            return
        other = next(iter(self.waiting))
        del self.waiting[other]
        s.partner, other.partner = other, s
        await s.send(MATCH % ("initiator", now))  # the searcher creates the offer, as ours
        await other.send(MATCH % ("receiver", now))

    def candidate(self, s: Session, payload: str) -> None:
        if s.partner is None:
            return
        if payload.startswith(CANDIDATE_PREFIX) and payload.endswith("}"):
            inner = payload[len(CANDIDATE_PREFIX) : -1]
        else:  # another writer's spacing: decode only to find the object
            inner = json.dumps(json.loads(payload).get("candidate"), separators=(",", ":"))
        if s.pending is None:
            s.pending = [inner]
            asyncio.get_running_loop().call_soon(self.start_flush, s)
        else:
            s.pending.append(inner)

    def take(self, s: Session) -> str:
        pending = s.pending or []
        s.pending = None
        if len(pending) == 1:
            return ONE_CANDIDATE % pending[0]
        return BATCH % ",".join(pending)

    def start_flush(self, s: Session) -> None:
        # As ours (gateway.apply, FlushLater): a loop callback starts a task, and the task
        # takes what is pending when it runs, so candidates that arrived meanwhile join the
        # batch, and a description handled before it has already sent them (order kept).
        self.spawn(self.flush(s))

    async def flush(self, s: Session) -> None:
        if not s.pending:
            return  # sent before a description, or dropped when the call ended
        partner = s.partner
        if partner is None:
            s.pending = None
            return
        await partner.send(self.take(s))

    def leave(self, s: Session) -> None:
        self.waiting.pop(s, None)
        s.pending = None
        partner = s.partner
        if partner is not None:
            s.partner = partner.partner = None
            self.spawn(partner.send(GONE))

    # -- Engine.IO heartbeat, as ours: a ping after the interval, then a pong due within the timeout
    def ping(self, s: Session) -> None:
        if s.closed:
            return
        self.spawn(s.send("2"))
        s.timer = asyncio.get_running_loop().call_later(PING_TIMEOUT, self.expire, s)

    def expire(self, s: Session) -> None:
        self.leave(s)
        self.spawn(s.send_close())

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def config(host: str, port: int) -> uvicorn.Config:
    """randomchat.httpserver.uvicorn_config's settings, minus what needs our app."""
    return uvicorn.Config(
        Floor(),
        host=host,
        port=port,
        loop="none",
        http="httptools",  # ours: a subclass adding a per-request deadline timer
        # ours' websocket protocol (uvicorn's websockets-sansio, made leaner: wsprotocol.py)
        ws=LeanWebSocketProtocol,
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        ws_max_size=MAX_PAYLOAD + 1024,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        backlog=2048,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def main() -> None:
    p = argparse.ArgumentParser(description="bare Socket.IO relay on our stack (the bench floor)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    a = p.parse_args()
    server = uvicorn.Server(config(a.host, a.port))
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # uvicorn without its standard extra: the default loop
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(server.serve())


if __name__ == "__main__":
    main()
