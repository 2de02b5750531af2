"""Two Python peers matched by a real ``randomchat serve``, media through a real coturn.

The server hands out TURN REST credentials and ``iceTransportPolicy: relay``; each peer
gathers only a relayed candidate, so the selected pair on both sides must be
relay-relay, and frames and audio must arrive through coturn. With a secret coturn
does not know, the allocation is refused and both calls fail, within a bounded wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from randomchat.client.peer import Call, Peer
from tests.conftest import RunningServer
from tests.turn.coturn import Coturn

pytestmark = pytest.mark.process

CONNECT_WITHIN = 20.0


def relay_server(server_factory: Any, turn: Coturn, secret: str | None = None) -> RunningServer:
    return server_factory(  # type: ignore[no-any-return]
        turn_url=[turn.udp_url],
        turn_secret=[secret or turn.secret],
        ice_policy="relay",
        find_rate_limit_ms=0,
    )


@asynccontextmanager
async def matched_pair(url: str, **options: Any) -> AsyncIterator[tuple[Call, Call]]:
    """Two peers that searched in turn; yields (initiator's call, receiver's call)."""
    waiting = Peer(url, username="Waiting", **options)
    searcher = Peer(url, username="Searcher", **options)
    try:
        await waiting.connect()
        await searcher.connect()
        await waiting.search()
        await asyncio.sleep(0)  # the waiting peer's request goes out first
        await searcher.search()
        async with asyncio.timeout(10):
            receiver_call = await waiting.next_call()
            initiator_call = await searcher.next_call()
        yield initiator_call, receiver_call
    finally:
        await searcher.close()
        await waiting.close()


async def test_relay_only_call_flows_through_coturn(server_factory: Any, coturn: Coturn) -> None:
    server = relay_server(server_factory, coturn)
    async with matched_pair(server.url) as (first, second):
        assert first.role == "initiator" and second.role == "receiver"
        assert first.ice.policy == second.ice.policy == "relay"
        for call in (first, second):
            assert await call.wait_connected(CONNECT_WITHIN), (call.report(), coturn.log()[-3000:])
        for call in (first, second):
            assert await call.wait_media(video=10, audio=25, within=15), call.report()
        for call in (first, second):
            report = call.report()
            assert (report.local_candidate, report.remote_candidate) == ("relay", "relay"), report
            assert report.audio_level > 0.01, report  # the tone, not silence
    # coturn saw the allocations made with the server's credentials
    assert "ALLOCATE processed, success" in coturn.log()


async def test_wrong_turn_secret_fails_the_call(server_factory: Any, coturn: Coturn) -> None:
    server = relay_server(server_factory, coturn, secret="not-the-coturn-secret-" + "z" * 10)
    async with matched_pair(server.url) as (first, second):
        # coturn refuses the allocation: the initiator has no candidate and fails at once
        assert not await first.wait_connected(CONNECT_WITHIN)
        assert first.failure is not None and "TURN allocation failed" in first.failure
        # it moves on, as the page does; the receiver's call ends without media
        await first.peer.leave()
        async with asyncio.timeout(10):
            await second.done.wait()
        for call in (first, second):
            report = call.report()
            assert report.connect_ms is None and report.local_candidate is None, report
            assert report.video_frames == report.audio_frames == 0, report
    assert "401: Unauthorized" in coturn.log()
    assert "ALLOCATE processed, success" not in coturn.log()
