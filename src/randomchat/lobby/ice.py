"""TURN credentials in a match-found that another node wrote: added where the socket is held.

A credential is capped at its user's token expiry, and only the node that holds a
socket knows that socket's token. So when a search pairs a socket here with a
partner on another node, the partner's ``match-found`` leaves this node with the
STUN servers alone (``Search._match``); the partner's node adds the TURN
credential as the event arrives from its inbox (``arriving``, wired into
``inbox.ClusterDelivery``), minted for the partner's user id, capped at its
own token's expiry, and reused from its node's cache like any other (``turn``).
A side effect worth having: no TURN credential is ever written to Redis.
"""

from __future__ import annotations

from typing import Any

from randomchat.lobby.context import Context
from randomchat.protocol import ServerEvent


def arriving(ctx: Context, sid: str, event: str, data: Any) -> Any:
    """``data`` as ``sid`` must get it: a match-found with the ICE servers of its user here."""
    if event != ServerEvent.MATCH_FOUND or not isinstance(data, dict):
        return data
    conn = ctx.connections.get(sid)
    if conn is None:
        return data  # not held here (any more): it will not be delivered anyway
    # Whatever the sender put there is replaced, so an older node's uncapped credential
    # (a rolling deploy) does not reach the page either.
    servers = ctx.rules.ice.servers(conn.user_id, ctx.wall(), conn.token_expires)
    return {**data, "iceServers": servers}
