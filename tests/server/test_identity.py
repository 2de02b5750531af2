"""Issue 22: exclusions follow the person, not the guest session.

A reported user who presses "Change" (a new guest session from the same browser, which
sends its device key) or opens a private window on the same network (no device key)
must not meet the person who reported or blocked them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from randomchat.config import Settings
from randomchat.devices import DeviceKeys, keys_for
from randomchat.guests import RulesDocument
from tests.conftest import SECRET
from tests.server.harness import Live, Peer, live_server

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
    future, later = keys.issue(10_000.0)
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
