"""Relaying signaling: offers, answers and ICE candidates, in order per sender.

Candidates are coalesced per sender until the next turn of the event loop
(``FlushLater``) and always leave before a description from the same sender.
In a relay-only call (the privacy mode) only relay candidates pass, in
candidate events and inside SDP.
"""

from __future__ import annotations

import logging
from typing import Any

from randomchat.core import signaling
from randomchat.core.batching import CandidateBatcher
from randomchat.lobby.context import Context
from randomchat.lobby.effects import Effect, Emit, FlushLater
from randomchat.protocol import ServerEvent, SignalCandidate, SignalCandidateBatch

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
        # from the shared call record once per call, not once per signal. An entry per
        # connection of this process, dropped with the call.
        self._relay: dict[str, tuple[str, bool]] = {}
        # sid -> the partner its pending candidates were sent for. On a cluster a call can
        # end on another node (the partner's Next), which cannot drop this batch: it is
        # then dropped here, never flushed to the sender's next partner.
        self._pending_for: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._batcher)

    def drop(self, sid: str) -> None:
        """Forget ``sid``'s pending candidates (its call ended)."""
        self._batcher.take(sid)
        self._relay.pop(sid, None)
        self._pending_for.pop(sid, None)

    async def offer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._description(sid, ServerEvent.SIGNAL_OFFER, signaling.offer(args))

    async def answer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._description(sid, ServerEvent.SIGNAL_ANSWER, signaling.answer(args))

    async def _description(
        self, sid: str, event: ServerEvent, data: dict[str, Any]
    ) -> list[Effect]:
        self.ctx.count(sid)
        partner = await self.ctx.store.partner_of(sid)
        if partner is None:
            log.debug("signal without partner dropped", extra={"sid": sid, "signal": event})
            return []
        if await self._relay_only(sid, partner):
            key = "offer" if event is ServerEvent.SIGNAL_OFFER else "answer"
            desc = data[key]
            data = {**data, key: {**desc, "sdp": signaling.relay_only_sdp(desc["sdp"])}}
        self.ctx.metrics.signals.labels(event.removeprefix("signal-")).inc()
        # Candidates sent before this description leave before it: order is kept per sender.
        return [
            *self._flush(sid, partner),
            Emit(partner, event, data, sid),
            Emit(sid, _ACKS[event]),
        ]

    async def ice_candidate(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        candidate = signaling.ice_candidate(args)
        self.ctx.count(sid)
        partner = await self.ctx.store.partner_of(sid)
        if partner is None:
            return []
        if await self._relay_only(sid, partner) and not signaling.relay_candidate(candidate):
            self.ctx.metrics.signals.labels("dropped-non-relay").inc()
            return []
        self.ctx.metrics.signals.labels("ice-candidate").inc()
        if self._pending_for.get(sid, partner) != partner:
            self._batcher.take(sid)  # left from a call that ended elsewhere
        self._pending_for[sid] = partner
        return [FlushLater(sid)] if self._batcher.add(sid, candidate) else []

    async def flush_candidates(self, sid: str) -> list[Effect]:
        partner = await self.ctx.store.partner_of(sid)
        if partner is None:
            self._batcher.take(sid)
            self._pending_for.pop(sid, None)
            return []
        return self._flush(sid, partner)

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

    async def _relay_only(self, sid: str, partner: str) -> bool:
        """Whether ``sid``'s current call (with ``partner``) is relay-only."""
        known = self._relay.get(sid)
        if known is not None and known[0] == partner:
            return known[1]
        call = await self.ctx.calls.get(sid)
        if call is None or call.partner_sid != partner:
            # No record of this call (not written yet by the node that matched it, or
            # expired): fail closed to the policy this side asked for; not remembered.
            conn = self.ctx.connections.get(sid)
            asked = conn is not None and conn.options.privacy
            return self.ctx.rules.ice.policy_for(asked) == "relay"
        self._relay[sid] = (partner, call.relay)
        return call.relay
