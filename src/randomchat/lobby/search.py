"""Searching: find-partner, next, leave, widening, and what a match tells each side."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from randomchat.core.matching import INTERESTS, LANGUAGES, NETWORK, Seeker, Shared
from randomchat.core.state import Phase
from randomchat.lobby.arrival import with_record
from randomchat.lobby.connections import Connection
from randomchat.lobby.context import FIND, Context
from randomchat.lobby.effects import Effect, Emit, HangUp
from randomchat.lobby.relay import Relay
from randomchat.lobby.resume import new_call_id, ticket_for
from randomchat.privacy import privacy_mode
from randomchat.protocol import (
    ClientEvent,
    Empty,
    IcePolicy,
    MatchFound,
    Mode,
    PartnerLeft,
    Role,
    SearchAction,
    SearchOptions,
    ServerError,
    ServerEvent,
    WaitingForPartner,
    parse,
)
from randomchat.store import Matched, SearchResult, Taken
from randomchat.store.shared import CallRecord

log = logging.getLogger(__name__)


class Search:
    def __init__(self, ctx: Context, relay: Relay) -> None:
        self.ctx = ctx
        self.relay = relay

    async def find_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        options = parse.find_partner(args)
        conn = self.ctx.count(sid)
        if refused := self._privacy_refused(sid, ClientEvent.FIND_PARTNER, options):
            return [refused]
        limited = await self.ctx.limited(FIND, sid, conn, ClientEvent.FIND_PARTNER)
        if limited:
            return limited
        return await self._search(sid, conn, options)

    async def next(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        """End the current call (if any) and search again at once."""
        options = parse.next_partner(args)
        conn = self.ctx.count(sid)
        if refused := self._privacy_refused(sid, ClientEvent.NEXT, options):
            return [refused]  # before anything ends: the current call goes on
        limited = await self.ctx.limited(FIND, sid, conn, ClientEvent.NEXT)
        if limited:
            return limited
        if await self.ctx.store.phase_of(sid) is Phase.WAITING:  # keep the place in the queue
            return [self._waiting(sid, await self.ctx.store.position_of(sid) or 1)]
        effects = await self.end(sid, ClientEvent.NEXT)
        return effects + await self._search(sid, conn, options)

    def _privacy_refused(
        self, sid: str, event: SearchAction, options: SearchOptions
    ) -> Emit | None:
        """Without a TURN server no call can be relay-only: pairing the user host to host
        while they asked to hide their address would be a false promise, so the search is
        refused with its own code. (``--no-allow-privacy-mode`` with TURN still ignores the
        request, as documented: the page does not offer the choice there.)"""
        if not options.privacy or privacy_mode(self.ctx.rules.ice) != "no-turn":
            return None
        message = f"{event}: this server has no TURN relay, so it cannot hide your IP address"
        error = ServerError(message=message, event=event, code="privacy_unavailable")
        return Emit(sid, ServerEvent.ERROR, error)

    async def leave(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        parse.leave(args)
        self.ctx.count(sid)
        return await self.end(sid, ClientEvent.LEAVE)

    async def end(self, sid: str, reason: str) -> list[Effect]:
        """Stop waiting or end the call; the partner (if any) gets ``partner-left``.

        ``reason`` (next, leave, block, report) is logged; the partner sees ``next``
        or, for the others, ``leave``.
        """
        # Dropped before (no candidate of this call is flushed any more) and after (a
        # look-up that ran meanwhile is not kept).
        self.relay.drop(sid)
        partner = await self.ctx.store.leave(sid)
        self.relay.drop(sid)
        if (conn := self.ctx.connections.get(sid)) is not None:
            conn.waiting = False
        ended = (sid,) if partner is None else (sid, partner.sid)
        await self.ctx.calls.end(ended, self.ctx.clock.monotonic())  # reportable a while yet
        # Whether or not the store still had a call (another node may have ended it, or
        # Redis lost it), this socket's call is over as far as it is concerned.
        if partner is None:
            return [HangUp(sid)]
        self.relay.drop(partner.sid)
        self._ended(sid, partner.sid, reason, self.ctx.connections.get(sid))
        next_ = reason == ClientEvent.NEXT
        left = PartnerLeft(reason=ClientEvent.NEXT if next_ else ClientEvent.LEAVE)
        return [HangUp(sid), Emit(partner.sid, ServerEvent.PARTNER_LEFT, left, sid)]

    async def disconnected(self, sid: str, conn: Connection | None) -> list[Effect]:
        """``sid`` (``conn`` here, as it was) is gone: out of the queue or the call;
        the partner is told."""
        self.relay.drop(sid)
        partner = await self.ctx.store.part(sid)
        if partner is None:
            return []
        await self.ctx.calls.end((partner.sid,), self.ctx.clock.monotonic())
        self.relay.drop(partner.sid)
        self._ended(sid, partner.sid, "disconnect", conn)
        return [Emit(partner.sid, ServerEvent.PARTNER_DISCONNECTED, Empty(), sid)]

    def _ended(self, sid: str, partner_sid: str, reason: str, conn: Connection | None) -> None:
        """The one line an operator gets per call (connects and matches are debug lines)."""
        seconds = None
        if conn is not None and conn.matched_at > float("-inf"):
            seconds = round(self.ctx.clock.monotonic() - conn.matched_at, 1)
            self.ctx.conversations.ended(conn.user_id, seconds)
            partner = self.ctx.connections.get(partner_sid)
            if partner is not None:
                self.ctx.conversations.ended(partner.user_id, seconds)
        user = conn.user_id if conn is not None else None
        log.info(
            "call ended",
            extra={
                "sid": sid,
                "user": user,
                "partner_sid": partner_sid,
                "seconds": seconds,
                "reason": reason,
            },
        )

    async def widen_waiting(self) -> list[Effect]:
        """Widen the preferences (interests, languages: one wait each, core.matching.FACETS)
        of users who waited out their wait, and pair them if possible."""
        ctx = self.ctx
        now = ctx.clock.monotonic()
        effects: list[Effect] = []
        waits = {INTERESTS: ctx.rules.interest_wait, LANGUAGES: ctx.rules.language_wait}
        for sid, widened in await ctx.store.due_to_widen(now, waits):
            conn = ctx.connections.get(sid)
            if conn is None:
                continue  # waiting on another node: that node widens it
            seeker = replace(await self._seeker(sid, conn, now), widened=widened)
            result = await ctx.store.widen(seeker, now)
            if result is not None:
                effects += await self._result(sid, conn, result, now)
        return effects

    async def look_again(self) -> list[Effect]:
        """Every user waiting here looks for a partner again: this node missed its
        heartbeats, and seekers elsewhere may have passed them over meanwhile
        (``store.redis.FRESH_SECONDS``), queuing themselves instead."""
        ctx = self.ctx
        effects: list[Effect] = []
        for sid, conn in ctx.connections.items():
            if not conn.waiting:
                continue
            now = ctx.clock.monotonic()
            result = await ctx.store.look_again(await self._seeker(sid, conn, now), now)
            if result is not None:
                effects += await self._result(sid, conn, result, now)
        return effects

    async def _seeker(self, sid: str, conn: Connection, now: float) -> Seeker:
        recent, previous = await self.ctx.meetings.history(conn.user_id, now)
        excluded = await self.ctx.blocks.excluded(conn.user_id)
        address = conn.guest_address
        if address is not None:
            # Whoever blocked or reported a guest from this network, under any identity.
            excluded |= await self.ctx.blocks.excluded(NETWORK + address)
        return Seeker(
            sid,
            conn.user_id,
            conn.options,
            excluded=excluded,
            recent=recent,
            previous=previous,
            address=address,
        )

    async def _search(self, sid: str, conn: Connection, options: SearchOptions) -> list[Effect]:
        now = self.ctx.clock.monotonic()
        conn.options = options
        result = await self.ctx.store.search(await self._seeker(sid, conn, now), now)
        return await self._result(sid, conn, result, now)

    async def _result(
        self, sid: str, me: Connection, result: SearchResult, now: float
    ) -> list[Effect]:
        if isinstance(result, Taken):
            return []
        if not isinstance(result, Matched):
            me.waiting = True
            return [self._waiting(sid, result.position)]
        ctx = self.ctx
        partner = result.partner
        other = ctx.connections.get(partner.sid)
        me.waiting = False
        if other is not None:
            other.waiting = False
        asked = me.options.privacy or result.partner_options.privacy
        policy = ctx.rules.ice.policy_for(asked)
        relay = policy == "relay"
        await ctx.meetings.record(me.user_id, partner.user_id, now)
        theirs_at = partner.address
        mine_at = me.guest_address
        call_id = new_call_id()  # names the call in resume-call and in a late report
        await ctx.calls.start(
            sid,
            CallRecord(
                partner.sid,
                partner.user_id,
                relay,
                theirs_at,
                call_id=call_id,
                partner_name=partner.username,
            ),
            now,
        )
        theirs_record = CallRecord(
            sid, me.user_id, relay, mine_at, call_id=call_id, partner_name=me.username
        )
        if other is not None:  # a partner on another node: its node starts it (lobby.arrival)
            await ctx.calls.start(partner.sid, theirs_record, now)
        me.matched_at = now
        if other is not None:
            other.matched_at = now
        ctx.metrics.matches.inc()
        ctx.metrics.wait_time.observe(result.partner_waited)
        stamp = ctx.clock.wall_ms()
        call = (call_id, ticket_for(ctx, call_id, (me.user_id, partner.user_id), relay))
        log.debug("matched", extra={"sid": sid, "partner_sid": partner.sid, "ice_policy": policy})
        mode: Mode = "text" if me.options.mode == "text" else "video"  # both sides' mode
        mine = self._match(
            me.user_id,
            me.token_expires,
            "initiator",
            partner.username,
            stamp,
            policy,
            result.shared,
            call,
            mode,
        )
        # The partner may be on another node, which alone knows its token: TURN credentials
        # for its user id are minted here, capped at its own token's expiry, when this node
        # holds it, and otherwise by its node as the event arrives (lobby.arrival).
        theirs = self._match(
            partner.user_id,
            other.token_expires if other is not None else None,
            "receiver",
            me.username,
            stamp,
            policy,
            result.shared,
            call,
            mode,
            turn=other is not None,
        )
        theirs_sent: Any = theirs if other is not None else with_record(theirs, theirs_record)
        return [
            Emit(sid, ServerEvent.MATCH_FOUND, mine, partner.sid),
            Emit(partner.sid, ServerEvent.MATCH_FOUND, theirs_sent, sid),
        ]

    def _match(
        self,
        user_id: str,
        token_expires: float | None,
        role: Role,
        partner_name: str,
        stamp: int,
        policy: IcePolicy,
        shared: Shared,
        call: tuple[str, str],
        mode: Mode,
        turn: bool = True,
    ) -> MatchFound:
        """One side's ``match-found``: TURN credentials for that user (reused while they
        last, ``turn.Credentials``), or with ``turn`` False the STUN servers alone."""
        ice = self.ctx.rules.ice
        servers = ice.servers(user_id, self.ctx.wall(), token_expires) if turn else ice.stun()
        return MatchFound(
            role=role,
            partnerName=partner_name,
            timestamp=stamp,
            iceServers=servers,
            commonInterests=sorted(shared.get(INTERESTS, ())),
            commonLanguages=sorted(shared.get(LANGUAGES, ())),
            iceTransportPolicy=policy,
            callId=call[0],
            resume=call[1],
            mode=mode,
        )

    def _waiting(self, sid: str, position: int) -> Emit:
        payload = WaitingForPartner(queuePosition=position, timestamp=self.ctx.clock.wall_ms())
        return Emit(sid, ServerEvent.WAITING_FOR_PARTNER, payload)

    async def requeue(self, sid: str) -> list[Effect]:
        """Search again with the options of the last search: ``sid`` was waiting and lost
        its place (its transport dropped and it resumed, ``Lobby.resumed``; or Redis lost
        it, ``cluster.state_lost``). No rate limit: the user did nothing; the page still
        shows it waiting."""
        conn = self.ctx.connections.get(sid)
        if conn is None or await self.ctx.store.phase_of(sid) is not Phase.IDLE:
            return []
        return await self._search(sid, conn, conn.options)
