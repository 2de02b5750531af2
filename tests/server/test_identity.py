"""Issue 22: exclusions follow the person, not the guest session.

A reported user who presses "Change" (a new guest session from the same browser, which
sends its device key) or opens a private window on the same network (no device key)
must not meet the person who reported or blocked them again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import socketio

from randomchat.config import Settings
from randomchat.devices import DeviceKeys, keys_for
from randomchat.guests import RulesDocument
from tests.conftest import SECRET
from tests.server.harness import NS, Live, Peer, live_server, make_token

pytestmark = pytest.mark.server

RULES = RulesDocument.load(Settings()).version


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def join(live: Live, address: str, name: str, device: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": name, "rulesVersion": RULES}
    if device is not None:
        body["device"] = device
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/session", json=body, headers=at(address))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def peer(live: Live, session: dict[str, Any], address: str) -> Peer:
    p = await Peer(session["username"]).connect(
        live.url, token=session["token"], headers=at(address)
    )
    await p.expect("connection-quality")
    return p


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    async with live_server(trusted_proxies=("127.0.0.1",), find_rate_limit_ms=0) as server:
        yield server


async def test_a_browser_keeps_its_guest_across_change_and_a_forged_key_gets_a_new_one(
    live: Live,
) -> None:
    first = await join(live, "198.51.100.7", "Ann")
    assert first["device"] and first["userId"].startswith("d")
    again = await join(live, "198.51.100.7", "Anna", device=first["device"])
    assert again["userId"] == first["userId"] and again["device"] == first["device"]
    # Another secret's key, a tampered key and garbage: each gets a device of its own.
    foreign = DeviceKeys(b"k" * 32).issue(0)[1]
    tampered = first["device"][:-2] + ("AA" if not first["device"].endswith("AA") else "BB")
    for bad in (foreign, tampered, "x" * 40):
        other = await join(live, "198.51.100.7", "Eve", device=bad)
        assert other["userId"] != first["userId"]


def test_device_keys_refuse_a_future_date_and_keep_their_id() -> None:
    keys = keys_for(SECRET)
    device, key = keys.issue(1000.0)
    assert keys.check(key, 1000.0) == device
    assert keys.check(key, 10**9) == device  # long-lived: no expiry
    _, later = keys.issue(10_000.0)
    assert keys.check(later, 1000.0) is None


@pytest.mark.parametrize("how", ["report", "block"])
@pytest.mark.parametrize("comeback", ["change", "private-window"])
async def test_a_reported_guest_does_not_come_back_under_a_new_guest(
    live: Live, how: str, comeback: str
) -> None:
    bad_at, reporter_at = "203.0.113.5", "198.51.100.20"
    bad_session = await join(live, bad_at, "Bad")
    bad = await peer(live, bad_session, bad_at)
    reporter = await peer(live, await join(live, reporter_at, "Rita"), reporter_at)
    await bad.emit_raw("find-partner")
    await bad.expect("waiting-for-partner")
    await reporter.emit_raw("find-partner")
    await reporter.expect("match-found")
    await bad.expect("match-found")
    if how == "report":
        await reporter.emit("report-partner", {"reason": "nudity"})
        await reporter.expect("report-partner-ack")
    else:
        await reporter.emit_raw("block-partner")
        await reporter.expect("block-partner-ack")
    await bad.close()
    # "Change" sends the device key; a private window has none, but the same network.
    device = bad_session["device"] if comeback == "change" else None
    back = await peer(live, await join(live, bad_at, "Nice", device=device), bad_at)
    await reporter.emit_raw("find-partner")
    await reporter.expect("waiting-for-partner")
    await back.emit_raw("find-partner")
    await back.expect("waiting-for-partner")
    # Someone else from another network still meets either of them.
    other_at = "192.0.2.77"
    other = await peer(live, await join(live, other_at, "Otto"), other_at)
    await other.emit_raw("find-partner")
    found = await other.expect("match-found")
    assert found["partnerName"] in ("Rita", "Nice")
    for p in (reporter, back, other):
        await p.close()


async def test_a_token_minted_under_older_rules_is_asked_to_accept_the_new_ones(
    live: Live,
) -> None:
    errors: list[Any] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("connect_error", errors.append, namespace=NS)
    old = make_token("Old", sub="d-old", guest=True, rules="an-older-version")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            live.url, namespaces=[NS], transports=["websocket"], auth={"token": old},
            wait_timeout=5,
        )  # fmt: skip
    await client.disconnect()
    assert errors == [
        {"message": "Rules changed", "data": {"code": "rules-changed", "rulesVersion": RULES}}
    ]
    # Current rules, and operator tokens (no guest claim, whatever rules they name): welcome.
    for token in (
        make_token("New", sub="d-new", guest=True, rules=RULES),
        make_token("Member", sub="u-member"),
    ):
        p = await Peer("x").connect(live.url, token=token)
        await p.expect("connection-quality")
        await p.close()


async def test_a_banned_page_learns_when_its_ban_is_lifted(live: Live) -> None:
    session = await join(live, "198.51.100.30", "Ann")
    bearer = {"Authorization": f"Bearer {session['token']}", **at("198.51.100.30")}
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert (await http.get("/api/ban")).status_code == 401
        assert (await http.get("/api/ban", headers=bearer)).json() == {"banned": False}
        now = time.time()
        ban = await live.app.db.ban(
            session["userId"], until=now + 3600, reason="rude", created_by="t", now=now
        )
        await live.app.refresh_bans()
        answer = (await http.get("/api/ban", headers=bearer)).json()
        assert answer == {"banned": True, "until": round(ban.until * 1000), "reason": "rude"}
        assert (await live.app.db.unban(session["userId"], time.time())) is True
        await live.app.refresh_bans()
        assert (await http.get("/api/ban", headers=bearer)).json() == {"banned": False}


@pytest.mark.parametrize("reporter_at", ["198.51.100.99", "2001:db8:9:{n:x}::1"])
async def test_one_network_stores_only_so_many_reports_a_day(reporter_at: str) -> None:
    """Guests of one network pairing each other cannot fill the database with reports,
    nor one IPv6 subscriber spreading them over the /64s of its /48."""
    async with live_server(trusted_proxies=("127.0.0.1",), reports_per_network_per_day=3) as live:
        acks = []
        for n in range(5):
            victim_at = f"192.0.2.{n + 1}"
            victim = await peer(live, await join(live, victim_at, f"V{n}"), victim_at)
            token = make_token(f"R{n}", sub=f"d-r{n}", guest=True, rules=RULES)
            reporter = await Peer(f"R{n}").connect(
                live.url, token=token, headers=at(reporter_at.format(n=n))
            )
            await reporter.expect("connection-quality")
            await victim.emit_raw("find-partner")
            await victim.expect("waiting-for-partner")
            await reporter.emit_raw("find-partner")
            await reporter.expect("match-found")
            await reporter.emit("report-partner", {"reason": "spam"})
            event, _ = await asyncio.wait_for(reporter.events.get(), 5)
            acks.append(event)
            await reporter.close()
            await victim.close()
        assert acks == ["report-partner-ack"] * 3 + ["rate-limited"] * 2
        assert len(await live.app.db.reports()) == 3


async def test_one_ipv6_subscriber_is_one_address_for_guest_sessions() -> None:
    """Thirty /64s of one /48 (one subscriber) share the per-address session rate."""
    async with live_server(
        trusted_proxies=("127.0.0.1",), sessions_per_minute=1, session_burst=2, pow="never"
    ) as live:
        body = {"username": "Sam", "rulesVersion": RULES}
        async with httpx.AsyncClient(base_url=live.url) as http:
            codes = [
                (
                    await http.post("/api/session", json=body, headers=at(f"2001:db8:5:{n:x}::1"))
                ).status_code
                for n in range(30)
            ]
            other = await http.post("/api/session", json=body, headers=at("2001:db8:6::1"))
        assert codes[:2] == [201, 201] and set(codes[2:]) == {429}
        assert other.status_code == 201  # another /48 is another subscriber
