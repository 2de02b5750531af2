"""The echo bot and the Python peer against a real ``randomchat serve`` (host candidates,
no STUN): the peer sees its own test pattern come back, match after match."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from randomchat.client.bot import ECHO_USERNAME, EchoBot
from randomchat.client.peer import Media, Peer
from randomchat.protocol import NAMESPACE

pytestmark = pytest.mark.process


async def test_echo_bot_sends_each_partner_their_own_media(server_factory: Any) -> None:
    server = server_factory(find_rate_limit_ms=0)
    bot = EchoBot(server.url, count=2)
    bot_task = asyncio.ensure_future(bot.run())
    async with asyncio.timeout(10):
        await bot.ready.wait()
    sizes = [(160, 120), (192, 144)]
    for width, height in sizes:
        peer = Peer(
            server.url, username="Camera", media=Media("pattern", width=width, height=height)
        )
        try:
            await peer.connect()
            await peer.search()
            async with asyncio.timeout(10):
                call = await peer.next_call()
            assert call.partner_name == ECHO_USERNAME and call.role == "initiator"
            assert await call.wait_connected(20), call.report()
            assert await call.wait_media(video=5, audio=10, within=15), call.report()
            report = call.report()
            # the bot has no camera of its own: what comes back is our own pattern and tone
            assert call.received["video"].width == width and call.received["video"].height == height
            assert report.audio_level > 0.01, report
            assert (report.local_candidate, report.remote_candidate) == ("host", "host"), report
        finally:
            await peer.close()  # the bot sees partner-disconnected and waits for the next one
    async with asyncio.timeout(15):
        connected = await bot_task  # --count 2: it exits after the second call
    assert connected == 2
    assert [r.partner_name for r in bot.reports] == ["Camera", "Camera"]
    assert all(r.video_frames >= 5 for r in bot.reports), bot.reports


async def test_trickled_candidates_that_overtake_the_offer_are_applied(server_factory: Any) -> None:
    """Like a browser, the initiator here sends its offer without candidates and trickles
    them separately, first: the peer keeps them until the offer is in, then applies them.
    The call can only connect through those trickled candidates."""
    server = server_factory(find_rate_limit_ms=0)
    peer = Peer(server.url, username="Receiver", media=Media("pattern", width=64, height=48))
    browser = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    matched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    browser.on("match-found", matched.put, namespace=NAMESPACE)
    browser.on("signal-answer", answers.put, namespace=NAMESPACE)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        await peer.connect()
        await peer.search()
        await browser.connect(
            server.url,
            namespaces=[NAMESPACE],
            auth={"token": server.token("Browser")},
            transports=["websocket"],
        )
        await browser.emit("find-partner", namespace=NAMESPACE)
        async with asyncio.timeout(10):
            assert (await matched.get())["role"] == "initiator"
            call = await peer.next_call()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        candidates = [line[2:] for line in sdp.splitlines() if line.startswith("a=candidate:")]
        assert candidates
        bare = "".join(
            line + "\r\n"
            for line in sdp.splitlines()
            if not line.startswith(("a=candidate:", "a=end-of-candidates"))
        )
        for text in candidates:  # sent together: the server batches some of them
            await browser.emit(
                "signal-ice-candidate",
                {"candidate": {"candidate": text, "sdpMid": "0", "sdpMLineIndex": 0}},
                namespace=NAMESPACE,
            )
        await browser.emit(
            "signal-offer", {"offer": {"type": "offer", "sdp": bare}}, namespace=NAMESPACE
        )
        async with asyncio.timeout(10):
            answer = (await answers.get())["answer"]
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        assert await call.wait_connected(20), call.report()
        assert call._pending == []
        # learnt from the trickled candidates, not only from the partner's checks (prflx)
        assert call.report().remote_candidate == "host", call.report()
    finally:
        await pc.close()
        await browser.disconnect()
        await peer.close()
