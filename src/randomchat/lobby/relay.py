"""Relaying signaling: offers, answers and ICE candidates, in order per sender.

Candidates are coalesced per sender until the next turn of the event loop
(``FlushLater``) and always leave before a description from the same sender.
In a relay-only call (the privacy mode, or ``--ice-policy relay``) no address of
the sender reaches its partner: only relay candidates pass, in candidate events and
inside SDP, with their related address masked, and SDP address fields are masked
too (``randomchat.core.sdp``).

A sender's partner is the one its socket was last told of (``Context.told``, kept by
the delivery as it writes ``match-found``, ``call-resumed`` and the call's end), and
whether the call is relay-only is in the sender's call record, started on this node
(``Search``, or ``lobby.arrival`` for a match made on another node): no store
look-up per signal. A signal sent on a call that ended on another node a moment ago
is dropped where it would be written (the receiver's node knows the call is over).
"""

from __future__ import annotations

import logging
from typing import Any

from randomchat.core import sdp
from randomchat.core.batching import CandidateBatcher
from randomchat.lobby.context import Context
from randomchat.lobby.effects import Effect, Emit, FlushLater
from randomchat.protocol import ServerEvent, SignalCandidate, SignalCandidateBatch, parse

log = logging.getLogger(__name__)

_ACKS = {
    ServerEvent.SIGNAL_OFFER: ServerEvent.SIGNAL_OFFER_ACK,
    ServerEvent.SIGNAL_ANSWER: ServerEvent.SIGNAL_ANSWER_ACK,
}


class Relay:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._batcher = CandidateBatcher()  # per connection, this process only
        # sid -> (partner sid, relay-only?) of its current call: fixed for a call, so read
        # from the store once per call, not once per signal. An entry per connection of
        # this process, dropped with the call (``drop``, ``call_changed``).
        # sid -> the partner its pending candidates were sent for. On a cluster a call can
        # end on another node (the partner's Next), which cannot drop this batch: it is
        # then dropped here, never flushed to the sender's next partner.
        self._pending_for: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._batcher)

    def drop(self, sid: str) -> None:
        """Forget ``sid``'s pending candidates (its call ended)."""
        self._batcher.take(sid)
        self._pending_for.pop(sid, None)

    # A call event was written to ``sid``'s socket: the call it had is over either way.
    call_changed = drop

    async def offer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        data, named = parse.signal_offer(args)
        return await self._description(sid, ServerEvent.SIGNAL_OFFER, data, named)

    async def answer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        data, named = parse.signal_answer(args)
        return await self._description(sid, ServerEvent.SIGNAL_ANSWER, data, named)

    async def _description(
        self, sid: str, event: ServerEvent, data: dict[str, Any], named: str | None
    ) -> list[Effect]:
        self.ctx.count(sid)
        call = await self._call(sid, named)
        if call is None:
            log.debug("signal without partner dropped", extra={"sid": sid, "signal": event})
            return []
        partner, relay_only = call
        if relay_only:
            key = "offer" if event is ServerEvent.SIGNAL_OFFER else "answer"
            desc = data[key]
            data = {**data, key: {**desc, "sdp": sdp.relay_only_sdp(desc["sdp"])}}
        self.ctx.metrics.signals.labels(event.removeprefix("signal-")).inc()
        # Candidates sent before this description leave before it: order is kept per sender.
        return [
            *self._flush(sid, partner),
            Emit(partner, event, data, sid),
            Emit(sid, _ACKS[event]),
        ]

    async def ice_candidate(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        candidate, named = parse.signal_ice_candidate(args)
        self.ctx.count(sid)
        call = await self._call(sid, named)
        if call is None:
            return []
        partner, relay_only = call
        if relay_only:
            kept = sdp.relay_only_ice(candidate)
            if kept is None:
                self.ctx.metrics.signals.labels("dropped-non-relay").inc()
                return []
            candidate = kept
        self.ctx.metrics.signals.labels("ice-candidate").inc()
        if self._pending_for.get(sid, partner) != partner:
            self._batcher.take(sid)  # left from a call that ended elsewhere
        self._pending_for[sid] = partner
        return [FlushLater(sid)] if self._batcher.add(sid, candidate) else []

    async def flush_candidates(self, sid: str) -> list[Effect]:
        call = await self._call(sid)
        if call is None:
            self._batcher.take(sid)
            self._pending_for.pop(sid, None)
            return []
        return self._flush(sid, call[0])

    def _flush(self, sid: str, partner: str) -> list[Effect]:
        pending: Any = self._batcher.take(sid)
        if self._pending_for.pop(sid, partner) != partner:
            return []  # sent during a call that has ended since
        if not pending:
            return []
        if len(pending) == 1:
            one = SignalCandidate(candidate=pending[0])
            return [Emit(partner, ServerEvent.SIGNAL_ICE_CANDIDATE, one, sid)]
        batch = SignalCandidateBatch(candidates=pending)
        return [Emit(partner, ServerEvent.SIGNAL_ICE_CANDIDATES_BATCH, batch, sid)]

    async def _call(self, sid: str, named: str | None = None) -> tuple[str, bool] | None:
        """``sid``'s partner and whether their call is relay-only; None without a partner,
        or when the signal names (``named``) another call than the current one: sent as
        that call ended, it must not reach the next partner."""
        partner = self.ctx.told.partner(sid)
        if partner is None:
            return None
        record = await self.ctx.calls.get(sid)
        if named is not None and record is not None and record.call_id not in (None, named):
            self.ctx.metrics.signals.labels("dropped-other-call").inc()
            log.debug("signal of another call dropped", extra={"sid": sid, "call": named})
            return None
        if record is None or record.partner_sid != partner:
            # No record of this call (a node of an older version matched it): fail
            # closed to the policy this side asked for.
            conn = self.ctx.connections.get(sid)
            asked = conn is not None and conn.options.privacy
            return partner, self.ctx.rules.ice.policy_for(asked) == "relay"
        return partner, record.relay
