"""Whether this deployment can keep a user's IP address from their partner.

The page asks before a call (``GET /api/rules`` ``privacy``) and offers "Hide my IP"
only when a relay-only call can really happen; the lobby refuses a ``privacy`` search
where it cannot, rather than pair the user host to host while they believe they are
hidden (docs/protocol.md, privacy mode).
"""

from __future__ import annotations

from randomchat.protocol import PrivacyMode
from randomchat.turn import IceConfig


def privacy_mode(ice: IceConfig) -> PrivacyMode:
    """``always`` with ``--ice-policy relay``, else ``no-turn`` without a TURN server,
    ``off`` when the operator forbids the choice, otherwise ``available``."""
    if ice.policy == "relay":
        return "always"
    if not ice.has_turn:
        return "no-turn"
    if not ice.privacy_allowed:
        return "off"
    return "available"
