"""The HTTP routes on a real server."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import SECRET
from tests.server.harness import Live, Peer, live_server


@pytest.fixture
async def live() -> Any:
    async with live_server() as server:
        yield server


async def test_guest_session_token_connects(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/session", json={"username": "  Alice  "})
    assert resp.status_code == 201
    body = resp.json()
    assert body["username"] == "Alice" and len(body["userId"]) == 32
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == body["userId"] and claims["exp"] == body["expiresAt"]
    peer = await Peer("Alice").connect(live.url, token=body["token"])
    assert await peer.expect("connection-quality") == {"quality": "excellent"}
    await peer.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": ""}, "username: String should have at least 1 character"),
        ({"username": "   "}, "at least 1 character"),
        ({"username": "x" * 33}, "at most 32 characters"),
        ({"username": "bad\u0000name"}, "printable characters only"),
        ({"username": 5}, "username: Input should be a valid string"),
        ({}, "username: Field required"),
        ([], "Input should be a valid dictionary"),
    ],
)
async def test_bad_usernames_get_422_with_a_clear_message(
    live: Live, body: Any, message: str
) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/session", json=body)
    assert resp.status_code == 422
    assert message in resp.json()["detail"]


async def test_non_json_body_is_422(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/session", content=b"username=alice")
    assert resp.status_code == 422 and "JSON" in resp.json()["detail"]


async def test_guest_sessions_can_be_switched_off() -> None:
    async with (
        live_server(guest_sessions=False) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        resp = await http.post("/api/session", json={"username": "Alice"})
    assert resp.status_code == 403 and "disabled" in resp.json()["detail"]


async def test_health_placeholder_and_metrics(live: Live) -> None:
    a = await Peer("a").connect(live.url)
    b = await Peer("b").connect(live.url)
    for p in (a, b):
        await p.expect("connection-quality")
        await p.emit_raw("find-partner")
    await a.expect("waiting-for-partner")
    await b.expect("match-found")
    await a.expect("match-found")
    await b.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0"}})
    await a.expect("signal-offer")
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        page = await http.get("/")
        assert page.status_code == 200 and "web client has not been built" in page.text
        metrics = (await http.get("/metrics")).text
    for line in [
        "randomchat_connected_users 2.0",
        "randomchat_waiting_users 0.0",
        "randomchat_active_pairs 1.0",
        "randomchat_matches_total 1.0",
        "randomchat_wait_seconds_count 1.0",
        'randomchat_signals_relayed_total{type="offer"} 1.0',
    ]:
        assert line in metrics.splitlines(), line
    await a.close()
    await b.close()


async def test_built_page_is_served(tmp_path: Any) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>page</title>")
    async with live_server(web_dir=tmp_path) as live, httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.get("/")
    assert resp.status_code == 200 and "<title>page</title>" in resp.text


async def test_cross_origin_socket_refused_unless_listed() -> None:
    async with live_server(cors_origins=("https://chat.example.com",)) as live:
        for origin, allowed in [
            ("https://evil.example.com", False),
            ("https://chat.example.com", True),
            (live.url, True),  # same origin
        ]:
            peer = Peer("x")
            try:
                await peer.connect(live.url, headers={"Origin": origin})
                connected = True
            except Exception:
                connected = False
            finally:
                await peer.close()
            assert connected is allowed, origin
        async with httpx.AsyncClient(base_url=live.url) as http:
            pre = await http.options(
                "/api/session",
                headers={
                    "Origin": "https://chat.example.com",
                    "Access-Control-Request-Method": "POST",
                },
            )
            assert pre.headers["access-control-allow-origin"] == "https://chat.example.com"
            bad = await http.options(
                "/api/session",
                headers={
                    "Origin": "https://evil.example.com",
                    "Access-Control-Request-Method": "POST",
                },
            )
            assert "access-control-allow-origin" not in bad.headers
