"""The bots: a test-pattern peer for ``randomchat bot``, and the echo bot.

The echo bot waits in the queue and sends each partner their own video and audio
back, match after match, so that one person can test a deployment (camera, TURN,
latency) alone. Its username ends with ``BOT_SUFFIX`` (" (bot)"): the page shows a
bot badge for such partners.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from randomchat.client import BOT_SUFFIX
from randomchat.client.peer import Call, CallReport, Media, Peer

log = logging.getLogger("randomchat.client")

ECHO_USERNAME = "Echo" + BOT_SUFFIX
BOT_USERNAME = "Test pattern" + BOT_SUFFIX
# A call that has not connected by then is given up (the partner moves on as well).
CONNECT_TIMEOUT = 30.0


@dataclass
class EchoBot:
    """Answers calls one after another with the partner's own media; ``count`` calls, or forever."""

    url: str
    username: str = ECHO_USERNAME
    token: str | None = None
    interests: tuple[str, ...] = ()
    strict: bool = False
    privacy: bool = False
    count: int | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    on_report: Callable[[CallReport], None] | None = None

    reports: list[CallReport] = field(default_factory=list, init=False)
    ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    peer: Peer | None = field(default=None, init=False)

    async def run(self) -> int:
        """Take calls until ``count`` are done (or forever); returns how many connected."""
        peer = Peer(
            self.url,
            username=self.username,
            token=self.token,
            media=Media("echo"),
            interests=self.interests,
            strict=self.strict,
            privacy=self.privacy,
        )
        self.peer = peer
        await peer.connect()
        try:
            await peer.search()
            self.ready.set()
            while self.count is None or len(self.reports) < self.count:
                call = await _next_or_closed(peer)
                if call is None:
                    break
                await self._serve(call)
                if peer.closed.is_set():
                    break
                # After a failure the partner may still be there: "next" ends that call too.
                await peer.search("next" if call.failure is not None else "find-partner")
        finally:
            await peer.close()
        return sum(1 for r in self.reports if r.connect_ms is not None)

    async def _serve(self, call: Call) -> None:
        connected = await call.wait_connected(self.connect_timeout)
        if connected:
            await call.done.wait()
        report = call.report()
        self.reports.append(report)
        log.info("echo call: %s", report.line())
        if self.on_report is not None:
            self.on_report(report)


async def _next_or_closed(peer: Peer) -> Call | None:
    """The next call, or ``None`` once the socket closed first."""
    call_task = asyncio.ensure_future(peer.next_call())
    closed_task = asyncio.ensure_future(peer.closed.wait())
    done, _ = await asyncio.wait({call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in (call_task, closed_task):
        if task not in done:
            task.cancel()
    return call_task.result() if call_task in done else None


async def run_bot(
    url: str,
    *,
    username: str = BOT_USERNAME,
    media: Media | None = None,
    interests: tuple[str, ...] = (),
    strict: bool = False,
    privacy: bool = False,
    count: int = 1,
    seconds: float = 10.0,
    connect_timeout: float = CONNECT_TIMEOUT,
    on_report: Callable[[CallReport], None] | None = None,
) -> list[CallReport]:
    """Join, take ``count`` calls of ``seconds`` each (or until the partner leaves), report each."""
    peer = Peer(
        url,
        username=username,
        media=media or Media(),
        interests=interests,
        strict=strict,
        privacy=privacy,
    )
    reports: list[CallReport] = []
    await peer.connect()
    try:
        action: str = "find-partner"
        while len(reports) < count:
            await peer.search("next" if action == "next" else "find-partner")
            call = await _next_or_closed(peer)
            if call is None:
                break
            if await call.wait_connected(connect_timeout):
                await _wait_done(call, seconds)
            report = call.report()
            reports.append(report)
            if on_report is not None:
                on_report(report)
            action = "find-partner" if call.end_reason is not None else "next"
        if peer.call is not None and not peer.call.done.is_set():
            await peer.leave()
    finally:
        await peer.close()
    return reports


async def _wait_done(call: Call, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await call.done.wait()
    except TimeoutError:
        pass
