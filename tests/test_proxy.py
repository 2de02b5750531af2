"""Proxy headers and the Host allowlist, as ASGI middlewares around a recording app."""

from __future__ import annotations

from typing import Any

import pytest

from randomchat import proxy

pytestmark = pytest.mark.pure

NETS = proxy.parse_networks(["10.0.0.0/8", "127.0.0.1"])


class Recorder:
    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})


async def run(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def scope(
    client: str, headers: dict[str, str], kind: str = "http", scheme: str = "http"
) -> dict[str, Any]:
    return {
        "type": kind,
        "scheme": scheme if kind == "http" else scheme.replace("http", "ws"),
        "client": (client, 5000),
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def host_of(s: dict[str, Any]) -> str | None:
    return next((v.decode() for k, v in s["headers"] if k == b"host"), None)


async def test_x_forwarded_from_a_trusted_proxy_rewrites_client_scheme_and_host() -> None:
    rec = Recorder()
    app = proxy.ForwardedHeaders(rec, NETS, "x-forwarded")
    headers = {
        "Host": "127.0.0.1:3000",
        # a client-supplied entry on the left, then what our proxies appended
        "X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.1.2.3",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "chat.example.com",
    }
    await run(app, scope("10.0.0.5", headers))
    await run(app, scope("10.0.0.5", headers, kind="websocket"))
    http, ws = rec.scopes
    assert http["client"] == ("203.0.113.7", 0) and http["scheme"] == "https"
    assert ws["client"] == ("203.0.113.7", 0) and ws["scheme"] == "wss"
    assert host_of(http) == host_of(ws) == "chat.example.com"
    assert http[proxy.PROXIED] is True


async def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    rec = Recorder()
    app = proxy.ForwardedHeaders(rec, NETS, "x-forwarded")
    headers = {"Host": "a", "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}
    await run(app, scope("192.0.2.1", headers))
    (seen,) = rec.scopes
    assert seen["client"] == ("192.0.2.1", 5000) and seen["scheme"] == "http"
    assert proxy.PROXIED not in seen


async def test_rfc_7239_forwarded_with_quoted_ipv6_and_the_clients_own_element() -> None:
    rec = Recorder()
    app = proxy.ForwardedHeaders(rec, NETS, "forwarded")
    headers = {
        "Forwarded": 'for="[2001:db8::17]:4711";proto=https;host=chat.example.com, '
        "for=10.9.9.9;proto=http;host=internal",
        # the other family is not read in this mode
        "X-Forwarded-For": "6.6.6.6",
    }
    await run(app, scope("127.0.0.1", headers, kind="websocket"))
    (seen,) = rec.scopes
    assert seen["client"] == ("2001:db8::17", 4711)
    assert seen["scheme"] == "wss" and host_of(seen) == "chat.example.com"


async def test_x_forwarded_mode_ignores_a_forwarded_header() -> None:
    rec = Recorder()
    app = proxy.ForwardedHeaders(rec, NETS, "x-forwarded")
    await run(app, scope("127.0.0.1", {"Forwarded": "for=6.6.6.6;proto=https"}))
    assert rec.scopes[0]["client"] == ("127.0.0.1", 5000)
    assert rec.scopes[0]["scheme"] == "http"


@pytest.mark.parametrize(
    ("allowed", "bind", "host", "ok"),
    [
        ((), "127.0.0.1", "127.0.0.1:3000", True),
        ((), "127.0.0.1", "localhost:3000", True),
        ((), "127.0.0.1", "[::1]:3000", True),
        ((), "127.0.0.1", "evil.example:3000", False),
        ((), "127.0.0.1", "", False),
        ((), "0.0.0.0", "evil.example", True),  # wildcard bind, no list: any (warned)
        (("chat.example.com",), "0.0.0.0", "Chat.Example.com.:443", True),
        (("chat.example.com",), "0.0.0.0", "localhost", False),
        (("*.example.com",), "0.0.0.0", "a.example.com", True),
        (("*.example.com",), "0.0.0.0", "example.org", False),
        (("*",), "127.0.0.1", "anything", True),
    ],
)
def test_host_policy(allowed: tuple[str, ...], bind: str, host: str, ok: bool) -> None:
    policy = proxy.HostPolicy.build(allowed, bind_host=bind, cors_origins=())
    assert policy.allows(host) is ok


def test_cors_origin_hosts_are_allowed_by_default() -> None:
    policy = proxy.HostPolicy.build(
        (), bind_host="127.0.0.1", cors_origins=("https://chat.example.com",)
    )
    assert policy.allows("chat.example.com")


async def test_refused_host_gets_400_and_a_websocket_is_closed_before_accept() -> None:
    rec = Recorder()
    policy = proxy.HostPolicy.build((), bind_host="127.0.0.1", cors_origins=())
    app = proxy.HostAllowlist(rec, policy)
    sent = await run(app, scope("127.0.0.1", {"Host": "evil.example:3000"}))
    assert sent[0]["status"] == 400
    sent = await run(app, scope("127.0.0.1", {"Host": "evil.example"}, kind="websocket"))
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert rec.scopes == []


async def test_default_policy_leaves_host_checks_of_proxied_requests_to_the_proxy() -> None:
    rec = Recorder()
    policy = proxy.HostPolicy.build((), bind_host="127.0.0.1", cors_origins=())
    app = proxy.ForwardedHeaders(proxy.HostAllowlist(rec, policy), NETS, "x-forwarded")
    headers = {"Host": "chat.example.com", "X-Forwarded-For": "203.0.113.7"}
    await run(app, scope("127.0.0.1", headers))
    assert len(rec.scopes) == 1
    # an explicit list is checked on proxied requests too
    strict = proxy.HostPolicy.build(("chat.example.com",), bind_host="x", cors_origins=())
    app = proxy.ForwardedHeaders(proxy.HostAllowlist(rec, strict), NETS, "x-forwarded")
    headers["Host"] = "evil.example"
    assert (await run(app, scope("127.0.0.1", headers)))[0]["status"] == 400


@pytest.mark.parametrize(
    ("client", "headers", "local"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("203.0.113.7", {}, False),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}, False),  # an undeclared local proxy
        ("127.0.0.1", {"Forwarded": "for=203.0.113.7"}, False),
    ],
)
def test_is_local(client: str, headers: dict[str, str], local: bool) -> None:
    assert proxy.is_local(scope(client, headers)) is local


def test_network_of_groups_ipv6_by_64() -> None:
    assert proxy.network_of("2001:db8:1:2:3:4:5:6") == proxy.network_of("2001:db8:1:2::9")
    assert proxy.network_of("::ffff:192.0.2.1") == "192.0.2.1"
    assert proxy.network_of("192.0.2.1") == "192.0.2.1"
