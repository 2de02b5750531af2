"""A Python peer that joins a randomchat deployment exactly as the page does.

Theory of operation. A ``Peer`` holds one Socket.IO connection to ``/random-chat``
(token from ``POST /api/session`` unless one is given) and at most one ``Call``.
Every server event goes into one queue and one task handles them in order, as the
page's single-threaded handlers do: ``match-found`` closes the previous call and
opens a new ``RTCPeerConnection`` with the ``iceServers`` and
``iceTransportPolicy`` it carries (``all`` when absent); the ``initiator`` offers,
the ``receiver`` answers; candidates that arrive before the remote description
wait in the call, as on the page.

aiortc differs from a browser in two ways that matter here:

- it gathers every candidate inside ``setLocalDescription`` and puts them in the
  SDP, so this peer sends no trickled candidates of its own (the page applies the
  candidates it finds in the SDP); it does apply trickled candidates from the
  partner (``signal-ice-candidate`` and ``signal-ice-candidates-batch``);
- it uses the first STUN and the first TURN URL only, and it implements
  ``iceTransportPolicy: relay`` itself (aioice gathers only relayed candidates),
  so no filtering is needed here. When relay-only gathering yields no candidate
  (a refused TURN allocation) aiortc never starts ICE and would wait forever:
  the call is marked failed at once instead.

The selected candidate pair is read from aioice's nominated pair, because
aiortc's ``getStats()`` has no candidate-pair entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import socketio  # type: ignore[import-untyped]
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from randomchat.client.media import MeteredTrack, PatternTrack, Received, ToneTrack, drain
from randomchat.client.session import NAMESPACE, IceSettings, JoinError, guest_session

log = logging.getLogger("randomchat.client")

CONNECT_TIMEOUT = 10.0
# Trickled candidates kept per call while the remote description is not set yet;
# beyond this a partner is flooding us and the rest are dropped.
MAX_PENDING_CANDIDATES = 200
# Server events waiting to be handled; the queue never holds more than a call's worth.
MAX_QUEUED_EVENTS = 1000
KINDS = ("audio", "video")

MediaMode = Literal["pattern", "file", "echo", "none"]
SearchAction = Literal["find-partner", "next"]


@dataclass(frozen=True, slots=True)
class Media:
    """What a peer sends: a test pattern and tone, a file, the partner's own media, or nothing."""

    mode: MediaMode = "pattern"
    path: str | None = None
    width: int = 320
    height: int = 240

    def local_tracks(self) -> list[MediaStreamTrack]:
        """Fresh tracks for one call (``echo`` and ``none`` have none of their own)."""
        if self.mode == "pattern":
            return [ToneTrack(), PatternTrack(self.width, self.height)]
        if self.mode == "file":
            assert self.path is not None
            player = MediaPlayer(self.path, loop=True)
            return [t for t in (player.audio, player.video) if t is not None]
        return []


@dataclass(frozen=True, slots=True)
class CallReport:
    """What a call achieved, for the bot's output, the doctor and the tests."""

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

    def line(self) -> str:
        pair = f"{self.local_candidate or '?'} -> {self.remote_candidate or '?'}"
        outcome = self.state if self.failure is None else f"{self.state} ({self.failure})"
        connected = f" in {self.connect_ms} ms" if self.connect_ms is not None else ""
        return (
            f"{self.partner_name} [{self.role}, policy {self.policy}]: {outcome}{connected}; "
            f"pair {pair}; received {self.video_frames} video frames, "
            f"{self.audio_frames} audio frames (peak level {self.audio_level:.3f})"
        )


def candidate_from_init(init: Any) -> RTCIceCandidate | None:
    """An aiortc candidate from a browser's ``RTCIceCandidateInit``; ``None`` if unusable."""
    if not isinstance(init, dict):
        return None
    text = init.get("candidate")
    if not isinstance(text, str) or not text.strip():
        return None  # end-of-candidates, or junk
    text = text.strip().removeprefix("a=").removeprefix("candidate:")
    try:
        candidate = candidate_from_sdp(text)
    except Exception:  # aiortc asserts on short lines and raises on bad numbers
        return None
    mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0  # bundled: every m-line shares one transport
    return candidate


def rtc_configuration(ice: IceSettings) -> RTCConfiguration:
    """The ``RTCConfiguration`` for ``match-found``'s ``iceServers`` and policy."""
    servers = []
    for entry in ice.servers:
        urls = entry.get("urls")
        if not isinstance(urls, str | list):
            continue
        servers.append(
            RTCIceServer(
                urls=urls,
                username=entry.get("username"),
                credential=entry.get("credential"),
            )
        )
    policy = RTCIceTransportPolicy.RELAY if ice.policy == "relay" else RTCIceTransportPolicy.ALL
    # An empty list, not None: aiortc would otherwise fall back to Google's STUN server.
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def selected_pair(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """(local type, remote type) of the nominated pair, or ``None`` before ICE completes.

    Reads aioice's private ``_nominated`` map: aiortc's stats have no candidate pairs.
    """
    for transceiver in pc.getTransceivers():
        connection = getattr(transceiver.receiver.transport.transport, "_connection", None)
        nominated = getattr(connection, "_nominated", None) or {}
        pair = nominated.get(1)
        if pair is not None:
            return str(pair.local_candidate.type), str(pair.remote_candidate.type)
    return None


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
    ) -> None:
        self.peer = peer
        self.role = role
        self.partner_name = partner_name
        self.ice = ice
        self.media = media
        self.started = time.monotonic()
        self.connected_at: float | None = None
        self.received = {kind: Received() for kind in KINDS}
        self.failure: str | None = None
        self.end_reason: str | None = None
        self.connected = asyncio.Event()
        self.done = asyncio.Event()  # failed, ended by either side, or closed
        self.offer_acked = asyncio.Event()
        self.answer_acked = asyncio.Event()
        self._pending: list[RTCIceCandidate] = []
        self._remote_set = False
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
        pair = selected_pair(self.pc)
        connect_ms = None
        if self.connected_at is not None:
            connect_ms = round((self.connected_at - self.started) * 1000)
        return CallReport(
            role=self.role,
            partner_name=self.partner_name,
            policy=self.ice.policy,
            state=self.state,
            failure=self.failure,
            local_candidate=pair[0] if pair else None,
            remote_candidate=pair[1] if pair else None,
            video_frames=self.received["video"].frames,
            audio_frames=self.received["audio"].frames,
            audio_level=self.received["audio"].peak_level,
            connect_ms=connect_ms,
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
        """Add our tracks; as the initiator, create and send the offer."""
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
        await self.pc.setLocalDescription(await self.pc.createOffer())
        if self._check_gathered():
            await self.peer.emit("signal-offer", {"offer": self._local_description()})

    async def on_offer(self, offer: Any) -> None:
        if self.role != "receiver" or self.pc.signalingState != "stable":
            log.debug("ignored an offer in role %s, state %s", self.role, self.pc.signalingState)
            return
        await self.pc.setRemoteDescription(_description(offer, "offer"))
        await self._remote_description_set()
        offered = {t.kind for t in self.pc.getTransceivers()}
        for track in self.media.local_tracks():
            if track.kind in offered:
                self.pc.addTrack(track)
            else:
                track.stop()  # the answer cannot add an m-line the offer lacks
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        if self._check_gathered():
            await self.peer.emit("signal-answer", {"answer": self._local_description()})

    async def on_answer(self, answer: Any) -> None:
        if self.pc.signalingState != "have-local-offer":
            return  # duplicate or stale
        await self.pc.setRemoteDescription(_description(answer, "answer"))
        await self._remote_description_set()

    async def on_candidates(self, inits: list[Any]) -> None:
        for init in inits:
            candidate = candidate_from_init(init)
            if candidate is None:
                continue
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
                self._spawn(self.peer.emit("call-stats", {"outcome": "failed"}))
        self.done.set()

    def end(self, reason: str) -> None:
        if self.end_reason is None and self.failure is None:
            self.end_reason = reason
        self.done.set()

    async def close(self) -> None:
        self.end("closed")
        for task in self._tasks:
            task.cancel()
        await self.pc.close()

    # ---- internals --------------------------------------------------------------

    def _local_description(self) -> dict[str, str]:
        desc = self.pc.localDescription
        return {"type": desc.type, "sdp": desc.sdp}

    def _check_gathered(self) -> bool:
        """Fail at once when gathering found no candidate (aiortc would wait forever)."""
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.transport.transport.iceGatherer.getLocalCandidates():
                return True
        why = "no local ICE candidate"
        if self.ice.policy == "relay":
            why += " (relay only: the TURN allocation failed; check the TURN URL and secret)"
        self.fail(why)
        return False

    async def _remote_description_set(self) -> None:
        self._remote_set = True
        pending, self._pending = self._pending, []
        for candidate in pending:
            await self._add_candidate(candidate)

    async def _add_candidate(self, candidate: RTCIceCandidate) -> None:
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
        if state == "connected" and not self.connected.is_set():
            self.connected_at = time.monotonic()
            self.connected.set()
            self._spawn(self._send_call_stats())
        elif state == "failed":
            self.fail("ICE or DTLS failed")

    async def _send_call_stats(self) -> None:
        """Like the page: once media flows, report time to media and the candidate type."""
        while not self.done.is_set():
            if self.received["video"].frames or self.received["audio"].frames:
                pair = selected_pair(self.pc)
                if pair is not None and not self._stats_sent:
                    self._stats_sent = True
                    ms = round((time.monotonic() - self.started) * 1000)
                    stats = {"timeToMediaMs": min(ms, 600_000), "candidateType": pair[0]}
                    await self.peer.emit("call-stats", {**stats, "rttMs": None})
                    return
            await asyncio.sleep(0.1)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _description(raw: Any, kind: str) -> RTCSessionDescription:
    if not isinstance(raw, dict) or raw.get("type") != kind or not isinstance(raw.get("sdp"), str):
        raise ValueError(f"malformed {kind}")
    return RTCSessionDescription(sdp=raw["sdp"], type=kind)


@dataclass
class Peer:
    """One signaling connection that takes part in calls, one at a time.

    ``on_call`` is called with each new ``Call`` (from the event task); ``calls``
    receives them too, for code that waits with ``next_call``.
    """

    url: str
    username: str = "Python peer"
    token: str | None = None
    media: Media = field(default_factory=Media)
    interests: tuple[str, ...] = ()
    strict: bool = False
    privacy: bool = False
    on_call: Callable[[Call], None] | None = None

    call: Call | None = field(default=None, init=False)
    user_id: str | None = field(default=None, init=False)
    searching: bool = field(default=False, init=False)
    closed: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    errors: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._sio = socketio.AsyncClient(reconnection=False)
        self._events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(MAX_QUEUED_EVENTS)
        # Only the newest call is kept for ``next_call``: a new match ends the previous
        # call, so a caller that only uses ``on_call`` never piles up closed calls.
        self._calls: asyncio.Queue[Call] = asyncio.Queue(1)
        self._pump: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._action: SearchAction = "find-partner"
        self._sio.on("*", self._enqueue, namespace=NAMESPACE)
        self._sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)

    async def connect(self) -> None:
        """Get a guest token unless given one, then connect to ``/random-chat``."""
        if self.token is None:
            session = await guest_session(self.url, self.username)
            self.token, self.user_id = session.token, session.user_id
        try:
            await self._sio.connect(
                self.url,
                namespaces=[NAMESPACE],
                auth={"token": self.token},
                transports=["websocket"],
                wait_timeout=CONNECT_TIMEOUT,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise JoinError(f"Socket.IO connect to {NAMESPACE} failed: {exc}") from exc
        self._pump = asyncio.ensure_future(self._handle_events())

    async def search(self, action: SearchAction = "find-partner") -> None:
        """Send ``find-partner`` (or ``next``) with our interests and privacy request."""
        self.searching = True
        self._action = action
        payload: dict[str, Any] = {}
        if self.interests:
            payload["interests"] = list(self.interests)
            payload["strict"] = self.strict
        if self.privacy:
            payload["privacy"] = True
        if self.call is not None:
            # ``next`` ends the call on the server; after the partner left it is over anyway.
            await self.call.close()
            self.call = None
        await self.emit(action, payload or None)

    async def next_call(self) -> Call:
        """The next call ``match-found`` opens (wrap in ``asyncio.timeout`` to bound it)."""
        return await self._calls.get()

    async def leave(self) -> None:
        self.searching = False
        await self.emit("leave")
        if self.call is not None:
            await self.call.close()
            self.call = None

    async def close(self) -> None:
        """Close the call, the socket and the event task."""
        if self._retry is not None:
            self._retry.cancel()
        if self.call is not None:
            await self.call.close()
            self.call = None
        with contextlib.suppress(Exception):
            await self._sio.disconnect()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        self.closed.set()

    async def emit(self, event: str, data: Any = None) -> None:
        if not self._sio.connected:
            return
        if data is None:
            await self._sio.emit(event, namespace=NAMESPACE)
        else:
            await self._sio.emit(event, data, namespace=NAMESPACE)

    # ---- server events -------------------------------------------------------------

    async def _enqueue(self, event: str, *args: Any) -> None:
        data = args[0] if args else None
        try:
            self._events.put_nowait((event, data))
        except asyncio.QueueFull:
            log.warning("dropped %s: %d server events waiting", event, MAX_QUEUED_EVENTS)

    async def _on_disconnect(self, *_: Any) -> None:
        if self.call is not None:
            self.call.end("server-disconnected")
        self.closed.set()

    async def _handle_events(self) -> None:
        while True:
            event, data = await self._events.get()
            try:
                await self._handle(event, data)
            except Exception as exc:
                # A malformed or unexpected message fails that call only.
                log.warning("handling %s failed: %r", event, exc)
                if self.call is not None and event.startswith("signal-"):
                    self.call.fail(f"{event}: {exc}")

    async def _handle(self, event: str, data: Any) -> None:
        call = self.call
        body = data if isinstance(data, dict) else {}
        if event == "match-found":
            await self._on_match(body)
        elif event == "signal-offer" and call is not None:
            await call.on_offer(body.get("offer"))
        elif event == "signal-answer" and call is not None:
            await call.on_answer(body.get("answer"))
        elif event == "signal-offer-ack" and call is not None:
            call.offer_acked.set()
        elif event == "signal-answer-ack" and call is not None:
            call.answer_acked.set()
        elif event == "signal-ice-candidate" and call is not None:
            await call.on_candidates([body.get("candidate")])
        elif event == "signal-ice-candidates-batch" and call is not None:
            candidates = body.get("candidates")
            await call.on_candidates(candidates if isinstance(candidates, list) else [])
        elif event in ("partner-left", "partner-disconnected") and call is not None:
            call.end(str(body.get("reason", "disconnect")))
        elif event == "rate-limited":
            self._on_rate_limited(body)
        elif event == "error":
            self.errors.append(body)
            log.warning("server error: %s", body.get("message"))
        elif event == "banned":
            log.warning("banned until %s: %s", body.get("until"), body.get("reason"))

    async def _on_match(self, body: dict[str, Any]) -> None:
        self.searching = False
        if self.call is not None:
            await self.call.close()
        role = "initiator" if body.get("role") == "initiator" else "receiver"
        partner = body.get("partnerName")
        call = Call(
            self,
            role=role,
            partner_name=partner if isinstance(partner, str) and partner else "Stranger",
            ice=IceSettings.from_payload(body),
            media=self.media,
        )
        self.call = call
        log.info("matched with %s as %s (policy %s)", call.partner_name, role, call.ice.policy)
        if self._calls.full():
            self._calls.get_nowait()  # superseded: that call was closed by this match
        self._calls.put_nowait(call)
        if self.on_call is not None:
            self.on_call(call)
        await call.begin()

    def _on_rate_limited(self, body: dict[str, Any]) -> None:
        if body.get("event") not in ("find-partner", "next") or not self.searching:
            return
        retry_ms = body.get("retryAfter")
        delay = retry_ms / 1000 if isinstance(retry_ms, int | float) and retry_ms >= 0 else 1.0
        if self._retry is not None:
            self._retry.cancel()
        self._retry = asyncio.get_running_loop().call_later(
            min(delay, 60.0), lambda: asyncio.ensure_future(self._retry_search())
        )

    async def _retry_search(self) -> None:
        if self.searching:
            await self.search(self._action)
