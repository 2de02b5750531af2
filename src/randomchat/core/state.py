"""Where a connection stands in the lobby, and the table of allowed moves.

A connection is IDLE (connected, not searching), WAITING (in the queue) or
MATCHED (paired with one partner). Every change of phase goes through
``advance``; a move the table does not list raises ``IllegalMove`` with the
message the client sees. Moves that leave the phase unchanged (``leave`` while
idle) are listed explicitly so that "nothing to do" is a decision, not an accident.
"""

from __future__ import annotations

import enum

from randomchat.errors import IllegalMove


class Phase(enum.Enum):
    IDLE = "idle"
    WAITING = "waiting"
    MATCHED = "matched"


class Move(enum.Enum):
    QUEUE = "queue"  # searched and nobody suitable was waiting
    MATCH = "match"  # paired, either as the newcomer or as the one who waited
    LEAVE = "leave"  # stop waiting or end the call
    PARTNER_GONE = "partner_gone"  # the partner ended the call or vanished


_TABLE: dict[tuple[Phase, Move], Phase] = {
    (Phase.IDLE, Move.QUEUE): Phase.WAITING,
    (Phase.IDLE, Move.MATCH): Phase.MATCHED,
    (Phase.WAITING, Move.MATCH): Phase.MATCHED,
    (Phase.WAITING, Move.LEAVE): Phase.IDLE,
    (Phase.MATCHED, Move.LEAVE): Phase.IDLE,
    (Phase.MATCHED, Move.PARTNER_GONE): Phase.IDLE,
    (Phase.IDLE, Move.LEAVE): Phase.IDLE,
}

# The seed's wording for the two refusals a client can provoke.
ALREADY_IN_QUEUE = "Already in queue"
ALREADY_IN_MATCH = "Already in a match"

_REFUSALS: dict[Phase, str] = {
    Phase.WAITING: ALREADY_IN_QUEUE,
    Phase.MATCHED: ALREADY_IN_MATCH,
}


def advance(phase: Phase, move: Move) -> Phase:
    """Return the phase after ``move``, or raise ``IllegalMove``."""
    try:
        return _TABLE[(phase, move)]
    except KeyError:
        message = _REFUSALS.get(phase, f"Cannot {move.value} while {phase.value}")
        raise IllegalMove(message) from None


def check_can_search(phase: Phase) -> None:
    """Raise ``IllegalMove`` unless a search may start from ``phase``."""
    if phase is not Phase.IDLE:
        raise IllegalMove(_REFUSALS[phase])
