import pytest

from randomchat.core.state import Move, Phase, advance, check_can_search
from randomchat.errors import IllegalMove

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("phase", "move", "after"),
    [
        (Phase.IDLE, Move.QUEUE, Phase.WAITING),
        (Phase.IDLE, Move.MATCH, Phase.MATCHED),
        (Phase.WAITING, Move.MATCH, Phase.MATCHED),
        (Phase.WAITING, Move.LEAVE, Phase.IDLE),
        (Phase.MATCHED, Move.LEAVE, Phase.IDLE),
        (Phase.MATCHED, Move.PARTNER_GONE, Phase.IDLE),
        (Phase.IDLE, Move.LEAVE, Phase.IDLE),
    ],
)
def test_allowed_moves(phase: Phase, move: Move, after: Phase) -> None:
    assert advance(phase, move) is after


@pytest.mark.parametrize(
    ("phase", "move", "message"),
    [
        (Phase.WAITING, Move.QUEUE, "Already in queue"),
        (Phase.MATCHED, Move.QUEUE, "Already in a match"),
        (Phase.MATCHED, Move.MATCH, "Already in a match"),
        (Phase.IDLE, Move.PARTNER_GONE, "Cannot partner_gone while idle"),
        (Phase.WAITING, Move.PARTNER_GONE, "Already in queue"),
    ],
)
def test_illegal_moves_raise_with_client_message(phase: Phase, move: Move, message: str) -> None:
    with pytest.raises(IllegalMove) as info:
        advance(phase, move)
    assert info.value.message == message


def test_search_only_from_idle() -> None:
    check_can_search(Phase.IDLE)
    with pytest.raises(IllegalMove, match="Already in queue"):
        check_can_search(Phase.WAITING)
    with pytest.raises(IllegalMove, match="Already in a match"):
        check_can_search(Phase.MATCHED)
