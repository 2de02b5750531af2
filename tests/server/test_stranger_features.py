"""Interests, text chat, blocks, reports and bans on a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from randomchat.auth import Identity
from randomchat.errors import Banned
from tests.conftest import RunningServer
from tests.server import harness
from tests.server.harness import NS, Live, Peer, live_server, make_token, match

pytestmark = pytest.mark.process


@pytest.fixture
async def live(request: Any) -> Any:
    async with live_server(**getattr(request, "param", {})) as server:
        yield server


async def ready(live: Live, name: str, **kw: Any) -> Peer:
    return await harness.ready(live.url, name, **kw)


async def test_common_interest_is_paired_ahead_of_an_earlier_user(live: Live) -> None:
    early = await ready(live, "early")
    await early.emit_raw("find-partner")
    await early.expect("waiting-for-partner")
    fan = await ready(live, "fan")
    await fan.emit("find-partner", {"interests": ["Jazz", "chess"]})
    await fan.expect("waiting-for-partner")  # early has no interests: not a match yet
    newcomer = await ready(live, "newcomer")
    await newcomer.emit("find-partner", {"interests": ["jazz"]})
    match = await newcomer.expect("match-found")
    assert match["partnerName"] == "fan" and match["commonInterests"] == ["jazz"]
    assert (await fan.expect("match-found"))["commonInterests"] == ["jazz"]
    await early.quiet(0.1)
    for p in (early, fan, newcomer):
        await p.close()
    await live.assert_empty()


async def test_interest_search_widens_to_anyone_unless_strict() -> None:
    async with live_server(interest_wait_seconds=0.3) as live:
        strict = await ready(live, "strict")
        await strict.emit("find-partner", {"interests": ["chess"], "strict": True})
        await strict.expect("waiting-for-partner")
        fan = await ready(live, "fan")
        await fan.emit("find-partner", {"interests": ["music"]})
        await fan.expect("waiting-for-partner")
        again = await fan.expect("waiting-for-partner")  # widened, nobody accepts anyone yet
        assert again["queuePosition"] == 2
        plain = await ready(live, "plain")
        await plain.emit_raw("find-partner")
        assert (await plain.expect("match-found"))["partnerName"] == "fan"
        assert (await fan.expect("match-found"))["commonInterests"] == []
        await strict.quiet(0.5)  # strict never widens
        for p in (strict, fan, plain):
            await p.close()


async def test_bad_interest_names_the_tag(live: Live) -> None:
    a = await ready(live, "a")
    await a.emit("find-partner", {"interests": ["ok", "x" * 31]})
    assert "interest 'xxxxxxxxx" in (await a.expect("error"))["message"]
    await a.close()


async def test_chat_in_order_oversize_refused_and_typing(live: Live) -> None:
    a = await ready(live, "a")
    b = await ready(live, "b")
    await match(a, b)
    await a.emit("typing", {"active": True})
    assert await b.expect("typing") == {"active": True}
    for n in range(5):
        await a.emit("chat-message", {"text": f"line {n}", "id": f"m{n}"})
    acks = [await a.expect("chat-message-ack") for _ in range(5)]
    assert acks == [{"id": f"m{n}"} for n in range(5)]
    got = [await b.expect("chat-message") for _ in range(5)]
    assert [m["text"] for m in got] == [f"line {n}" for n in range(5)]
    assert all(isinstance(m["sentAt"], int) for m in got)
    await a.emit("chat-message", {"text": "x" * 1001, "id": "big"})
    assert "longer than 1000" in (await a.expect("error"))["message"]
    await b.quiet(0.1)
    await a.close()
    await b.close()


async def test_chat_flood_is_rate_limited_without_dropping_the_connection(live: Live) -> None:
    a = await ready(live, "a")
    b = await ready(live, "b")
    await match(a, b)
    for n in range(30):
        await a.emit("chat-message", {"text": "spam", "id": n})
    events = [await asyncio.wait_for(a.events.get(), 5) for _ in range(30)]
    acks = [e for e, _ in events if e == "chat-message-ack"]
    limited = [d for e, d in events if e == "rate-limited"]
    assert 10 <= len(acks) < 30 and len(acks) + len(limited) == 30
    assert limited[0]["retryAfter"] > 0
    relayed = 0
    while not b.events.empty():
        event, _ = b.events.get_nowait()
        relayed += event == "chat-message"
    await asyncio.sleep(0.1)
    while not b.events.empty():
        event, _ = b.events.get_nowait()
        relayed += event == "chat-message"
    assert relayed == len(acks)
    assert a.client.connected
    await a.emit("heartbeat", {"sentAt": 1})
    await a.expect("heartbeat-ack")
    await a.close()
    await b.close()


async def test_block_ends_call_and_they_are_never_paired_again(live: Live) -> None:
    a = await ready(live, "a")
    b = await ready(live, "b")
    await match(a, b)
    await a.emit_raw("block-partner")
    assert await b.expect("partner-left") == {"reason": "leave"}
    assert await a.expect("block-partner-ack") == {}
    await b.close()
    b2 = await ready(live, "b")  # a new connection of the same user
    await a.emit_raw("find-partner")
    await a.expect("waiting-for-partner")
    await b2.emit_raw("find-partner")
    await b2.expect("waiting-for-partner")
    c = await ready(live, "c")
    await c.emit_raw("find-partner")
    assert (await c.expect("match-found"))["partnerName"] == "a"
    for p in (a, b2, c):
        await p.close()


async def _connect_error(url: str, token: str) -> dict[str, Any]:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url, namespaces=[NS], transports=["websocket"], auth={"token": token}, wait_timeout=5
        )
    await client.disconnect()
    assert len(errors) == 1
    return errors[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("live", [{"trusted_proxies": ("127.0.0.1",)}], indirect=True)
async def test_four_reports_cool_the_user_down_who_is_kicked_and_refused(live: Live) -> None:
    bad = await ready(live, "bad")
    for n in range(4):
        # Four reporters from four /24s (as a trusted proxy reports them): reports from one
        # network count once (tests/server/test_safety.py, core/moderation.py).
        reporter = await Peer(f"reporter{n}").connect(
            live.url, headers={"X-Forwarded-For": f"198.51.{n}.1"}
        )
        await reporter.expect("connection-quality")
        await match(bad, reporter)
        await bad.emit("chat-message", {"text": f"insult {n}", "id": n})
        await reporter.expect("chat-message")
        await bad.expect("chat-message-ack")
        await reporter.emit("report-partner", {"reason": "harassment", "note": "abusive"})
        assert await bad.expect("partner-left") == {"reason": "leave"}
        assert "reportId" in await reporter.expect("report-partner-ack")
        await reporter.close()
    banned = await bad.expect("banned")
    reason = "cool-down: reported by 4 users from 4 networks"
    assert banned["reason"] == reason and banned["until"] > 0
    await asyncio.wait_for(bad.disconnected.wait(), 5)
    error = await _connect_error(live.url, make_token("bad"))
    assert error["message"] == "Banned" and error["data"]["reason"] == reason
    reports = await live.app.db.reports(user_id="u-bad")
    assert len(reports) == 4 and [c.text for c in reports[0].chat] == ["insult 3"]
    await live.assert_empty()


def test_bans_survive_a_restart(server_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "persist"
    first: RunningServer = server_factory(data_dir=data)
    admin = first.token("root", sub="admin-1", role="admin")
    resp = httpx.post(
        first.url + "/api/admin/bans",
        json={"userId": "u-troll", "hours": 2, "reason": "spam"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert resp.status_code == 201, resp.text
    first.process.terminate()
    first.process.wait(10)
    second: RunningServer = server_factory(data_dir=data)

    async def attempt() -> dict[str, Any]:
        return await _connect_error(second.url, second.token("troll", sub="u-troll"))

    error = asyncio.run(attempt())
    assert error["message"] == "Banned" and error["data"]["reason"] == "spam"


async def test_a_ban_from_the_cli_closes_a_live_connection_and_unban_lets_in(
    tmp_path: Path,
) -> None:
    import sys

    async with live_server(data_dir=tmp_path) as live:
        troll = await ready(live, "troll")

        async def cli(*args: str) -> int:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "randomchat",
                *args,
                "--data-dir",
                str(tmp_path),
                "--jwt-secret",
                "s" * 40,
                stdout=asyncio.subprocess.DEVNULL,
            )
            return await proc.wait()

        assert await cli("ban", "u-troll", "--hours", "1", "--reason", "spam") == 0
        banned = await asyncio.wait_for(troll.expect("banned", timeout=10), 10)
        assert banned["reason"] == "spam"
        await asyncio.wait_for(troll.disconnected.wait(), 5)
        assert (await _connect_error(live.url, make_token("troll")))["message"] == "Banned"
        assert await cli("unban", "u-troll") == 0
        for _ in range(50):  # the server rereads bans every two seconds
            await asyncio.sleep(0.1)
            try:
                live.app.lobby.moderation.admit(Identity("u-troll", "troll"))
                break
            except Banned:
                pass
        again = await ready(live, "troll")
        await again.close()
