"""Issue 24: report and block the last partner after the call, however it ended.

A real server in the test's event loop with a hand-moved monotonic clock (the lobby's
time), so a call's five minutes pass without sleeping; real Socket.IO clients.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from randomchat.core.recentcalls import KEEP, RECENT_SECONDS
from tests.server.harness import Live, Peer, live_server, match, ready

pytestmark = pytest.mark.server


class HandClock:
    """The lobby's clock: monotonic time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000


def hand_server(clock: HandClock) -> contextlib.AbstractAsyncContextManager[Live]:
    return live_server(clock)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def live(clock: HandClock) -> AsyncIterator[Live]:
    async with hand_server(clock) as server:
        yield server


async def chat(sender: Peer, receiver: Peer, text: str) -> None:
    await sender.emit("chat-message", {"text": text, "id": text})
    await receiver.expect("chat-message")
    await sender.expect("chat-message-ack")


async def end_call(how: str, a: Peer, b: Peer, live: Live) -> Peer:
    """End a's call with b the way ``how`` says; return b (a new connection if b left)."""
    if how == "partner-skipped":
        await b.emit_raw("next")
        assert (await a.expect("partner-left"))["reason"] == "next"
        await b.expect("waiting-for-partner")
    elif how == "i-skipped":
        await a.emit_raw("next")
        await b.expect("partner-left")
        await a.expect("waiting-for-partner")
    elif how == "partner-disconnected":
        await b.close()
        await a.expect("partner-disconnected")
    elif how == "failed":  # the page's report of a call whose ICE never connected, then leave
        await a.emit("call-stats", {"outcome": "failed"})
        await a.emit_raw("leave")
        await b.expect("partner-left")
    else:  # "i-stopped"
        await a.emit_raw("leave")
        assert (await b.expect("partner-left"))["reason"] == "leave"
    return b


WAYS = ["partner-skipped", "i-skipped", "partner-disconnected", "failed", "i-stopped"]


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("named", [True, False], ids=["by-call-id", "bare"])
async def test_the_last_partner_is_reported_after_the_call_however_it_ended(
    live: Live, clock: HandClock, how: str, named: bool
) -> None:
    a, b = await ready(live.url, "a"), await ready(live.url, "b")
    _, found = await match(b, a)
    await chat(b, a, "hello")
    await chat(a, b, "please stop")
    await end_call(how, a, b, live)
    clock.now += RECENT_SECONDS - 1  # found the button late, within the window
    report: dict[str, Any] = {"reason": "nudity", "note": "after the call"}
    if named:
        report["callId"] = found["callId"]
    await a.emit("report-partner", report)
    ack = await a.expect("report-partner-ack")
    [stored] = await live.app.db.reports()
    assert stored.id == ack["reportId"]
    assert (stored.reporter, stored.reported, stored.reason) == ("u-a", "u-b", "nudity")
    assert [line.text for line in stored.chat] == ["hello", "please stop"]
    # A report blocks: a and b (back as a new connection if it left) never meet again.
    if how == "partner-disconnected":
        b = await ready(live.url, "b")
    if how != "partner-skipped":  # else still waiting from its next
        await b.emit_raw("find-partner")
        await b.expect("waiting-for-partner")
    if how != "i-skipped":
        await a.emit_raw("find-partner")
        await a.expect("waiting-for-partner")
    await a.quiet(0.2)
    await b.quiet(0.1)
    # A second report of the same call is refused, and stores nothing.
    await a.emit("report-partner", report)
    assert (await a.expect("error"))["code"] == "refused"
    assert len(await live.app.db.reports()) == 1
    for p in (a, b):
        await p.close()


async def test_a_call_is_reportable_for_five_minutes_after_it_ended_not_after(
    live: Live, clock: HandClock
) -> None:
    a, b = await ready(live.url, "a"), await ready(live.url, "b")
    _, found = await match(b, a)
    clock.now += RECENT_SECONDS * 3  # a long call: its window starts at its end
    await b.emit_raw("leave")
    await a.expect("partner-left")
    clock.now += RECENT_SECONDS + 0.5
    for payload in ({"reason": "spam", "callId": found["callId"]}, {"reason": "spam"}):
        await a.emit("report-partner", payload)
        assert (await a.expect("error"))["code"] == "refused"
    await a.emit("block-partner", {"callId": found["callId"]})
    assert (await a.expect("error"))["code"] == "refused"
    assert await live.app.db.reports() == []
    # Not blocked either: with nobody else online the two meet again.
    await b.emit_raw("find-partner")
    await b.expect("waiting-for-partner")
    await a.emit_raw("find-partner")
    assert (await a.expect("match-found"))["partnerName"] == "b"
    for p in (a, b):
        await p.close()


async def test_the_call_named_is_reported_not_the_one_on_now(live: Live) -> None:
    """The reporter was matched again before pressing Report: the earlier call is meant."""
    a, b, c = [await ready(live.url, name) for name in "abc"]
    _, with_b = await match(b, a)
    await chat(b, a, "from b")
    await b.emit_raw("leave")
    await a.expect("partner-left")
    _, with_c = await match(c, a)
    await chat(c, a, "from c")
    await a.emit("report-partner", {"reason": "harassment", "callId": with_b["callId"]})
    await a.expect("report-partner-ack")
    [stored] = await live.app.db.reports()
    assert stored.reported == "u-b" and [line.text for line in stored.chat] == ["from b"]
    await c.quiet(0.2)  # the call with c goes on: c is told nothing
    await chat(a, c, "still here")
    # Blocking the current call by its id ends it, as a bare block would.
    await a.emit("block-partner", {"callId": with_c["callId"]})
    await c.expect("partner-left")
    await a.expect("block-partner-ack")
    assert with_b["callId"] != with_c["callId"]
    for p in (a, b, c):
        await p.close()


async def test_a_call_id_that_is_not_yours_names_nothing(live: Live) -> None:
    a, b, c = [await ready(live.url, name) for name in "abc"]
    _, found = await match(b, a)
    await b.emit_raw("next")
    await a.expect("partner-left")
    await b.expect("waiting-for-partner")
    # c, who never had that call (nor any), names it: refused, stored nothing, blocked no one.
    await c.emit("report-partner", {"reason": "spam", "callId": found["callId"]})
    assert (await c.expect("error"))["code"] == "refused"
    await c.emit("block-partner", {"callId": found["callId"]})
    assert (await c.expect("error"))["code"] == "refused"
    await a.emit("report-partner", {"reason": "spam", "callId": "no-such-call"})
    assert (await a.expect("error"))["code"] == "refused"
    for bad in ({"callId": 7}, {"callId": ""}, {"callId": "x" * 65}):
        await a.emit("block-partner", bad)
        assert (await a.expect("error"))["code"] == "invalid_payload"
    assert await live.app.db.reports() == []
    await c.emit_raw("find-partner")
    assert (await c.expect("match-found"))["partnerName"] == "b"  # c may meet b
    for p in (a, b, c):
        await p.close()


async def test_a_block_after_a_skip_keeps_the_two_apart(live: Live) -> None:
    a, b = await ready(live.url, "a"), await ready(live.url, "b")
    _, found = await match(b, a)
    await b.emit_raw("next")
    await a.expect("partner-left")
    await b.expect("waiting-for-partner")
    await a.emit("block-partner", {"callId": found["callId"]})
    await a.expect("block-partner-ack")
    await b.quiet(0.1)  # b, waiting, is not disturbed
    await a.emit_raw("find-partner")
    await a.expect("waiting-for-partner")
    await a.quiet(0.2)
    await b.quiet(0.1)
    for p in (a, b):
        await p.close()


async def test_only_the_last_few_calls_are_kept_and_none_after_a_disconnect(live: Live) -> None:
    a = await ready(live.url, "a")
    found: list[Any] = []
    partners = []
    for i in range(KEEP + 1):
        p = await ready(live.url, f"p{i}")
        partners.append(p)
        found.append((await match(p, a))[1])
        await p.emit_raw("leave")
        await a.expect("partner-left")
    calls = live.app.lobby.ctx.calls
    await a.emit("block-partner", {"callId": found[0]["callId"]})  # the oldest: gone
    assert (await a.expect("error"))["code"] == "refused"
    await a.emit("block-partner", {"callId": found[1]["callId"]})
    await a.expect("block-partner-ack")
    assert len(calls) == KEEP + 2  # a and each partner: one socket's calls each
    await a.close()
    for p in partners:
        await p.close()
    await live.assert_empty()
    assert len(calls) == 0
