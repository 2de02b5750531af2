"""The bots: a test-pattern peer for ``randomchat bot``, and the echo bot.

The echo bot waits in the queue and sends each partner their own video and audio
back, match after match, so that one person can test a deployment (camera, TURN,
latency) alone. Its username ends with ``BOT_SUFFIX`` (" (bot)"): the page shows a
bot badge for such partners.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from randomchat.client import BOT_SUFFIX
from randomchat.client.peer import Call, CallReport, Media, Peer
from randomchat.protocol import ClientEvent, SearchAction

log = logging.getLogger("randomchat.client")

ECHO_USERNAME = "Echo" + BOT_SUFFIX
BOT_USERNAME = "Test pattern" + BOT_SUFFIX
# A call that has not connected by then is given up (the partner moves on as well).
CONNECT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class BotCall:
    """One call as a bot prints it: the peer's report and how long the call lasted.

    The peer's own ``CallReport.line`` gives the time to connect ("ended in 73 ms"),
    which reads as the call's length; an operator watching a bot wants both.
    """

    report: CallReport
    seconds: float | None  # from connected to the end of the call; None: never connected

    def line(self) -> str:
        r = self.report
        outcome = r.state if r.failure is None else f"{r.state} ({r.failure})"
        if self.seconds is not None:
            outcome += f"; call lasted {self.seconds:.1f} s (connected in {r.connect_ms} ms)"
        pair = f"{r.local_candidate or '?'} -> {r.remote_candidate or '?'}"
        return (
            f"{r.partner_name} [{r.role}, policy {r.policy}]: {outcome}; "
            f"pair {pair}; received {r.video_frames} video frames, "
            f"{r.audio_frames} audio frames (peak level {r.audio_level:.3f})"
        )


def _finished(call: Call) -> BotCall:
    """``call``'s report, taken as it ends (so its length is up to now)."""
    ended = time.monotonic()
    lasted = None if call.connected_at is None else max(0.0, ended - call.connected_at)
    return BotCall(call.report(), lasted)


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
    on_report: Callable[[BotCall], None] | None = None

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
                await peer.search(
                    ClientEvent.NEXT if call.failure is not None else ClientEvent.FIND_PARTNER
                )
        finally:
            await peer.close()
        return sum(1 for r in self.reports if r.connect_ms is not None)

    async def _serve(self, call: Call) -> None:
        connected = await call.wait_connected(self.connect_timeout)
        if connected:
            await call.done.wait()
        finished = _finished(call)
        self.reports.append(finished.report)
        log.info("echo call: %s", finished.line())
        if self.on_report is not None:
            self.on_report(finished)


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
    on_report: Callable[[BotCall], None] | None = None,
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
        action: SearchAction = ClientEvent.FIND_PARTNER
        while len(reports) < count:
            await peer.search(action)
            call = await _next_or_closed(peer)
            if call is None:
                break
            if await call.wait_connected(connect_timeout):
                await _wait_done(call, seconds)
            finished = _finished(call)
            reports.append(finished.report)
            if on_report is not None:
                on_report(finished)
            action = ClientEvent.FIND_PARTNER if call.end_reason is not None else ClientEvent.NEXT
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
