"""bench/floor.py, the bench's floor, as a real process under python-socketio clients.

The floor must carry a whole call set-up the way ours does (bench/run compares
CPU per set-up against it), so this drives one: pairing, an offer and its ack,
candidates (one, then several sent together), and the partner's disconnect.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
import pytest

from tests.conftest import ROOT, free_port, stop_process
from tests.rawclient import WsClient, connect_packet
from tests.server.harness import Peer

pytestmark = pytest.mark.process

FLOOR = ROOT / "bench" / "floor.py"
OFFER = {"offer": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}}


def candidate(n: int) -> dict[str, Any]:
    line = f"candidate:{n} 1 udp 2122260223 192.0.2.1 {50000 + n} typ host"
    return {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}


@pytest.fixture(scope="module")
def floor_url() -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, str(FLOOR), "--port", str(port)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30  # a loaded machine starts Python slowly
        while True:
            if process.poll() is not None:
                out = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"floor exited early:\n{out}")
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("floor did not become ready")
            time.sleep(0.05)
        yield url
    finally:
        stop_process(process)
        if process.stdout:
            process.stdout.close()


@pytest.fixture
async def pair(floor_url: str) -> AsyncIterator[tuple[Peer, Peer]]:
    """Two connected peers past ``connection-quality`` (the token is not read by the floor)."""
    waiter, seeker = Peer("Waiter"), Peer("Seeker")
    try:
        for peer in (waiter, seeker):
            await peer.connect(floor_url, token="not-a-jwt")
            assert await peer.expect("connection-quality") == {"quality": "excellent"}
        yield waiter, seeker
    finally:
        for peer in (waiter, seeker):
            if peer.client.connected:
                await peer.close()


def test_healthz_and_nothing_else(floor_url: str) -> None:
    ok = httpx.get(floor_url + "/healthz")
    assert (ok.status_code, ok.text) == (200, "ok")
    assert httpx.get(floor_url + "/").status_code == 404


async def test_a_call_set_up_through_the_floor(pair: tuple[Peer, Peer]) -> None:
    waiter, seeker = pair
    await waiter.emit_raw("find-partner")
    waiting = await waiter.expect("waiting-for-partner")
    assert waiting["queuePosition"] == 1
    await seeker.emit_raw("find-partner")
    # the searcher is the initiator, as on our server
    assert (await seeker.expect("match-found"))["role"] == "initiator"
    assert (await waiter.expect("match-found"))["role"] == "receiver"

    await seeker.emit("signal-offer", OFFER)
    assert await seeker.expect("signal-offer-ack") is None
    assert await waiter.expect("signal-offer") == OFFER

    await waiter.emit("signal-ice-candidate", {"candidate": candidate(1)})
    assert await seeker.expect("signal-ice-candidate") == {"candidate": candidate(1)}

    # Several candidates in a row reach the partner all and in order, one event each or
    # batched (how many share a frame depends on how they arrive, as on our server).
    sent = [candidate(n) for n in range(2, 6)]
    for c in sent:
        await waiter.emit("signal-ice-candidate", {"candidate": c})
    got: list[Any] = []
    while len(got) < len(sent):
        event, data = await seeker.events.get()
        assert event in ("signal-ice-candidate", "signal-ice-candidates-batch"), event
        got += [data["candidate"]] if event == "signal-ice-candidate" else data["candidates"]
    assert got == sent

    # a candidate sent before a description leaves before it
    await waiter.emit("signal-ice-candidate", {"candidate": candidate(9)})
    answer = {"answer": {"type": "answer", "sdp": "v=0\r\n"}}
    await waiter.emit("signal-answer", answer)
    assert await seeker.expect("signal-ice-candidate") == {"candidate": candidate(9)}
    assert await seeker.expect("signal-answer") == answer
    assert await waiter.expect("signal-answer-ack") is None

    await seeker.close()
    assert await waiter.expect("partner-disconnected") == {}


async def test_a_waiting_socket_that_leaves_is_not_paired(pair: tuple[Peer, Peer]) -> None:
    waiter, seeker = pair
    await waiter.emit_raw("find-partner")
    await waiter.expect("waiting-for-partner")
    await waiter.close()
    await seeker.emit_raw("find-partner")
    assert (await seeker.expect("waiting-for-partner"))["queuePosition"] == 1


async def test_raw_frames_as_ours_sends_them(floor_url: str) -> None:
    """The open packet and CONNECT reply have our server's shape; a candidate written with
    other spacing than socket.io-client's is still relayed (decoded to find its object)."""
    async with aiohttp.ClientSession() as http:
        a, b = await WsClient.open(http, floor_url), await WsClient.open(http, floor_url)
        assert set(a.handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert (a.handshake["pingInterval"], a.handshake["pingTimeout"]) == (25000, 60000)
        for ws in (a, b):
            await ws.send(connect_packet("t"))
            ack = await ws.recv()
            assert isinstance(ack, str) and ack.startswith('40/random-chat,{"sid":"'), ack
            assert (
                await ws.recv() == '42/random-chat,["connection-quality",{"quality":"excellent"}]'
            )
        await a.send('42/random-chat,["find-partner"]')
        assert str(await a.recv()).startswith('42/random-chat,["waiting-for-partner",')
        await b.send('42/random-chat,["find-partner"]')
        assert str(await b.recv()).startswith('42/random-chat,["match-found",{"role":"initiator",')
        assert str(await a.recv()).startswith('42/random-chat,["match-found",{"role":"receiver",')
        spaced = (
            '42/random-chat,["signal-ice-candidate", {"candidate": {"candidate": "candidate:1"}}]'
        )
        await a.send(spaced)
        assert await b.recv() == (
            '42/random-chat,["signal-ice-candidate",{"candidate":{"candidate":"candidate:1"}}]'
        )
        await a.ws.close()
        assert await b.recv() == '42/random-chat,["partner-disconnected",{}]'
        await b.ws.close()
