"""``GET /api/online`` on a real server, counting real Socket.IO connections."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from randomchat.errors import StorageError
from randomchat.online import routes
from randomchat.store import Counts, MemoryStore
from tests.server.harness import Peer, live_server, ready

pytestmark = pytest.mark.server


async def test_a_few_connections_are_not_counted_exactly() -> None:
    async with live_server() as live:
        peers = [await ready(live.url, f"p{i}") for i in range(3)]
        async with httpx.AsyncClient(base_url=live.url) as http:
            resp = await http.get("/api/online")  # no token: the same answer for everyone
        assert resp.status_code == 200
        assert resp.json() == {"online": 0, "searching": 0}  # the page: "fewer than 10"
        assert resp.headers["cache-control"] == "public, max-age=5"
        await asyncio.gather(*(p.close() for p in peers))


async def test_online_and_searching_rounded_down_to_tens() -> None:
    async with live_server() as live:
        peers: list[Peer] = [await ready(live.url, f"p{i}") for i in range(13)]
        # Eleven searches that cannot pair (strict, each its own interest): eleven waiting.
        for i, peer in enumerate(peers[:11]):
            await peer.emit("find-partner", {"interests": [f"topic{i}"], "strict": True})
            await peer.expect("waiting-for-partner")
        async with httpx.AsyncClient(base_url=live.url) as http:
            resp = await http.get("/api/online")
        assert resp.status_code == 200
        assert resp.json() == {"online": 10, "searching": 10}  # 13 and 11, rounded down
        assert (await live.app.store.counts()).waiting == 11
        await asyncio.gather(*(p.close() for p in peers))


class DownStore(MemoryStore):
    async def counts(self) -> Counts:
        raise StorageError("Redis is unreachable")


async def test_an_outage_is_a_plain_503_not_a_traceback() -> None:
    app = Starlette(routes=routes(DownStore()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        answer = await http.get("/api/online")
    assert answer.status_code == 503 and answer.json() == {"detail": "unavailable"}
