"""The lobby: one client event -> store and database calls around core decisions -> effects.

Split by concern, each part owning its state and returning effects as values
(``Emit``, ``FlushLater``, ``Kick``); nothing here imports Socket.IO:

* ``search``: find-partner, next, leave, widening, match-found;
* ``relay``: offers, answers, ICE candidates (and the privacy mode's filter);
* ``chat``: chat messages and typing;
* ``moderation``: bans, blocks, reports;
* ``telemetry``: heartbeats and call statistics;
* ``connections``: the connections this process holds, and the connection caps.

State that decides who may meet whom, or that a partner on another process
needs, lives behind the seams in ``randomchat.store`` (``Store`` for the queue
and pairs, ``store.shared`` for meetings, blocks, calls and per-user limits);
``docs/state.md`` has the table of owners. ``Lobby`` wires the parts and maps
each client event to its handler; the connection's lifecycle (connect,
disconnect) spans several parts and is here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from randomchat.auth import Identity
from randomchat.clock import Clock
from randomchat.core.moderation import address_hash
from randomchat.core.quality import ConnectionMetrics
from randomchat.core.ratelimit import Limit
from randomchat.core.state import Phase
from randomchat.db import Database
from randomchat.delivery import CallScope
from randomchat.lobby import arrival
from randomchat.lobby.chat import MEDIA, Chat
from randomchat.lobby.connections import Connection, Connections, SharedCaps
from randomchat.lobby.context import CHAT, FIND, REPORT, STORED_REPORTS, TYPING, Context
from randomchat.lobby.effects import Effect, Emit, FlushLater, HangUp, Kick
from randomchat.lobby.moderation import Moderation
from randomchat.lobby.relay import Relay
from randomchat.lobby.resume import Resume, SharedResumes
from randomchat.lobby.search import Search
from randomchat.lobby.telemetry import Telemetry
from randomchat.metrics import Metrics
from randomchat.protocol import ClientEvent, ConnectionQuality, Empty, PartnerLeft, ServerEvent
from randomchat.rules import Rules
from randomchat.store import Member, Store
from randomchat.store.shared import (
    Blocks,
    Calls,
    Limits,
    Meetings,
    MemoryBlocks,
    MemoryCalls,
    MemoryLimits,
    MemoryMeetings,
)

__all__ = [
    "Effect",
    "Emit",
    "FlushLater",
    "Handler",
    "HangUp",
    "Kick",
    "Lobby",
    "Shared",
    "in_memory",
]

Handler = Callable[[str, tuple[Any, ...]], Awaitable[list[Effect]]]


@dataclass(frozen=True, slots=True)
class Shared:
    """The per-user and per-pair state beside the store (in memory, or on Redis for a cluster:
    ``cluster.Node.shared``). ``caps`` and ``resumes`` are a cluster's alone: a single
    process counts its connections and keeps its pending resumes itself (None)."""

    meetings: Meetings
    blocks: Blocks
    calls: Calls
    limits: Limits
    caps: SharedCaps | None = None  # connections per user and per address, cluster-wide
    resumes: SharedResumes | None = None  # the first side of a resumed call, findable anywhere


SharedFactory = Callable[[Rules, Database, dict[str, Limit]], Shared]


def in_memory(rules: Rules, db: Database, limits: dict[str, Limit]) -> Shared:
    return Shared(
        MemoryMeetings(rules.repeat_window), MemoryBlocks(db), MemoryCalls(), MemoryLimits(limits)
    )


class Lobby:
    def __init__(
        self,
        store: Store,
        db: Database,
        clock: Clock,
        metrics: Metrics,
        rules: Rules,
        shared: SharedFactory = in_memory,
        scope: CallScope | None = None,
    ) -> None:
        """``scope``: the call each socket here was told of, which the delivery writes
        (``delivery.CallScope``; its own if not given, for a lobby with no delivery)."""
        self.store = store
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.rules = rules
        limits = {
            FIND: rules.find_limit,
            CHAT: rules.chat_limit,
            TYPING: rules.chat_limit,
            MEDIA: rules.chat_limit,
            REPORT: rules.report_limit,
            STORED_REPORTS: rules.stored_reports_limit,
        }
        state = shared(rules, db, limits)
        self.ctx = Context(
            store=store,
            meetings=state.meetings,
            blocks=state.blocks,
            calls=state.calls,
            limits=state.limits,
            connections=Connections(
                rules.max_sockets_per_user, rules.max_sockets_per_address, state.caps
            ),
            db=db,
            clock=clock,
            metrics=metrics,
            rules=rules,
            told=scope if scope is not None else CallScope(),
        )
        self.relay = Relay(self.ctx)
        # A call event written to a socket ends the call its pending candidates were for.
        self.ctx.told.subscribe(self.relay.call_changed)
        self.search = Search(self.ctx, self.relay)
        self.chat = Chat(self.ctx)
        self.moderation = Moderation(self.ctx, self.search)
        self.telemetry = Telemetry(self.ctx)
        self.resume = Resume(self.ctx, state.resumes)

    def handlers(self) -> dict[ClientEvent, Handler]:
        """Each client event and the part that handles it."""
        return {
            ClientEvent.FIND_PARTNER: self._not_resuming(self.search.find_partner),
            ClientEvent.NEXT: self._not_resuming(self.search.next),
            ClientEvent.LEAVE: self._not_resuming(self.search.leave),
            ClientEvent.SIGNAL_OFFER: self.relay.offer,
            ClientEvent.SIGNAL_ANSWER: self.relay.answer,
            ClientEvent.SIGNAL_ICE_CANDIDATE: self.relay.ice_candidate,
            ClientEvent.HEARTBEAT: self.telemetry.heartbeat,
            ClientEvent.CALL_STATS: self.telemetry.call_stats,
            ClientEvent.CHAT_MESSAGE: self.chat.chat_message,
            ClientEvent.TYPING: self.chat.typing,
            ClientEvent.MEDIA_STATE: self.chat.media_state,
            ClientEvent.BLOCK_PARTNER: self.moderation.block_partner,
            ClientEvent.REPORT_PARTNER: self.moderation.report_partner,
            ClientEvent.RESUME_CALL: self.resume.resume_call,
        }

    def _not_resuming(self, handler: Handler) -> Handler:
        """A search or leave gives up waiting for a resumed call's partner."""

        async def run(sid: str, args: tuple[Any, ...]) -> list[Effect]:
            self.resume.forget(sid)
            return await handler(sid, args)

        return run

    async def arriving(self, sid: str, event: str, data: Any) -> Any:
        """An event from another node for ``sid`` (held here), as ``sid`` must get it:
        a resumed call's record is started by ``resume``, anything else's by ``arrival``
        (which also mints a match's TURN credentials here, where the token is known)."""
        if event == ServerEvent.CALL_RESUMED:
            return await self.resume.arriving(sid, data)
        return await arrival.arriving(self.ctx, sid, event, data)

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self, sid: str, identity: Identity, network: str = "") -> list[Effect]:
        """Register a connection; raise ``TooManyConnections`` past a cap.

        ``network`` is the client's unit for the per-address cap (``proxy.network_of``).
        The connection is counted before the first await, so that concurrent
        connects of one user or address cannot all pass the caps. A guest from a
        banned address is refused (``Banned``) before anything is registered;
        strangers see the name as ``Rules.shown_name`` has it.
        """
        ctx = self.ctx
        address = address_hash(self.rules.address_key, network)
        if identity.guest:
            self.moderation.admit_address(address)
        identity = replace(identity, username=self.rules.shown_name(identity.username))
        conn = ctx.connections.add(sid, identity, network, self.clock.monotonic())
        conn.address = address
        try:
            await ctx.connections.admit(sid, ctx.wall())  # a cluster's caps: one round trip
            await self.store.join(self._member(sid, conn))
        except BaseException:
            ctx.connections.remove(sid)
            raise
        quality = ConnectionQuality(quality="excellent")
        return [Emit(sid, ServerEvent.CONNECTION_QUALITY, quality)]

    def negotiating(self, seconds: float) -> bool:
        """Whether a connection here was matched less than ``seconds`` ago."""
        since = self.clock.monotonic() - seconds
        return any(conn.matched_at > since for _, conn in self.ctx.connections.items())

    def members(self) -> list[Member]:
        """The connections this process holds, as the store knows them."""
        return [self._member(sid, conn) for sid, conn in self.ctx.connections.items()]

    @staticmethod
    def _member(sid: str, conn: Connection) -> Member:
        return Member(sid, conn.user_id, conn.username, conn.guest_address)

    async def disconnect(self, sid: str) -> list[Effect]:
        conn = self.ctx.connections.get(sid)
        self.ctx.connections.remove(sid)
        self.resume.forget(sid)
        await self.ctx.calls.forget(sid)
        effects = await self.search.disconnected(sid, conn)
        await self.ctx.connections.release(sid, conn)  # a cluster's caps, once its partner knows
        return effects

    async def held(self, sid: str) -> list[Effect]:
        """``sid``'s transport dropped and its socket is held for recovery (``sio.recovery``).

        A waiting socket leaves the queue at once: nobody is there to answer a match
        (a newcomer would see "Connecting…" until the hold ran out). Its options stay
        on the connection, and it searches again if it resumes (``resumed``). The hold
        itself is left alone: a call goes on if its peer connection did.
        """
        conn = self.ctx.connections.get(sid)
        if conn is None or await self.store.phase_of(sid) is not Phase.WAITING:
            return []
        conn.requeue = True
        conn.waiting = False  # nothing searches for it while held (Search.look_again)
        partner = await self.store.leave(sid)
        if partner is None:
            return []
        # A shared store paired it between the two calls above: that call cannot go on
        # (nobody answers here), so both sides are told it ended.
        conn.requeue = False
        self.relay.drop(sid)
        self.relay.drop(partner.sid)
        return [
            Emit(sid, ServerEvent.PARTNER_LEFT, PartnerLeft(reason=ClientEvent.LEAVE), partner.sid),
            HangUp(sid),
            Emit(partner.sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), sid),
        ]

    async def resumed(self, sid: str) -> list[Effect]:
        """``sid`` is back on a new transport: if it was waiting, it searches again."""
        conn = self.ctx.connections.get(sid)
        if conn is None or not conn.requeue:
            return []
        conn.requeue = False
        return await self.search.requeue(sid)

    async def housekeeping(self) -> None:
        """Drop state that has become equivalent to none."""
        now = self.clock.monotonic()
        await self.ctx.limits.prune(now)
        await self.ctx.meetings.prune(now)
        await self.ctx.blocks.prune(self.ctx.connections.users())

    # -- queries -----------------------------------------------------------------------

    def user_of(self, sid: str) -> str | None:
        """The user id of a connection registered here, else None."""
        conn = self.ctx.connections.get(sid)
        return conn.user_id if conn is not None else None

    def metrics_of(self, sid: str) -> ConnectionMetrics | None:
        conn = self.ctx.connections.get(sid)
        return conn.metrics if conn is not None else None

    def local_sizes(self) -> dict[str, int]:
        """How much node-local state is held, for leak checks."""
        return {
            **self.ctx.connections.sizes(),
            "pending_batches": len(self.relay),
            "rate_limit_buckets": len(self.ctx.limits),
            "pair_history": len(self.ctx.meetings),
            "calls": len(self.ctx.calls),
            "pending_resumes": len(self.resume),
        }
