"""Events from another node, completed where their socket is held.

A cluster node keeps, for the sockets it holds and for them alone, what only it
needs: each socket's call records (the report's chat lines, the relay-only flag,
the per-call flags) and the TURN credentials its user may get. A match made on
another node, and the chat lines of a partner there, reach this node as events
in its inbox (``inbox.Inbox``, then ``Lobby.arriving``); ``arriving`` turns each
into what the socket must get, and keeps here what the node must know, before it
is written:

* ``match-found``: the matching node attached the record of the call for this
  side (``with_record``: the partner's user id and network, the relay flag, the
  call id); it is taken off the event and started here. The TURN credential is
  minted here, capped at the socket's own token expiry, which only this node
  knows, and reused from its cache like any other (``turn``). A side effect worth
  having: no TURN credential and no call record is ever written to Redis.
* ``chat-message``: the line is kept in the receiver's call record (a report
  keeps the conversation as the reporter saw it).
* ``partner-left`` and ``partner-disconnected``: the record's call has ended
  (it stays reportable a few minutes).
"""

from __future__ import annotations

from typing import Any

from randomchat.db import ChatLine
from randomchat.lobby.context import Context
from randomchat.protocol import MatchFound, ServerEvent
from randomchat.store.shared import CallRecord

RECORD = "_call"  # the key of the record in a match-found between nodes (never written out)


def with_record(match: MatchFound, record: CallRecord) -> dict[str, Any]:
    """``match`` with the record its receiver's node must start (``arriving`` takes it off)."""
    fields = [record.partner_sid, record.partner_user, record.relay, record.partner_address]
    return {**match, RECORD: [*fields, record.call_id, record.partner_name]}


async def arriving(ctx: Context, sid: str, event: str, data: Any) -> Any:
    """``data`` as ``sid`` must get it, and what its node must keep of it."""
    conn = ctx.connections.get(sid)
    if conn is None or not isinstance(data, dict):
        return data  # not held here (any more): it will not be delivered anyway
    now = ctx.clock.monotonic()
    if event == ServerEvent.MATCH_FOUND:
        data = dict(data)
        record = record_of(data.pop(RECORD, None))
        if record is not None:
            await ctx.calls.start(sid, record, now)
        conn.matched_at = now
        conn.waiting = False
        # Whatever the sender put there is replaced, so an older node's uncapped credential
        # (a rolling deploy) does not reach the page either.
        data["iceServers"] = ctx.rules.ice.servers(conn.user_id, ctx.wall(), conn.token_expires)
    elif event == ServerEvent.CHAT_MESSAGE:
        call = await ctx.calls.get(sid)
        text, sent_at = data.get("text"), data.get("sentAt")
        if call is not None and isinstance(text, str) and isinstance(sent_at, int | float):
            await ctx.calls.add_chat((sid,), ChatLine(call.partner_user, text, sent_at / 1000))
    elif event in (ServerEvent.PARTNER_LEFT, ServerEvent.PARTNER_DISCONNECTED):
        await ctx.calls.end((sid,), now)
    return data


def record_of(raw: Any) -> CallRecord | None:
    """The record a node of this version attached; None from anything else."""
    # Five fields from a node older than issue 24, which sent no partner name.
    if not isinstance(raw, list) or len(raw) not in (5, 6):
        return None
    partner_sid, partner_user, relay, address, call_id, *rest = raw
    name = rest[0] if rest and isinstance(rest[0], str) else ""
    if not (isinstance(partner_sid, str) and isinstance(partner_user, str)):
        return None
    return CallRecord(
        partner_sid,
        partner_user,
        relay is True,
        address if isinstance(address, str) else None,
        call_id=call_id if isinstance(call_id, str) else None,
        partner_name=name,
    )
