"""``serve --workers 2``: two worker processes on one port, sharing Redis."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ROOT, SECRET, free_port
from tests.redisserver import RedisServer
from tests.server.harness import match, ready

pytestmark = pytest.mark.process


async def test_workers_share_one_port_and_refuse_polling_with_a_reason(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (the server under test, started once)
        [sys.executable, "-m", "randomchat", "serve", "--port", str(port), "--workers", "2",
         "--redis-url", redis_server.url, "--jwt-secret", SECRET, "--stun-url", "none",
         "--data-dir", str(tmp_path / "data"), "--web-dir", str(ROOT / "web" / "dist"),
         "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get(url + "/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "workers did not start"
                await asyncio.sleep(0.1)
            polling = await client.get(url + "/socket.io/?EIO=4&transport=polling")
        assert polling.status_code == 400
        assert "several workers" in polling.json()["message"]
        redis = Redis.from_url(redis_server.url)
        try:  # both workers are up (each lists itself in the cluster's nodes)
            deadline = time.monotonic() + 60
            while len(await redis.smembers("rc:nodes")) < 2:
                assert time.monotonic() < deadline, "the second worker did not start"
                await asyncio.sleep(0.1)
        finally:
            await redis.aclose()
        # Many WebSocket users: the kernel spreads them over both workers, which pair them.
        peers = [await ready(url, f"user{i}") for i in range(16)]
        for a, b in zip(peers[::2], peers[1::2], strict=True):
            found, _ = await match(a, b)
            assert found["partnerName"] == a.name
        sids = {peer.client.get_sid("/random-chat") or "" for peer in peers}
        assert len({sid.split(".")[0] for sid in sids}) == 2  # both workers took users
        for peer in peers:
            await peer.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
