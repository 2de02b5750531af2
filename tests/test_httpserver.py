"""Slow and oversized requests against a real ``randomchat serve`` on real sockets (issue 8)."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.server.harness import Peer

pytestmark = pytest.mark.process

SOCKETS = 50


def _open(server: RunningServer, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def _closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closes ``sock`` within ``wait`` seconds (a generous bound)."""
    sock.settimeout(wait)
    try:
        while sock.recv(4096):  # a 408 may come first, then the end of the stream
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_that_never_finish_their_headers_are_closed(server_factory: Any) -> None:
    server: RunningServer = server_factory(request_timeout=1)
    silent = [_open(server, b"") for _ in range(SOCKETS // 2)]
    partial = [
        _open(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(SOCKETS // 2)
    ]
    deadline = time.monotonic() + 30
    try:
        for sock in silent + partial:
            left = max(0.1, deadline - time.monotonic())
            assert _closed_by_server(sock, left), "a slow connection is still open"
    finally:
        for sock in silent + partial:
            sock.close()
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}


def test_a_body_that_trickles_past_the_deadline_is_cut(server_factory: Any) -> None:
    server: RunningServer = server_factory(request_timeout=1)
    sock = _open(
        server,
        b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{",
    )
    try:
        assert _closed_by_server(sock, 30)
    finally:
        sock.close()


def test_an_oversized_request_head_gets_431(server_factory: Any) -> None:
    server: RunningServer = server_factory()
    sock = _open(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        try:
            for _ in range(64):
                sock.sendall(b"X-Pad: " + b"a" * 1024 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we finished: the answer is already waiting
        sock.settimeout(10)
        assert sock.recv(4096).startswith(b"HTTP/1.1 431")
    finally:
        sock.close()


async def test_websockets_and_kept_alive_requests_outlive_the_deadline(
    server_factory: Any,
) -> None:
    import asyncio

    server: RunningServer = server_factory(request_timeout=1)
    peer = await Peer("Ann").connect(server.url, token=server.token("Ann"))
    await peer.expect("connection-quality")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        await asyncio.sleep(2.5)  # longer than the deadline, shorter than keep-alive + ping
        assert (await http.get("/healthz")).status_code == 200
    await peer.emit_raw("find-partner")
    assert await peer.expect("waiting-for-partner") is not None
    await peer.close()
