"""A Python peer that joins a randomchat deployment exactly as the page does.

Theory of operation. A ``Peer`` holds one Socket.IO connection to ``/random-chat``
(token from ``POST /api/session`` unless one is given) and at most one ``Call``
(``call``). Every server event goes into one queue and one task handles them in order,
as the page's single-threaded handlers do: ``match-found`` closes the previous call and
opens a new one with the ``iceServers`` and ``iceTransportPolicy`` it carries (``all``
when absent); the call negotiates, gathers and trickles like a browser (``call``,
``gather``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio  # type: ignore[import-untyped]

from randomchat.client.call import Call, CallReport
from randomchat.client.media import Media
from randomchat.client.rtc import candidate_from_init, rtc_configuration
from randomchat.client.session import IceSettings, JoinError, guest_session
from randomchat.protocol import NAMESPACE, ClientEvent, SearchAction, SearchRequest, ServerEvent

# Re-exported: the bots, the doctor and the tests import these from here.
__all__ = [
    "Call",
    "CallReport",
    "Media",
    "Peer",
    "candidate_from_init",
    "rtc_configuration",
]

log = logging.getLogger("randomchat.client")

CONNECT_TIMEOUT = 10.0
# Server events waiting to be handled; the queue never holds more than a call's worth.
MAX_QUEUED_EVENTS = 1000
# The server events of a call's negotiation: one that cannot be handled fails the call.
_SIGNALS = frozenset(e for e in ServerEvent if e.startswith("signal-"))
_PARTNER_GONE = (ServerEvent.PARTNER_LEFT, ServerEvent.PARTNER_DISCONNECTED)
_SEARCHES = (ClientEvent.FIND_PARTNER, ClientEvent.NEXT)


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
        self._action: SearchAction = ClientEvent.FIND_PARTNER
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

    async def search(self, action: SearchAction = ClientEvent.FIND_PARTNER) -> None:
        """Send ``find-partner`` (or ``next``) with our interests and privacy request."""
        self.searching = True
        self._action = action
        payload = SearchRequest()
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
        await self.emit(ClientEvent.LEAVE)
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

    async def emit(self, event: ClientEvent, data: Any = None) -> None:
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
                if self.call is not None and event in _SIGNALS:
                    self.call.fail(f"{event}: {exc}")

    async def _handle(self, event: str, data: Any) -> None:
        call = self.call
        body = data if isinstance(data, dict) else {}
        if event == ServerEvent.MATCH_FOUND:
            await self._on_match(body)
        elif event == ServerEvent.SIGNAL_OFFER and call is not None:
            await call.on_offer(body.get("offer"))
        elif event == ServerEvent.SIGNAL_ANSWER and call is not None:
            await call.on_answer(body.get("answer"))
        elif event == ServerEvent.SIGNAL_OFFER_ACK and call is not None:
            call.offer_acked.set()
        elif event == ServerEvent.SIGNAL_ANSWER_ACK and call is not None:
            call.answer_acked.set()
        elif event == ServerEvent.SIGNAL_ICE_CANDIDATE and call is not None:
            await call.on_candidates([body.get("candidate")])
        elif event == ServerEvent.SIGNAL_ICE_CANDIDATES_BATCH and call is not None:
            candidates = body.get("candidates")
            await call.on_candidates(candidates if isinstance(candidates, list) else [])
        elif event in _PARTNER_GONE and call is not None:
            call.end(str(body.get("reason", "disconnect")))
        elif event == ServerEvent.RATE_LIMITED:
            self._on_rate_limited(body)
        elif event == ServerEvent.ERROR:
            self.errors.append(body)
            log.warning("server error: %s", body.get("message"))
        elif event == ServerEvent.BANNED:
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
            ice=self.ice_settings(body),
            media=self.media,
            call_id=body.get("callId") if isinstance(body.get("callId"), str) else None,
        )
        self.call = call
        log.info("matched with %s as %s (policy %s)", call.partner_name, role, call.ice.policy)
        if self._calls.full():
            self._calls.get_nowait()  # superseded: that call was closed by this match
        self._calls.put_nowait(call)
        if self.on_call is not None:
            self.on_call(call)
        await call.begin()

    def ice_settings(self, match_found: dict[str, Any]) -> IceSettings:
        """The ICE servers and policy a call uses: what ``match-found`` carries."""
        return IceSettings.from_payload(match_found)

    def _on_rate_limited(self, body: dict[str, Any]) -> None:
        if body.get("event") not in _SEARCHES or not self.searching:
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
