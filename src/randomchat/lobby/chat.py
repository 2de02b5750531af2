"""Text chat between the two sides of a call, typing indicators and media state."""

from __future__ import annotations

from typing import Any

from randomchat.db import ChatLine
from randomchat.errors import IllegalMove
from randomchat.lobby.context import CHAT, TYPING, Context
from randomchat.lobby.effects import Effect, Emit
from randomchat.protocol import (
    ChatAck,
    ChatIncoming,
    ClientEvent,
    MediaState,
    ServerEvent,
    TypingEvent,
    parse_requests,
)

MEDIA = "media"  # the per-user limit of media-state announcements


class Chat:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def chat_message(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        ctx = self.ctx
        # Cheap checks first (shape and raw length, rate, partner), cleaning last.
        raw_text, msg_id, named = parse_requests.chat_message(args)
        conn = ctx.count(sid)
        limited = await ctx.limited(CHAT, sid, conn, ClientEvent.CHAT_MESSAGE, msg_id)
        if limited:
            return limited
        partner = ctx.told.partner(sid)
        call = await ctx.calls.get(sid) if named is not None else None
        if partner is not None and call is not None and call.call_id not in (None, named):
            raise IllegalMove("That call has ended")  # typed as it ended: not for the next
        if partner is None:
            raise IllegalMove("No partner to send it to")
        text = parse_requests.chat_text(raw_text)
        sent_at = ctx.clock.wall_ms()
        await ctx.calls.add_chat((sid, partner), ChatLine(conn.user_id, text, sent_at / 1000))
        ctx.metrics.chat_messages.inc()
        incoming = ChatIncoming(text=text, id=msg_id, sentAt=sent_at)
        return [
            Emit(partner, ServerEvent.CHAT_MESSAGE, incoming, sid),
            Emit(sid, ServerEvent.CHAT_MESSAGE_ACK, ChatAck(id=msg_id)),
        ]

    async def typing(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        active = parse_requests.typing(args)
        conn = self.ctx.count(sid)
        now = self.ctx.clock.monotonic()
        if await self.ctx.limits.take(TYPING, conn.user_id, now):
            return []  # typing indicators are advisory: excess ones are dropped quietly
        partner = self.ctx.told.partner(sid)
        if partner is None:
            return []
        return [Emit(partner, ServerEvent.TYPING, TypingEvent(active=active), sid)]

    async def media_state(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        """Relay what the sender is sending (camera, microphone) to the partner.

        Like ``typing``: advisory, so announcements past the rate are dropped
        quietly, and nothing is sent without a partner. The page also detects a
        stalled video on its own, so a dropped announcement costs no honest user.
        """
        video, audio = parse_requests.media_state(args)
        conn = self.ctx.count(sid)
        if await self.ctx.limits.take(MEDIA, conn.user_id, self.ctx.clock.monotonic()):
            return []
        partner = self.ctx.told.partner(sid)
        if partner is None:
            return []
        media = MediaState(video=video, audio=audio)
        return [Emit(partner, ServerEvent.MEDIA_STATE, media, sid)]
