"""Heartbeats (connection quality) and the pages' call statistics."""

from __future__ import annotations

from typing import Any

from randomchat.errors import IllegalMove
from randomchat.lobby.context import Context
from randomchat.lobby.effects import Effect, Emit
from randomchat.protocol import ConnectionQuality, HeartbeatAck, ServerEvent, parse


class Telemetry:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def heartbeat(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        sent_at = parse.heartbeat(args)
        ctx = self.ctx
        conn = ctx.count(sid)
        effects: list[Effect] = []
        changed = conn.metrics.heartbeat(ctx.clock.monotonic(), ctx.rules.heartbeat_interval)
        if changed is not None:
            quality = ConnectionQuality(quality=changed)
            effects.append(Emit(sid, ServerEvent.CONNECTION_QUALITY, quality))
        ack = HeartbeatAck(sentAt=sent_at, serverTime=ctx.clock.wall_ms())
        effects.append(Emit(sid, ServerEvent.HEARTBEAT_ACK, ack))
        return effects

    async def call_stats(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        stats = parse.call_stats(args)
        self.ctx.count(sid)
        if not await self.ctx.calls.claim(sid, "stats"):  # shared: the match may be another node's
            raise IllegalMove("One report per call, after a match")
        metrics = self.ctx.metrics
        metrics.call_outcomes.labels(stats.outcome).inc()
        if stats.time_to_media_ms is not None:
            metrics.time_to_media.observe(stats.time_to_media_ms / 1000)
        if stats.candidate_type is not None:
            metrics.candidate_types.labels(stats.candidate_type).inc()
        if stats.rtt_ms is not None:
            metrics.call_rtt.observe(stats.rtt_ms / 1000)
        return []
