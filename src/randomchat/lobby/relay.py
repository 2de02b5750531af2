"""Relaying signaling: offers, answers and ICE candidates, in order per sender.

Candidates are coalesced per sender until the next turn of the event loop
(``FlushLater``) and always leave before a description from the same sender.
In a relay-only call (the privacy mode, or ``--ice-policy relay``) no address of
the sender reaches its partner: only relay candidates pass, in candidate events and
inside SDP, with their related address masked, and SDP address fields are masked
too (``randomchat.core.sdp``).

A sender's partner (and whether the call is relay-only) is read from the store
once per call and kept until the call ends for that sender: its own end, its
partner's end through this lobby, or a call event written to its socket (a
``partner-left`` or ``partner-disconnected`` from another node, or its next
``match-found``): ``randomchat.delivery`` calls ``call_changed``. On one process
this changes nothing; on a cluster it saves the store a round trip per signal.
A signal sent on a kept partner whose call ended on another node a moment ago
is dropped where it would be written (the receiver's node knows the call is over).
"""

from __future__ import annotations

import logging
from typing import Any

from randomchat.core import sdp, signaling
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
        # from the store once per call, not once per signal. An entry per connection of
        # this process, dropped with the call (``drop``, ``call_changed``).
        self._calls: dict[str, tuple[str, bool]] = {}
        # sid -> a look-up of its call in progress: a drop meanwhile removes it, and the
        # look-up's answer is then used once, not kept (it may be of the call that just
        # ended). At most one entry per connection, removed when the look-up is done.
        self._looking: dict[str, object] = {}
        # sid -> the partner its pending candidates were sent for. On a cluster a call can
        # end on another node (the partner's Next), which cannot drop this batch: it is
        # then dropped here, never flushed to the sender's next partner.
        self._pending_for: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._batcher)

    def drop(self, sid: str) -> None:
        """Forget ``sid``'s call and pending candidates (its call ended)."""
        self._looking.pop(sid, None)
        self._batcher.take(sid)
        self._calls.pop(sid, None)
        self._pending_for.pop(sid, None)

    # A call event was written to ``sid``'s socket: the call it had is over either way.
    call_changed = drop

    def known(self) -> int:
        """How many connections here have their call's partner kept (bounded by them)."""
        return len(self._calls)

    async def offer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._description(sid, ServerEvent.SIGNAL_OFFER, signaling.offer(args))

    async def answer(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        return await self._description(sid, ServerEvent.SIGNAL_ANSWER, signaling.answer(args))

    async def _description(
        self, sid: str, event: ServerEvent, data: dict[str, Any]
    ) -> list[Effect]:
        self.ctx.count(sid)
        call = await self._call(sid)
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
        candidate = signaling.ice_candidate(args)
        self.ctx.count(sid)
        call = await self._call(sid)
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

    async def _call(self, sid: str) -> tuple[str, bool] | None:
        """``sid``'s partner and whether their call is relay-only; None without a partner."""
        known = self._calls.get(sid)
        if known is not None:
            return known
        mark = self._looking[sid] = object()
        try:
            partner = await self.ctx.store.partner_of(sid)
            record = await self.ctx.calls.get(sid) if partner is not None else None
            kept = self._looking.get(sid) is mark
        finally:
            if self._looking.get(sid) is mark:
                del self._looking[sid]
        if partner is None:
            return None
        if record is None or record.partner_sid != partner:
            # No record of this call (not written yet by the node that matched it, or
            # expired): fail closed to the policy this side asked for; not remembered.
            conn = self.ctx.connections.get(sid)
            asked = conn is not None and conn.options.privacy
            return partner, self.ctx.rules.ice.policy_for(asked) == "relay"
        if kept:
            self._calls[sid] = (partner, record.relay)
        return partner, record.relay
