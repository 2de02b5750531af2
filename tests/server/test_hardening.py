"""Issue 8 regressions at the gateway: hostile packets against the real app on a real port.

The socket layer's own hostile cases are in tests/sio/test_hostile.py; these check
what reaches the lobby: no client packet runs a lifecycle handler, and nothing is
left behind when the sender is closed for it.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from randomchat.store import Counts
from tests.rawclient import Closed, WsClient
from tests.server.harness import NS, Live, live_server, make_token, match, ready

pytestmark = pytest.mark.server


async def until_closed(client: WsClient) -> int | None:
    with pytest.raises(Closed) as closed:
        while True:
            await client.recv(timeout=5)
    return closed.value.code


async def settled(live: Live, counts: Counts) -> None:
    for _ in range(100):
        if await live.app.store.counts() == counts:
            return
        await asyncio.sleep(0.05)
    assert await live.app.store.counts() == counts


@pytest.mark.parametrize(
    "reserved",
    [
        ["disconnect"],
        ["connect", {}, {"token": "ANOTHER"}],
        ["connect_error", {"message": "x"}],
        ["disconnecting"],
    ],
)
async def test_a_reserved_event_closes_its_sender_and_runs_no_lifecycle_handler(
    reserved: list[object],
) -> None:
    """A fake ``disconnect`` or ``connect`` (issue 8, item 1) closes only its sender."""
    async with live_server() as live, aiohttp.ClientSession() as http:
        honest = await ready(live.url, "Honest")
        liar = await WsClient.open(http, live.url)
        assert (await liar.connect(make_token("Liar", "u-liar"))).type == 0
        await liar.expect("connection-quality")
        await liar.emit("find-partner")
        await liar.expect("waiting-for-partner")
        await honest.emit_raw("find-partner")
        await honest.expect("match-found")
        other = make_token("Victim", "u-victim")
        args = [other if item == "ANOTHER" else item for item in reserved]
        args = [{"token": other} if item == {"token": "ANOTHER"} else item for item in args]
        await liar.emit(*args)  # type: ignore[arg-type]
        await until_closed(liar)
        # The call ends because the liar's connection really closed, once, and nothing
        # of it is left: no second identity, no stuck gauge, no half-removed socket.
        assert await honest.expect("partner-disconnected") == {}
        await honest.quiet(0.3)
        await settled(live, Counts(1, 0, 0))
        sizes = live.app.lobby.local_sizes()
        assert (sizes["connections"], sizes["users"]) == (1, 1)
        await honest.close()
        await settled(live, Counts(0, 0, 0))


async def test_connection_caps_are_refused_with_a_reason() -> None:
    async with live_server(max_sockets_per_user=2) as live, aiohttp.ClientSession() as http:
        first = await ready(live.url, "Same", sub="u-same")
        second = await ready(live.url, "Same", sub="u-same")
        extra = await WsClient.open(http, live.url)
        refusal = await extra.connect(make_token("Same", "u-same"))
        assert refusal.type == 4  # CONNECT_ERROR
        assert refusal.data == {"message": "Too many connections: at most 2 connections per user"}
        await extra.close()
        await first.close()
        third = await ready(live.url, "Same", sub="u-same")
        found_a, found_b = await match(second, await ready(live.url, "Other"))
        assert found_a["role"] == "initiator" and found_b["role"] == "receiver"
        await second.close()
        await third.close()


async def test_a_flood_of_invalid_events_is_counted_but_writes_few_log_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 22, item c: every bad event is counted; the log gets a sample, not one line each."""
    caplog.set_level(logging.INFO, logger="randomchat.gateway")
    flood = 150  # of each kind; the packet budget is off so that all of them arrive

    def lines(sid: str) -> list[logging.LogRecord]:
        bad = ("invalid payload", "unknown event", "refused")
        return [r for r in caplog.records if r.getMessage() in bad and r.__dict__["sid"] == sid]

    async with live_server(events_per_second=0) as live:

        def count(name: str, **labels: str) -> float | None:
            return live.app.metrics.registry.get_sample_value(name, labels)

        hostile = await ready(live.url, "Hostile")
        hostile_sid = hostile.client.get_sid(NS)
        for _ in range(flood):
            await hostile.emit("signal-offer", {"offer": "not an object"})
            await hostile.emit("no-such-event", {})
            await hostile.emit("call-stats", {"outcome": "failed"})  # refused: no call
        errors = 0
        while errors < 3 * flood:
            event, _ = await asyncio.wait_for(hostile.events.get(), 5)
            errors += event == "error"
        assert count("randomchat_invalid_payloads_total", event="signal-offer") == flood
        assert count("randomchat_invalid_payloads_total", event="unknown") == flood
        assert count("randomchat_refused_requests_total", event="call-stats") == flood
        assert len(lines(hostile_sid)) == 5  # LogSampler's first lines of a connection
        assert count("randomchat_log_lines_skipped_total") == 3 * flood - 5
        # Another connection's first mistake is still written, with what was wrong.
        other = await ready(live.url, "Other")
        await other.emit("signal-offer", {})
        assert (await other.expect("error"))["code"] == "invalid_payload"
        [line] = lines(other.client.get_sid(NS))
        assert line.__dict__["problem"] == "'offer' must be an object with 'type' and 'sdp'"
        await hostile.close()
        await other.close()
        await live.assert_empty()
