"""One call of the Python peer: its ``RTCPeerConnection``, what arrived, how it ended.

Negotiation follows the page: the ``initiator`` offers, the ``receiver`` answers, and
candidates that arrive before the remote description wait in the call. Candidates are
gathered as a browser does (``gather``): every STUN and TURN URL, host candidates in the
offer or answer, the rest trickled as ``signal-ice-candidate`` as they are found, then an
end-of-candidates. aiortc implements ``iceTransportPolicy: relay`` itself (no host or
server-reflexive candidate is gathered). When gathering yields no candidate at all (a
refused TURN allocation in a relay-only call) aiortc would never start ICE and wait
forever: the call is marked failed at once instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aioice.candidate import Candidate
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcicetransport import RTCIceCandidate

from randomchat.client.gather import Gathering, connection_of, pair_types
from randomchat.client.media import Media, MeteredTrack, Received, drain
from randomchat.client.rtc import (
    candidate_from_init,
    candidate_init,
    description,
    is_end_of_candidates,
    rtc_configuration,
    signaled_types,
    without_end_of_candidates,
)
from randomchat.client.session import IceSettings
from randomchat.protocol import CallFailed, ClientEvent

if TYPE_CHECKING:
    from randomchat.client.peer import Peer

log = logging.getLogger("randomchat.client")

# Trickled candidates kept per call while the remote description is not set yet;
# beyond this a partner is flooding us and the rest are dropped.
MAX_PENDING_CANDIDATES = 200
KINDS = ("audio", "video")


@dataclass(frozen=True, slots=True)
class CallReport:
    """What a call achieved, for the bot's output, the doctor and the tests.

    ``local_candidate`` and ``remote_candidate`` are the selected pair's types as the path
    really is (``gather.pair_types``); ``signaled`` counts the partner's candidates by
    type as they reached us (in its SDP and trickled), after the server's filtering.
    """

    role: str
    partner_name: str
    policy: str
    state: str
    failure: str | None
    local_candidate: str | None
    remote_candidate: str | None
    video_frames: int
    audio_frames: int
    audio_level: float
    connect_ms: int | None
    signaled: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        pair = f"{self.local_candidate or '?'} -> {self.remote_candidate or '?'}"
        outcome = self.state if self.failure is None else f"{self.state} ({self.failure})"
        connected = f" in {self.connect_ms} ms" if self.connect_ms is not None else ""
        return (
            f"{self.partner_name} [{self.role}, policy {self.policy}]: {outcome}{connected}; "
            f"pair {pair}; received {self.video_frames} video frames, "
            f"{self.audio_frames} audio frames (peak level {self.audio_level:.3f})"
        )


class Call:
    """One match: its ``RTCPeerConnection``, what arrived, and how it ended."""

    def __init__(
        self,
        peer: Peer,
        *,
        role: str,
        partner_name: str,
        ice: IceSettings,
        media: Media,
        call_id: str | None = None,
    ) -> None:
        self.peer = peer
        # The server's id of this call: sent with each signal, so that one still on its
        # way as the server moves this peer to another call is dropped there, not relayed.
        self._of_call = {"callId": call_id} if call_id else {}
        self.role = role
        self.partner_name = partner_name
        self.ice = ice
        self.media = media
        self.started = time.monotonic()
        self.connected_at: float | None = None
        self.received = {kind: Received() for kind in KINDS}
        self.signaled: Counter[str] = Counter()
        self.failure: str | None = None
        self.end_reason: str | None = None
        self.pair: tuple[str, str] | None = None
        self.connected = asyncio.Event()
        self.done = asyncio.Event()  # failed, ended by either side, or closed
        self.offer_acked = asyncio.Event()
        self.answer_acked = asyncio.Event()
        self.gathering: Gathering | None = None
        self._pending: list[RTCIceCandidate | None] = []  # None: end-of-candidates
        self._remote_set = False
        self._described = False  # our offer or answer has been sent
        self._unsent: list[Candidate | None] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats_sent = False
        self.pc = RTCPeerConnection(rtc_configuration(ice))
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    # ---- what tests and tools read -----------------------------------------

    @property
    def state(self) -> str:
        if self.failure is not None:
            return "failed"
        if self.end_reason is not None:
            return "ended"
        return str(self.pc.connectionState)

    def report(self) -> CallReport:
        connect_ms = None
        if self.connected_at is not None:
            connect_ms = round((self.connected_at - self.started) * 1000)
        return CallReport(
            role=self.role,
            partner_name=self.partner_name,
            policy=self.ice.policy,
            state=self.state,
            failure=self.failure,
            local_candidate=self.pair[0] if self.pair else None,
            remote_candidate=self.pair[1] if self.pair else None,
            video_frames=self.received["video"].frames,
            audio_frames=self.received["audio"].frames,
            audio_level=self.received["audio"].peak_level,
            connect_ms=connect_ms,
            signaled=dict(self.signaled),
        )

    async def wait_connected(self, within: float) -> bool:
        """True once connected; False when the call failed or ended first, or on timeout."""
        waiters = [
            asyncio.ensure_future(self.connected.wait()),
            asyncio.ensure_future(self.done.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not self.connected.is_set() and not self.done.is_set():
            self.fail(f"not connected within {within:g} s")
        return self.connected.is_set() and self.failure is None

    async def wait_media(self, *, video: int = 1, audio: int = 1, within: float = 10.0) -> bool:
        """True once at least ``video`` and ``audio`` frames arrived, within ``within`` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and self.failure is None:
            got = self.received
            if got["video"].frames >= video and got["audio"].frames >= audio:
                return True
            await asyncio.sleep(0.05)
        return False

    # ---- negotiation (driven by the peer's event task) ------------------------

    async def begin(self) -> None:
        """Add our tracks; as the initiator, gather, then create and send the offer."""
        if self.role != "initiator":
            return
        kinds: set[str] = set()
        for track in self.media.local_tracks():
            self.pc.addTrack(track)
            kinds.add(track.kind)
        for kind in KINDS:
            if kind not in kinds:
                # echo: sendrecv with no track yet (the partner's arrives with the answer)
                direction = "sendrecv" if self.media.mode == "echo" else "recvonly"
                self.pc.addTransceiver(kind, direction=direction)
        if not await self._gather():
            return
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send_description(ClientEvent.SIGNAL_OFFER, "offer")

    async def on_offer(self, offer: Any) -> None:
        if self.role != "receiver" or self.pc.signalingState != "stable":
            log.debug("ignored an offer in role %s, state %s", self.role, self.pc.signalingState)
            return
        remote = description(offer, "offer")
        self.signaled.update(signaled_types(remote.sdp))
        await self.pc.setRemoteDescription(remote)
        await self._remote_description_set()
        offered = {t.kind for t in self.pc.getTransceivers()}
        for track in self.media.local_tracks():
            if track.kind in offered:
                self.pc.addTrack(track)
            else:
                track.stop()  # the answer cannot add an m-line the offer lacks
        if not await self._gather():
            return
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._send_description(ClientEvent.SIGNAL_ANSWER, "answer")

    async def on_answer(self, answer: Any) -> None:
        if self.pc.signalingState != "have-local-offer":
            return  # duplicate or stale
        remote = description(answer, "answer")
        self.signaled.update(signaled_types(remote.sdp))
        await self.pc.setRemoteDescription(remote)
        await self._remote_description_set()

    async def on_candidates(self, inits: list[Any]) -> None:
        for init in inits:
            candidate = None if is_end_of_candidates(init) else candidate_from_init(init)
            if candidate is None and not is_end_of_candidates(init):
                continue
            if candidate is not None:
                self.signaled[str(candidate.type)] += 1
            if not self._remote_set:
                if len(self._pending) < MAX_PENDING_CANDIDATES:
                    self._pending.append(candidate)
                continue
            await self._add_candidate(candidate)

    def fail(self, why: str) -> None:
        """Mark the call failed and, like the page, report the failure once (``call-stats``)."""
        if self.failure is None and self.end_reason is None:
            self.failure = why
            log.info("call with %s failed: %s", self.partner_name, why)
            if not self._stats_sent:
                self._stats_sent = True
                self._spawn(self.peer.emit(ClientEvent.CALL_STATS, CallFailed(outcome="failed")))
        self.done.set()

    def end(self, reason: str) -> None:
        if self.end_reason is None and self.failure is None:
            self.end_reason = reason
        self.done.set()

    async def close(self) -> None:
        self.end("closed")
        if self.gathering is not None:
            self.gathering.close()
        for task in self._tasks:
            task.cancel()
        await self.pc.close()

    # ---- internals --------------------------------------------------------------

    async def _gather(self) -> bool:
        """Start gathering; False (and the call failed) when no candidate can be had."""
        self.gathering = Gathering(connection_of(self.pc), self.ice, self._on_local_candidate)
        await self.gathering.start()
        if self.gathering.connection.local_candidates:
            return True
        why = "no local ICE candidate"
        if self.ice.policy == "relay":
            tried = "; ".join(self.gathering.failures) or "no TURN URL"
            why += f" (relay only: the TURN allocation failed on every URL: {tried}; "
            why += "check the TURN URLs and secret)"
        self.fail(why)
        return False

    async def _send_description(self, event: ClientEvent, kind: str) -> None:
        desc = self.pc.localDescription
        sdp = without_end_of_candidates(desc.sdp)
        await self.peer.emit(event, {kind: {"type": desc.type, "sdp": sdp}, **self._of_call})
        self._described = True
        unsent, self._unsent = self._unsent, []
        for candidate in unsent:
            if candidate is None or candidate.to_sdp() not in sdp:
                await self._trickle(candidate)

    async def _on_local_candidate(self, candidate: Candidate | None) -> None:
        if not self._described:
            self._unsent.append(candidate)  # after the offer or answer, in order
            return
        await self._trickle(candidate)

    async def _trickle(self, candidate: Candidate | None) -> None:
        mid = self.pc.getTransceivers()[0].mid if self.pc.getTransceivers() else None
        candidate_event = {"candidate": candidate_init(candidate, mid), **self._of_call}
        await self.peer.emit(ClientEvent.SIGNAL_ICE_CANDIDATE, candidate_event)

    async def _remote_description_set(self) -> None:
        self._remote_set = True
        pending, self._pending = self._pending, []
        for candidate in pending:
            await self._add_candidate(candidate)

    async def _add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception as exc:  # a bad candidate must not end the call
            log.debug("addIceCandidate failed: %r", exc)

    def _on_track(self, track: MediaStreamTrack) -> None:
        metered = MeteredTrack(track, self.received[track.kind])
        if self.media.mode == "echo":
            # The sender pulls the partner's frames through the meter and sends them back.
            self.pc.addTrack(metered)
        else:
            self._spawn(drain(metered))

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
            self._spawn(self._after_connected())
        elif state == "failed":
            self.fail("ICE or DTLS failed")

    async def _after_connected(self) -> None:
        """Learn the selected pair's real types (``connected`` is set then, so a report
        taken once connected has them), then, like the page, once media flows, report
        time to media and the local candidate type (``call-stats``)."""
        self.pair = await pair_types(connection_of(self.pc))
        self.connected.set()
        while not self.done.is_set():
            if self.received["video"].frames or self.received["audio"].frames:
                if self.pair is not None and not self._stats_sent:
                    self._stats_sent = True
                    ms = round((time.monotonic() - self.started) * 1000)
                    stats = {"timeToMediaMs": min(ms, 600_000), "candidateType": self.pair[0]}
                    await self.peer.emit(ClientEvent.CALL_STATS, {**stats, "rttMs": None})
                return
            await asyncio.sleep(0.1)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
