"""What the lobby asks the gateway to do, as values: the lobby itself never touches a socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from randomchat.db import Ban
from randomchat.protocol import ServerEvent


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``event`` to socket ``to``."""

    to: str
    event: ServerEvent
    data: Any = None  # a protocol payload; None: the event carries none (the acks)
    # The partner: the sender of what it relays (signals, chat, typing, media state) and
    # of the end of the call, or the one a match-found or call-resumed names. Delivery
    # lets a partner's event through only inside the call the socket was told of.
    source: str | None = None


@dataclass(frozen=True, slots=True)
class FlushLater:
    """Flush ``sid``'s pending ICE candidates on the next turn of the event loop."""

    sid: str


@dataclass(frozen=True, slots=True)
class HangUp:
    """``sid`` ended its own call (Next, Stop, block, report): what its partner sent
    before that may not reach it any more."""

    sid: str


@dataclass(frozen=True, slots=True)
class Kick:
    """Tell a banned socket why and close it."""

    sid: str
    ban: Ban


Effect = Emit | FlushLater | HangUp | Kick
