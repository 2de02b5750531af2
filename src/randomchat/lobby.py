"""The lobby: sequences store and database calls around core decisions, returns effects.

Each public method handles one client event for one connection and returns the
effects to carry out, as values: ``Emit`` (send an event to a sid),
``FlushLater`` (flush that sid's pending ICE candidates on the next loop turn)
and ``Kick`` (tell a banned sid and close it). It imports nothing from
Socket.IO; the gateway turns effects into emits.

Node-local state lives here (per-connection metrics and call records, rate
limit buckets, pending candidates, who met whom), because a socket lives on
exactly one process; the queue and the pairs live in the store, which may be
shared; reports, bans and blocks live in the database.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from randomchat.auth import Identity
from randomchat.clock import Clock
from randomchat.core import requests, signaling
from randomchat.core.batching import CandidateBatcher
from randomchat.core.history import PairHistory
from randomchat.core.matching import Seeker
from randomchat.core.moderation import BanList
from randomchat.core.quality import ConnectionMetrics
from randomchat.core.ratelimit import RateLimiter
from randomchat.core.requests import SearchOptions
from randomchat.core.state import Phase
from randomchat.db import Ban, ChatLine, Database
from randomchat.errors import Banned, IllegalMove, TooManyConnections
from randomchat.metrics import Metrics
from randomchat.moderation import record_report
from randomchat.rules import Rules
from randomchat.store import Matched, Member, SearchResult, Store

log = logging.getLogger(__name__)

CHAT_LINES_KEPT = 20
BAN_OVERLAP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Emit:
    to: str
    event: str
    data: Any = None  # None: the event carries no payload (the acks)


@dataclass(frozen=True, slots=True)
class FlushLater:
    sid: str


@dataclass(frozen=True, slots=True)
class Kick:
    sid: str
    ban: Ban


Effect = Emit | FlushLater | Kick


@dataclass(slots=True)
class _Call:
    """The current or last call of a connection, kept until its next match for reports."""

    partner_sid: str
    partner_user: str
    chat: deque[ChatLine] = field(default_factory=lambda: deque(maxlen=CHAT_LINES_KEPT))
    reported: bool = False  # one report per reporter per call
    relay: bool = False  # relay-only (privacy mode): only relay candidates are passed on
    blocked: bool = False  # blocking again changes nothing: no second database write


@dataclass(slots=True)
class _Local:
    user_id: str
    username: str
    network: str  # the client's IPv4 address or IPv6 /64, for the per-address cap
    token_expires: float | None  # Unix seconds; TURN credentials never outlive the token
    metrics: ConnectionMetrics
    excluded: set[str]  # users blocked by or blocking this user
    options: SearchOptions = SearchOptions()
    call: _Call | None = None
    stats_due: bool = False  # one call-stats report per call


def _relay_only(local: _Local, partner: str) -> bool:
    """Whether the current call of ``local`` (with ``partner``) is relay-only."""
    call = local.call
    return call is not None and call.partner_sid == partner and call.relay


class Lobby:
    def __init__(
        self, store: Store, db: Database, clock: Clock, metrics: Metrics, rules: Rules
    ) -> None:
        self.store = store
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.rules = rules
        self._find_limiter = RateLimiter(rules.find_limit)
        self._chat_limiter = RateLimiter(rules.chat_limit)
        self._typing_limiter = RateLimiter(rules.chat_limit)
        self._report_limiter = RateLimiter(rules.report_limit)
        self._batcher = CandidateBatcher()
        self._history = PairHistory(rules.repeat_window)
        self._local: dict[str, _Local] = {}
        self._by_user: dict[str, set[str]] = {}
        self._by_address: dict[str, int] = {}
        self._bans: BanList[Ban] = BanList()
        self._bans_synced_at: float | None = None  # wall time of the last ban refresh
        # user id -> users blocked by or blocking them; kept while they come and go
        self._blocks: dict[str, frozenset[str]] = {}

    def _wall(self) -> float:
        return self.clock.wall_ms() / 1000

    # -- lifecycle -------------------------------------------------------

    async def admit(self, identity: Identity) -> None:
        """Raise ``Banned`` if this user may not connect now."""
        ban = self._bans.active(identity.user_id, self._wall())
        if ban is not None:
            raise Banned(ban.until, ban.reason)

    async def refresh_bans(self) -> list[Effect]:
        """Pick up bans made or lifted elsewhere (the CLI, another process); close the
        connections of users banned.

        The first run loads every active ban; later runs read only the bans made or
        ended since the previous run (minus ``BAN_OVERLAP_SECONDS`` for late commits
        and clock skew), so an idle server with many active bans does no work
        proportional to them.
        """
        now = self._wall()
        if self._bans_synced_at is None:
            active = await self.db.active_bans(now)
            self._bans.replace(active)
        else:
            active, lifted = await self.db.ban_changes(
                self._bans_synced_at - BAN_OVERLAP_SECONDS, now
            )
            for user_id in lifted:
                self._bans.remove(user_id)
        self._bans_synced_at = now
        effects: list[Effect] = []
        for ban in active:
            effects += self.kick_user(ban)
        return effects

    def forget_ban(self, user_id: str) -> None:
        self._bans.remove(user_id)

    async def connect(self, sid: str, identity: Identity, network: str = "") -> list[Effect]:
        """Register a connection; raise ``TooManyConnections`` past a cap.

        ``network`` is the client's unit for the per-address cap (``proxy.network_of``).

        The caps are checked and the connection counted before the first await, so
        that concurrent connects of one user or address cannot all pass the check.
        """
        user_id = identity.user_id
        if len(self._by_user.get(user_id, ())) >= self.rules.max_sockets_per_user:
            raise TooManyConnections("user", self.rules.max_sockets_per_user)
        if self._by_address.get(network, 0) >= self.rules.max_sockets_per_address:
            raise TooManyConnections("address", self.rules.max_sockets_per_address)
        now = self.clock.monotonic()
        local = _Local(
            user_id,
            identity.username,
            network,
            identity.expires_at,
            ConnectionMetrics.start(now),
            set(),
        )
        self._local[sid] = local
        self._by_user.setdefault(user_id, set()).add(sid)
        self._by_address[network] = self._by_address.get(network, 0) + 1
        try:
            blocks = self._blocks.get(user_id)
            if blocks is None:
                blocks = self._blocks[user_id] = await self.db.blocked_with(user_id)
            local.excluded.update(blocks)
            await self.store.join(Member(sid, user_id, identity.username))
        except BaseException:
            self._forget(sid)
            raise
        return [Emit(sid, "connection-quality", {"quality": "excellent"})]

    def _forget(self, sid: str) -> None:
        local = self._local.pop(sid, None)
        if local is None:
            return
        sids = self._by_user.get(local.user_id, set())
        sids.discard(sid)
        if not sids:
            self._by_user.pop(local.user_id, None)
        left = self._by_address.get(local.network, 0) - 1
        if left > 0:
            self._by_address[local.network] = left
        else:
            self._by_address.pop(local.network, None)

    async def disconnect(self, sid: str) -> list[Effect]:
        self._forget(sid)
        self._batcher.take(sid)
        partner = await self.store.part(sid)
        if partner is None:
            return []
        self._batcher.take(partner.sid)
        return [Emit(partner.sid, "partner-disconnected", {})]

    def housekeeping(self) -> None:
        """Drop state that has become equivalent to none."""
        now = self.clock.monotonic()
        for limiter in self._limiters():
            limiter.prune(now)
        self._history.prune(now)
        for user_id in [u for u in self._blocks if u not in self._by_user]:
            del self._blocks[user_id]

    async def widen_waiting(self) -> list[Effect]:
        """Widen users with interests who waited long enough, and pair them if possible."""
        now = self.clock.monotonic()
        effects: list[Effect] = []
        for sid in await self.store.due_to_widen(now, self.rules.interest_wait):
            if sid not in self._local:
                continue  # waiting on another node: that node widens it
            result = await self.store.widen(self._seeker(sid, now), now)
            if result is not None:
                effects += self._search_result(sid, result, now)
        return effects

    # -- searching -------------------------------------------------------

    async def find_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        options = requests.search_options("find-partner", args)
        local = self._count(sid)
        limited = self._limited(self._find_limiter, sid, local, "find-partner")
        if limited:
            return limited
        return await self._search(sid, options)

    async def next(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        """End the current call (if any) and search again at once."""
        options = requests.search_options("next", args)
        local = self._count(sid)
        limited = self._limited(self._find_limiter, sid, local, "next")
        if limited:
            return limited
        phase = await self.store.phase_of(sid)
        if phase is Phase.WAITING:  # already searching: keep the place in the queue
            position = await self.store.position_of(sid)
            return [self._waiting(sid, position or 1)]
        effects = await self._end(sid, "next")
        return effects + await self._search(sid, options)

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

    def _seeker(self, sid: str, now: float) -> Seeker:
        local = self._local[sid]
        return Seeker(
            sid,
            local.user_id,
            local.options.interests,
            local.options.strict,
            excluded=frozenset(local.excluded),
            recent=self._history.recent(local.user_id, now),
            previous=self._history.previous(local.user_id),
        )

    async def _search(self, sid: str, options: SearchOptions) -> list[Effect]:
        now = self.clock.monotonic()
        self._local[sid].options = options
        result = await self.store.search(self._seeker(sid, now), now)
        return self._search_result(sid, result, now)

    def _search_result(self, sid: str, result: SearchResult, now: float) -> list[Effect]:
        if not isinstance(result, Matched):
            return [self._waiting(sid, result.position)]
        partner = result.partner
        me = self._local[sid]
        other = self._local.get(partner.sid)
        asked = me.options.privacy or (other is not None and other.options.privacy)
        policy = self.rules.ice.policy_for(asked)
        self._history.record(me.user_id, partner.user_id, now)
        me.call = _Call(partner.sid, partner.user_id, relay=policy == "relay")
        me.stats_due = True
        if other is not None:
            other.call = _Call(sid, me.user_id, relay=policy == "relay")
            other.stats_due = True
        self.metrics.matches.inc()
        self.metrics.wait_time.observe(result.partner_waited)
        stamp = self.clock.wall_ms()
        common = sorted(result.common)
        log.info("matched", extra={"sid": sid, "partner_sid": partner.sid, "ice_policy": policy})
        shared = {"timestamp": stamp, "commonInterests": common, "iceTransportPolicy": policy}
        return [
            Emit(sid, "match-found", self._match(me, "initiator", partner.username, shared)),
            Emit(partner.sid, "match-found", self._match(other, "receiver", me.username, shared)),
        ]

    def _match(
        self, who: _Local | None, role: str, partner_name: str, shared: dict[str, Any]
    ) -> dict[str, Any]:
        """One side's ``match-found``: TURN credentials are minted for that user."""
        servers = self.rules.ice.servers(
            who.user_id if who is not None else "",
            self._wall(),
            who.token_expires if who is not None else None,
        )
        return {"role": role, "partnerName": partner_name, "iceServers": servers, **shared}

    def _waiting(self, sid: str, position: int) -> Emit:
        payload = {"queuePosition": position, "timestamp": self.clock.wall_ms()}
        return Emit(sid, "waiting-for-partner", payload)

    # -- signaling -------------------------------------------------------

    async def offer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._relay_description(sid, "signal-offer", signaling.offer(args))

    async def answer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._relay_description(sid, "signal-answer", signaling.answer(args))

    async def _relay_description(self, sid: str, event: str, data: dict[str, Any]) -> list[Effect]:
        local = self._count(sid)
        partner = await self.store.partner_of(sid)
        if partner is None:
            log.debug("signal without partner dropped", extra={"sid": sid, "signal": event})
            return []
        if _relay_only(local, partner):
            key = "offer" if event == "signal-offer" else "answer"
            desc = data[key]
            data = {**data, key: {**desc, "sdp": signaling.relay_only_sdp(desc["sdp"])}}
        self.metrics.signals.labels(event.removeprefix("signal-")).inc()
        # Candidates sent before this description leave before it: order is kept per sender.
        return [*self._flush(sid, partner), Emit(partner, event, data), Emit(sid, event + "-ack")]

    async def ice_candidate(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        candidate = signaling.ice_candidate(args)
        local = self._count(sid)
        partner = await self.store.partner_of(sid)
        if partner is None:
            return []
        if _relay_only(local, partner) and not signaling.relay_candidate(candidate):
            self.metrics.signals.labels("dropped-non-relay").inc()
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

    # -- text chat -----------------------------------------------------------

    async def chat_message(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        # Cheap checks first (shape and raw length, rate, partner), cleaning last.
        raw_text, msg_id = requests.chat_message(args)
        local = self._count(sid)
        limited = self._limited(
            self._chat_limiter,
            sid,
            local,
            "chat-message",
            "You are sending messages too fast",
            msg_id,
        )
        if limited:
            return limited
        partner = await self.store.partner_of(sid)
        if partner is None:
            raise IllegalMove("No partner to send it to")
        text = requests.chat_text(raw_text)
        sent_at = self.clock.wall_ms()
        line = ChatLine(local.user_id, text, sent_at / 1000)
        for who in (sid, partner):
            record = self._local.get(who)
            if record is not None and record.call is not None:
                record.call.chat.append(line)
        self.metrics.chat_messages.inc()
        return [
            Emit(partner, "chat-message", {"text": text, "id": msg_id, "sentAt": sent_at}),
            Emit(sid, "chat-message-ack", {"id": msg_id}),
        ]

    async def typing(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        active = requests.typing(args)
        local = self._count(sid)
        if self._typing_limiter.take(local.user_id, self.clock.monotonic()):
            return []  # typing indicators are advisory: excess ones are dropped quietly
        partner = await self.store.partner_of(sid)
        return [Emit(partner, "typing", {"active": active})] if partner else []

    # -- moderation ------------------------------------------------------------

    async def block_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        signaling.bare("block-partner", args)
        local = self._count(sid)
        call = self._last_call(local)
        effects = await self._end_for_moderation(sid, call)
        if call.blocked:
            return [*effects, Emit(sid, "block-partner-ack", {})]
        call.blocked = True
        await self.db.block(local.user_id, call.partner_user, self._wall())
        for a, b in ((local.user_id, call.partner_user), (call.partner_user, local.user_id)):
            if a in self._blocks:
                self._blocks[a] = self._blocks[a] | {b}
            for other_sid in self._by_user.get(a, ()):
                self._local[other_sid].excluded.add(b)
        log.info("blocked", extra={"user": local.user_id, "blocked": call.partner_user})
        return [*effects, Emit(sid, "block-partner-ack", {})]

    async def report_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        local = self._count(sid)
        call = self._last_call(local)
        if call.reported:
            raise IllegalMove("This call was already reported")
        reason, note = requests.report(args)
        limited = self._limited(
            self._report_limiter, sid, local, "report-partner", "You are reporting too often"
        )
        if limited:
            return limited
        call.reported = True
        effects = await self._end_for_moderation(sid, call)
        report, ban = await record_report(
            self.db,
            self.rules,
            local.user_id,
            call.partner_user,
            reason,
            note,
            list(call.chat),
            self._wall(),
        )
        self.metrics.reports.labels(reason).inc()
        log.info(
            "reported",
            extra={"user": local.user_id, "reported": call.partner_user, "reason": reason},
        )
        effects.append(Emit(sid, "report-partner-ack", {"reportId": report.id}))
        if ban is not None:
            effects += self.kick_user(ban)
        return effects

    def _last_call(self, local: _Local) -> _Call:
        if local.call is None:
            raise IllegalMove("No partner in this call or the last one")
        return local.call

    async def _end_for_moderation(self, sid: str, call: _Call) -> list[Effect]:
        """End the call if it is still on; the partner sees an ordinary ``partner-left``."""
        if await self.store.partner_of(sid) == call.partner_sid:
            return await self._end(sid, "leave")
        return []

    def kick_user(self, ban: Ban) -> list[Effect]:
        """Remember the ban; effects that tell every local connection of the user and close it."""
        self._bans.add(ban)
        sids = sorted(self._by_user.get(ban.user_id, ()))
        if sids:
            self.metrics.bans.inc()
        return [Kick(sid, ban) for sid in sids]

    # -- health and telemetry ----------------------------------------------

    async def heartbeat(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        sent_at = signaling.heartbeat(args)
        local = self._count(sid)
        effects: list[Effect] = []
        changed = local.metrics.heartbeat(self.clock.monotonic(), self.rules.heartbeat_interval)
        if changed is not None:
            effects.append(Emit(sid, "connection-quality", {"quality": changed}))
        ack = {"sentAt": sent_at, "serverTime": self.clock.wall_ms()}
        effects.append(Emit(sid, "heartbeat-ack", ack))
        return effects

    async def call_stats(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        stats = signaling.call_stats(args)
        local = self._count(sid)
        if not local.stats_due:
            raise IllegalMove("One report per call, after a match")
        local.stats_due = False
        self.metrics.call_outcomes.labels(stats.outcome).inc()
        if stats.time_to_media_ms is not None:
            self.metrics.time_to_media.observe(stats.time_to_media_ms / 1000)
        if stats.candidate_type is not None:
            self.metrics.candidate_types.labels(stats.candidate_type).inc()
        if stats.rtt_ms is not None:
            self.metrics.call_rtt.observe(stats.rtt_ms / 1000)
        return []

    # -- helpers -----------------------------------------------------------

    def user_of(self, sid: str) -> str | None:
        """The user id of a connection registered here, else None."""
        local = self._local.get(sid)
        return local.user_id if local is not None else None

    def metrics_of(self, sid: str) -> ConnectionMetrics | None:
        local = self._local.get(sid)
        return local.metrics if local is not None else None

    def local_sizes(self) -> dict[str, int]:
        """How much node-local state is held, for leak checks."""
        return {
            "connections": len(self._local),
            "users": len(self._by_user),
            "pending_batches": len(self._batcher),
            "addresses": len(self._by_address),
            "rate_limit_buckets": sum(len(limiter) for limiter in self._limiters()),
            "pair_history": len(self._history),
        }

    def _limiters(self) -> tuple[RateLimiter, ...]:
        return (
            self._find_limiter,
            self._chat_limiter,
            self._typing_limiter,
            self._report_limiter,
        )

    def _count(self, sid: str) -> _Local:
        local = self._local[sid]
        local.metrics.count_message()
        return local

    def _limited(
        self,
        limiter: RateLimiter,
        sid: str,
        local: _Local,
        action: str,
        message: str = "Please wait before searching again",
        msg_id: str | int | None = None,
    ) -> list[Effect]:
        """A ``rate-limited`` reply if ``limiter`` refuses, naming the event (and message id)."""
        wait = limiter.take(local.user_id, self.clock.monotonic())
        if not wait:
            return []
        self.metrics.rate_limited.labels(action).inc()
        payload: dict[str, Any] = {
            "message": message,
            "retryAfter": max(1, round(wait * 1000)),
            "event": action,
        }
        if msg_id is not None:
            payload["id"] = msg_id
        return [Emit(sid, "rate-limited", payload)]
