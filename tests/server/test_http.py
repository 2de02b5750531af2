"""The HTTP routes on a real server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import jwt
import pytest

from randomchat.app import create_app
from randomchat.config import Settings
from randomchat.db import Database
from randomchat.guests import RulesDocument
from tests.conftest import SECRET
from tests.server.harness import Live, Peer, live_server

pytestmark = pytest.mark.server

# The version of the package's default rules, which a guest accepts (issue 15).
RULES = RulesDocument.load(Settings()).version


@pytest.fixture
async def live() -> Any:
    async with live_server() as server:
        yield server


async def test_guest_session_token_connects(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post(
            "/api/session", json={"username": "  Alice  ", "rulesVersion": RULES}
        )
    assert resp.status_code == 201
    body = resp.json()
    # A guest's id is its browser's device key's (randomchat.devices): "d" and 32 hex digits.
    assert body["username"] == "Alice" and len(body["userId"]) == 33
    assert body["device"].startswith(body["userId"][1:] + ".")
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
        ({"username": "evil\u202etxt.exe"}, "printable characters only"),  # a bidi override
        ({"username": 5}, "username: Input should be a valid string"),
        ({"rulesVersion": RULES}, "username: Field required"),
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


@pytest.mark.parametrize(
    "name", ["\U0001f469\u200d\U0001f4bb Dana", "שלום\u200f!", "\u0645\u06cc\u200c\u062e\u0648"]
)
async def test_names_in_any_script_are_kept_intact(live: Live, name: str) -> None:
    """ZWJ emoji, RLM and ZWNJ are part of real names: accepted, and the token carries them."""
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/session", json={"username": name, "rulesVersion": RULES})
    assert resp.status_code == 201, resp.text
    assert resp.json()["username"] == name
    assert jwt.decode(resp.json()["token"], SECRET, algorithms=["HS256"])["username"] == name


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


# -- hostile input (issue 8: items 8, 13, 14) -----------------------------------------


async def _raw(url: str, request: bytes, *, send_more: bytes = b"") -> bytes:
    """Send ``request`` on a fresh connection; the response head (or b"" if closed)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request + send_more)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
        # Closed before the test's loop ends, or the socket is reported unclosed later,
        # in whichever test the garbage collector happens to run.
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_session_body_over_the_cap_is_refused_by_its_declared_length(live: Live) -> None:
    # 300 MB announced, 1 KB sent: the answer must come without waiting for the rest.
    head = (
        b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
    )
    answer = await _raw(live.url, head, send_more=b"x" * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"connection: close" in answer.lower()


async def test_session_body_over_the_cap_is_refused_while_it_streams(live: Live) -> None:
    # No length announced; 8 KB of chunks arrive and the body never ends.
    head = (
        b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = b"".join(b"400\r\n" + b" " * 1024 + b"\r\n" for _ in range(8))
    answer = await _raw(live.url, head, send_more=chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"larger than 4096" in answer


async def test_guest_sessions_are_rate_limited_per_address() -> None:
    async with (
        live_server(sessions_per_minute=1, session_burst=2, pow="never") as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        body = {"username": "A", "rulesVersion": RULES}
        codes = [(await http.post("/api/session", json=body)).status_code for _ in range(2)]
        refused = await http.post("/api/session", json=body)
    assert codes == [201, 201]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_a_foreign_host_is_refused_on_every_route_and_transport(live: Live) -> None:
    port = live.url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=live.url) as http:
        for path in ("/healthz", "/api/session", "/socket.io/?EIO=4&transport=polling"):
            bad = await http.get(path, headers={"Host": f"rebound.evil.example:{port}"})
            assert bad.status_code == 400, path
        good = await http.get("/socket.io/?EIO=4&transport=polling")
        assert good.status_code == 200
    upgrade = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    refused = await _raw(live.url, upgrade.format(f"rebound.evil.example:{port}").encode())
    assert refused.startswith(b"HTTP/1.1 403"), refused[:80]
    accepted = await _raw(live.url, upgrade.format(f"localhost:{port}").encode())
    assert accepted.startswith(b"HTTP/1.1 101"), accepted[:80]


async def _connects(url: str, headers: dict[str, str]) -> bool:
    peer = Peer("x")
    try:
        await peer.connect(url, headers=headers)
        return True
    except Exception:
        return False
    finally:
        await peer.close()


@pytest.mark.parametrize(
    ("family", "headers"),
    [
        (
            "x-forwarded",
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com"},
        ),
        ("forwarded", {"Forwarded": "for=203.0.113.9;proto=https;host=chat.example.com"}),
    ],
)
async def test_browser_behind_a_tls_proxy_passes_the_same_origin_check(
    family: str, headers: dict[str, str]
) -> None:
    """The page is https://chat.example.com; the proxy speaks plain HTTP to us."""
    browser = {"Origin": "https://chat.example.com", **headers}
    async with live_server(trusted_proxies=("127.0.0.1",), forwarded_header=family) as live:
        assert await _connects(live.url, browser)
    async with live_server() as live:  # the same headers from a peer nobody trusts
        assert not await _connects(live.url, browser)


async def test_metrics_need_the_token_when_one_is_set() -> None:
    token = "m" * 32
    async with (
        live_server(metrics_token=token) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        assert (await http.get("/metrics")).status_code == 401
        bad = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
        assert bad.status_code == 401
        good = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert good.status_code == 200 and "randomchat_connected_users" in good.text


async def test_metrics_without_a_token_are_for_this_machine_only(tmp_path: Any) -> None:
    settings = Settings(jwt_secret=SECRET, data_dir=tmp_path, web_dir="/nonexistent")
    db = await Database.open(settings.database)
    try:
        app = create_app(settings, db)
        for client, headers, status in [
            (("127.0.0.1", 1), {}, 200),
            (("203.0.113.7", 1), {}, 403),
            # a proxy on this machine that nobody declared relays someone else
            (("127.0.0.1", 1), {"X-Forwarded-For": "203.0.113.7"}, 403),
        ]:
            transport = httpx.ASGITransport(app=app.asgi, client=client)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as h:
                assert (await h.get("/metrics", headers=headers)).status_code == status
    finally:
        await db.close()
