"""The lobby: sequences store calls around core decisions and returns effects.

Each public method handles one client event for one connection and returns the
effects to carry out, as values: ``Emit`` (send an event to a sid) and
``FlushLater`` (flush that sid's pending ICE candidates on the next loop turn).
It imports nothing from Socket.IO; the gateway turns effects into emits.

Node-local state lives here (per-connection metrics, rate-limit buckets,
pending candidates), because a socket lives on exactly one process; the queue
and the pairs live in the store, which may be shared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from randomchat.auth import Identity
from randomchat.clock import Clock
from randomchat.core import signaling
from randomchat.core.batching import CandidateBatcher
from randomchat.core.quality import ConnectionMetrics
from randomchat.core.ratelimit import Limit, RateLimiter
from randomchat.core.state import Phase
from randomchat.errors import IllegalMove, InvalidPayload
from randomchat.metrics import Metrics
from randomchat.store import Matched, Member, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Emit:
    to: str
    event: str
    data: Any = None  # None: the event carries no payload (the acks)


@dataclass(frozen=True, slots=True)
class FlushLater:
    sid: str


Effect = Emit | FlushLater


@dataclass(slots=True)
class _Local:
    user_id: str
    username: str
    metrics: ConnectionMetrics
    stats_due: bool = field(default=False)  # one call-stats report per call


class Lobby:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        *,
        find_limit: Limit,
        heartbeat_interval: float,
        ice_servers: list[dict[str, Any]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.heartbeat_interval = heartbeat_interval
        self.ice_servers = ice_servers
        self._find_limiter = RateLimiter(find_limit)
        self._batcher = CandidateBatcher()
        self._local: dict[str, _Local] = {}

    # -- lifecycle -------------------------------------------------------

    async def connect(self, sid: str, identity: Identity) -> list[Effect]:
        now = self.clock.monotonic()
        await self.store.join(Member(sid, identity.user_id, identity.username))
        self._local[sid] = _Local(identity.user_id, identity.username, ConnectionMetrics.start(now))
        return [Emit(sid, "connection-quality", {"quality": "excellent"})]

    async def disconnect(self, sid: str) -> list[Effect]:
        local = self._local.pop(sid, None)
        self._batcher.take(sid)
        partner = await self.store.part(sid)
        if local is not None and not any(o.user_id == local.user_id for o in self._local.values()):
            self._find_limiter.prune(self.clock.monotonic())
        if partner is None:
            return []
        self._batcher.take(partner.sid)
        return [Emit(partner.sid, "partner-disconnected", {})]

    def housekeeping(self) -> None:
        """Drop state that has become equivalent to none (full rate-limit buckets)."""
        self._find_limiter.prune(self.clock.monotonic())

    # -- searching -------------------------------------------------------

    async def find_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        signaling.bare("find-partner", args)
        local = self._count(sid)
        limited = self._rate_limited(sid, local, "find-partner")
        if limited:
            return limited
        return await self._search(sid)

    async def next(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        """End the current call (if any) and search again at once."""
        signaling.bare("next", args)
        local = self._count(sid)
        phase = await self.store.phase_of(sid)
        if phase is Phase.WAITING:  # already searching: keep the place in the queue
            position = await self.store.position_of(sid)
            return [self._waiting(sid, position or 1)]
        limited = self._rate_limited(sid, local, "next")
        if limited:
            return limited
        effects = await self._end(sid, "next")
        return effects + await self._search(sid)

    async def leave(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        signaling.bare("leave", args)
        self._count(sid)
        return await self._end(sid, "leave")

    async def _end(self, sid: str, reason: str) -> list[Effect]:
        self._batcher.take(sid)
        partner = await self.store.leave(sid)
        if partner is None:
            return []
        self._batcher.take(partner.sid)
        log.info("call ended", extra={"sid": sid, "reason": reason})
        return [Emit(partner.sid, "partner-left", {"reason": reason})]

    async def _search(self, sid: str) -> list[Effect]:
        now = self.clock.monotonic()
        try:
            result = await self.store.search(sid, now)
        except IllegalMove as exc:
            return [Emit(sid, "error", {"message": exc.message})]
        if not isinstance(result, Matched):
            return [self._waiting(sid, result.position)]
        partner = result.partner
        me = self._local[sid]
        me.stats_due = True
        other = self._local.get(partner.sid)
        if other is not None:
            other.stats_due = True
        self.metrics.matches.inc()
        self.metrics.wait_time.observe(result.partner_waited)
        stamp = self.clock.wall_ms()
        log.info("matched", extra={"sid": sid, "partner_sid": partner.sid})
        return [
            Emit(
                sid, "match-found", self._match(role="initiator", name=partner.username, ts=stamp)
            ),
            Emit(
                partner.sid, "match-found", self._match(role="receiver", name=me.username, ts=stamp)
            ),
        ]

    def _match(self, *, role: str, name: str, ts: int) -> dict[str, Any]:
        return {"role": role, "partnerName": name, "timestamp": ts, "iceServers": self.ice_servers}

    def _waiting(self, sid: str, position: int) -> Emit:
        payload = {"queuePosition": position, "timestamp": self.clock.wall_ms()}
        return Emit(sid, "waiting-for-partner", payload)

    # -- signaling -------------------------------------------------------

    async def offer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._relay_description(sid, "signal-offer", signaling.offer(args))

    async def answer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._relay_description(sid, "signal-answer", signaling.answer(args))

    async def _relay_description(self, sid: str, event: str, data: dict[str, Any]) -> list[Effect]:
        self._count(sid)
        partner = await self.store.partner_of(sid)
        if partner is None:
            log.debug("signal without partner dropped", extra={"sid": sid, "signal": event})
            return []
        self.metrics.signals.labels(event.removeprefix("signal-")).inc()
        # Candidates sent before this description leave before it: order is kept per sender.
        return [*self._flush(sid, partner), Emit(partner, event, data), Emit(sid, event + "-ack")]

    async def ice_candidate(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        candidate = signaling.ice_candidate(args)
        self._count(sid)
        if await self.store.partner_of(sid) is None:
            return []
        self.metrics.signals.labels("ice-candidate").inc()
        return [FlushLater(sid)] if self._batcher.add(sid, candidate) else []

    async def flush_candidates(self, sid: str) -> list[Effect]:
        partner = await self.store.partner_of(sid)
        if partner is None:
            self._batcher.take(sid)
            return []
        return self._flush(sid, partner)

    def _flush(self, sid: str, partner: str) -> list[Effect]:
        pending = self._batcher.take(sid)
        if not pending:
            return []
        if len(pending) == 1:
            return [Emit(partner, "signal-ice-candidate", {"candidate": pending[0]})]
        return [Emit(partner, "signal-ice-candidates-batch", {"candidates": pending})]

    # -- health and telemetry ----------------------------------------------

    async def heartbeat(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        sent_at = signaling.heartbeat(args)
        local = self._count(sid)
        effects: list[Effect] = []
        changed = local.metrics.heartbeat(self.clock.monotonic(), self.heartbeat_interval)
        if changed is not None:
            effects.append(Emit(sid, "connection-quality", {"quality": changed}))
        ack = {"sentAt": sent_at, "serverTime": self.clock.wall_ms()}
        effects.append(Emit(sid, "heartbeat-ack", ack))
        return effects

    async def call_stats(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        time_to_media_ms, candidate_type, rtt_ms = signaling.call_stats(args)
        local = self._count(sid)
        if not local.stats_due:
            raise InvalidPayload("call-stats", "one report per call, after a match")
        local.stats_due = False
        self.metrics.time_to_media.observe(time_to_media_ms / 1000)
        self.metrics.candidate_types.labels(candidate_type).inc()
        if rtt_ms is not None:
            self.metrics.call_rtt.observe(rtt_ms / 1000)
        return []

    # -- helpers -----------------------------------------------------------

    def metrics_of(self, sid: str) -> ConnectionMetrics | None:
        local = self._local.get(sid)
        return local.metrics if local is not None else None

    def local_sizes(self) -> dict[str, int]:
        """How much node-local state is held, for leak checks."""
        return {
            "connections": len(self._local),
            "pending_batches": len(self._batcher),
            "rate_limit_buckets": len(self._find_limiter),
        }

    def _count(self, sid: str) -> _Local:
        local = self._local[sid]
        local.metrics.count_message()
        return local

    def _rate_limited(self, sid: str, local: _Local, action: str) -> list[Effect]:
        wait = self._find_limiter.take(local.user_id, self.clock.monotonic())
        if not wait:
            return []
        self.metrics.rate_limited.labels(action).inc()
        retry_ms = max(1, round(wait * 1000))
        message = "Please wait before searching again"
        return [Emit(sid, "rate-limited", {"message": message, "retryAfter": retry_ms})]
