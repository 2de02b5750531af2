"""The page's files over HTTP from a real ``randomchat serve``: compression, cache
headers by name, the security headers, no source maps, and Socket.IO untouched."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest

from randomchat.static import content_security_policy

pytestmark = pytest.mark.process

# Large enough to be worth compressing (the middleware skips bodies under 500 bytes).
SCRIPT = "export const greeting = 'hello';\n" * 400
INDEX = (
    "<!doctype html><html><head>"
    '<script type="module" src="/assets/index-Ab12Cd34.js"></script>'
    '<link rel="manifest" href="/manifest.webmanifest">'
    "</head><body><div id=root></div>" + "<!-- padding -->" * 60 + "</body></html>"
)


@pytest.fixture
def site(tmp_path: Path, server_factory: Any) -> Any:
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text(INDEX)
    (web / "assets" / "index-Ab12Cd34.js").write_text(SCRIPT)
    (web / "assets" / "index-Ab12Cd34.js.map").write_text('{"version": 3}')
    (web / "manifest.webmanifest").write_text('{"name": "randomchat"}')
    return server_factory(web_dir=web)


def fetch(url: str, encoding: str | None, **headers: str) -> tuple[httpx.Response, bytes]:
    """(response, body exactly as sent on the wire)"""
    sent = dict(headers)
    with httpx.Client(timeout=5) as client:
        request = client.build_request("GET", url, headers=sent)
        if encoding is None:
            del request.headers["Accept-Encoding"]
        else:
            request.headers["Accept-Encoding"] = encoding
        response = client.send(request, stream=True)
        try:
            body = b"".join(response.iter_raw())
        finally:
            response.close()
    return response, body


def assert_page_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    # no inline scripts, no eval of JS; WebAssembly compilation for the nudity classifier
    assert directives["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["connect-src"][0] == "'self'"
    assert "mediastream:" in directives["media-src"] and "blob:" in directives["media-src"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["permissions-policy"].startswith("camera=(self), microphone=(self)")


def test_index_is_revalidated_compressed_and_carries_the_security_headers(site: Any) -> None:
    response, body = fetch(site.url + "/", "gzip")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert gzip.decompress(body).decode() == INDEX
    assert_page_headers(response)
    host = f"127.0.0.1:{site.port}"
    csp = response.headers["content-security-policy"]
    assert f"connect-src 'self' ws://{host} wss://{host}" in csp

    # revalidation: the ETag gives a 304 that keeps the policy
    again, _ = fetch(site.url + "/", "gzip", **{"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_immutable_and_brotli_or_gzip_by_accept_encoding(site: Any) -> None:
    url = site.url + "/assets/index-Ab12Cd34.js"
    br, br_body = fetch(url, "gzip, deflate, br")
    assert br.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert br.headers["content-encoding"] in ("br", "zstd")
    if br.headers["content-encoding"] == "br":
        assert brotli.decompress(br_body).decode() == SCRIPT
    assert len(br_body) < len(SCRIPT) / 10

    gz, gz_body = fetch(url, "gzip")
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz_body).decode() == SCRIPT

    plain, plain_body = fetch(url, None)
    assert "content-encoding" not in plain.headers
    assert plain_body.decode() == SCRIPT
    assert plain.headers["content-type"].startswith("text/javascript")


def test_source_maps_are_not_served(site: Any) -> None:
    response, _ = fetch(site.url + "/assets/index-Ab12Cd34.js.map", "gzip")
    assert response.status_code == 404


def test_manifest_is_served_as_a_manifest_and_revalidated(site: Any) -> None:
    response, _ = fetch(site.url + "/manifest.webmanifest", None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    assert response.headers["cache-control"] == "no-cache"


def test_socketio_and_api_answers_are_not_touched(site: Any) -> None:
    """Long-polling goes through the engine before Starlette: no compression,
    no page headers, a packet the client can read."""
    response, body = fetch(site.url + "/socket.io/?EIO=4&transport=polling", "gzip, br")
    assert response.status_code == 200, body
    assert "content-encoding" not in response.headers
    assert "content-security-policy" not in response.headers
    assert body.startswith(b"0{") and b'"sid"' in body
    health, _ = fetch(site.url + "/healthz", "gzip, br")
    assert "content-encoding" not in health.headers


def test_csp_host_is_written_only_when_it_is_a_plain_host() -> None:
    assert "ws://example.org:8443" in content_security_policy("example.org:8443")
    assert "ws://[::1]:8000" in content_security_policy("[::1]:8000")
    hostile = content_security_policy("evil.example; script-src *")
    assert "evil" not in hostile and "connect-src 'self';" in hostile
    assert "connect-src 'self';" in content_security_policy(None)
