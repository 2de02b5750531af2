import pytest

from randomchat.core import requests
from randomchat.core.history import PairHistory
from randomchat.errors import InvalidPayload


def test_pair_history_is_symmetric_and_windowed() -> None:
    history = PairHistory(window=600)
    history.record("a", "b", 100.0)
    assert history.recent("a", 200.0) == {"b"} and history.recent("b", 200.0) == {"a"}
    assert history.previous("a") == "b"
    history.record("a", "c", 300.0)
    assert history.previous("a") == "c" and history.previous("b") == "a"
    assert history.recent("a", 750.0) == {"c"}
    history.prune(700.0)
    assert history.recent("b", 700.0) == frozenset() and history.previous("b") is None
    assert history.previous("a") == "c"
    history.prune(1000.0)
    assert len(history) == 0


def test_search_options_normalise_interests() -> None:
    opts = requests.search_options("find-partner", ({"interests": [" Music ", "music", "ART"]},))
    assert opts.interests == frozenset({"music", "art"}) and not opts.strict
    assert requests.search_options("find-partner", ()).interests == frozenset()
    assert requests.search_options("next", ({"interests": ["a"], "strict": True},)).strict
    assert not requests.search_options("next", ({"interests": [], "strict": True},)).strict


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"interests": "music"}, "'interests' must be a list"),
        ({"interests": ["ok", "   "]}, "interest '   ' must be 1-30"),
        ({"interests": ["x" * 31]}, "must be 1-30"),
        ({"interests": [5]}, "interest 5 must be"),
        ({"interests": [str(i) for i in range(11)]}, "at most 10 interests, got 11"),
        ({"interests": ["a"], "strict": "yes"}, "'strict' must be true or false"),
    ],
)
def test_bad_interests_name_the_problem(payload: object, message: str) -> None:
    with pytest.raises(InvalidPayload) as info:
        requests.search_options("find-partner", (payload,))
    assert message in str(info.value)


def test_chat_message_cleaning_and_limits() -> None:
    assert requests.chat_message(({"text": "  hi\u0007 there\u200b ", "id": "m1"},)) == (
        "hi there",
        "m1",
    )
    assert requests.chat_message(({"text": "a\nb", "id": 7},)) == ("a b", 7)
    assert requests.chat_message(({"text": "x" * 1000, "id": "m"},))[0] == "x" * 1000
    for payload, message in [
        ({"text": "x" * 1001, "id": "m"}, "longer than 1000"),
        ({"text": " \u0000 ", "id": "m"}, "'text' is empty"),
        ({"text": 5, "id": "m"}, "'text' must be a string"),
        ({"text": "hi"}, "'id' must be"),
        ({"text": "hi", "id": True}, "'id' must be"),
    ]:
        with pytest.raises(InvalidPayload, match=message):
            requests.chat_message((payload,))


def test_typing_and_report() -> None:
    assert requests.typing(({"active": True},)) is True
    with pytest.raises(InvalidPayload):
        requests.typing(({"active": 1},))
    assert requests.report(({"reason": "spam"},)) == ("spam", "")
    assert requests.report(({"reason": "other", "note": " rude\u0000 "},)) == ("other", "rude")
    with pytest.raises(InvalidPayload, match="must be one of nudity"):
        requests.report(({"reason": "boring"},))
    with pytest.raises(InvalidPayload, match="longer than 500"):
        requests.report(({"reason": "other", "note": "x" * 501},))
