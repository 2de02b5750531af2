import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randomchat.core.history import PairHistory
from randomchat.errors import InvalidPayload
from randomchat.protocol import parse, parse_requests, text

pytestmark = pytest.mark.pure


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


@given(
    st.lists(
        st.tuples(st.sampled_from("abcde"), st.sampled_from("abcde"), st.floats(0, 5)),
        max_size=40,
    ),
    st.floats(0, 3),
)
def test_pair_history_reads_only_the_window_yet_answers_as_a_full_scan(
    steps: list[tuple[str, str, float]], window: float
) -> None:
    history, last = PairHistory(window), {}
    now = 0.0
    for a, b, gap in steps:
        if a == b:
            continue
        now += gap  # time passed in only grows
        history.record(a, b, now)
        last[a, b] = last[b, a] = now
        if gap > 4:
            history.prune(now)
        for user in "abcde":
            naive = {o for (u, o), at in last.items() if u == user and now - at < window}
            assert history.recent(user, now) == naive


def test_a_pairing_recorded_late_never_hides_a_newer_one() -> None:
    history = PairHistory(3.0)
    history.record("a", "b", 10.0)
    history.record("a", "c", 9.0)  # its clock was read before an await
    assert history.recent("a", 12.5) == {"b", "c"}


def test_search_options_normalise_interests() -> None:
    opts = parse.find_partner(({"interests": [" Music ", "music", "ART"]},))
    assert opts.interests == frozenset({"music", "art"}) and not opts.strict
    assert parse.find_partner(()).interests == frozenset()
    assert parse.next_partner(({"interests": ["a"], "strict": True},)).strict
    assert not parse.next_partner(({"interests": [], "strict": True},)).strict


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
        parse.find_partner((payload,))
    assert message in str(info.value)


def chat(payload: dict[str, Any]) -> tuple[str, str | int]:
    """Validate, then clean, as the lobby does (with its rate and partner checks between)."""
    raw, msg_id, _ = parse_requests.chat_message((payload,))
    return parse_requests.chat_text(raw), msg_id


def test_chat_message_cleaning_and_limits() -> None:
    assert chat({"text": "  hi\u0007 there\u200b ", "id": "m1"}) == ("hi there", "m1")
    assert chat({"text": "a\nb", "id": 7}) == ("a b", 7)
    assert chat({"text": "x" * 1000, "id": "m"})[0] == "x" * 1000
    for payload, message in [
        ({"text": "x" * 1001, "id": "m"}, "longer than 1000"),
        ({"text": " \u0000 ", "id": "m"}, "'text' is empty"),
        ({"text": 5, "id": "m"}, "'text' must be a string"),
        ({"text": "hi"}, "'id' must be"),
        ({"text": "hi", "id": True}, "'id' must be"),
        ({"text": "hi", "id": 2**60}, "'id' must be"),
    ]:
        with pytest.raises(InvalidPayload, match=message):
            chat(payload)


def test_over_long_raw_text_is_refused_before_cleaning(monkeypatch: Any) -> None:
    """A 1 MB message costs one length check: it never reaches the cleaner (issue 8, item 3)."""
    cleaned: list[int] = []
    monkeypatch.setattr(parse_requests, "clean_text", lambda raw: cleaned.append(len(raw)) or raw)
    for payload in (
        {"text": "\u200b" * 1_000_000, "id": "m"},
        {"reason": "spam", "note": "\u0007" * 1_000_000},
    ):
        with pytest.raises(InvalidPayload, match="longer than"):
            if "reason" in payload:
                parse_requests.report_partner((payload,))
            else:
                chat(payload)
    assert cleaned == []


def test_cleaning_keeps_what_real_text_needs() -> None:
    """Emoji sequences, direction marks and flags survive; bidi overrides and controls don't."""
    coder = "\U0001f469\u200d\U0001f4bb"  # woman technologist: a ZWJ sequence
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    hebrew = "\u05e9\u05dc\u05d5\u05dd!\u200f"
    assert text.clean_text(f" {coder} {scotland} {hebrew} ") == f"{coder} {scotland} {hebrew}"
    assert text.clean_text("a\u202eb\u2066c\x00d\x85e\ufeff") == "abcde"
    assert text.clean_text("tab\there") == "tab here"


def test_the_cleaning_class_matches_unicodedata() -> None:
    """Every Cc, Cs and Cf code point is removed except the ones kept on purpose."""
    kept = {0x200C, 0x200D, 0x200E, 0x200F, 0x061C, *range(0xE0020, 0xE0080)}
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        unwanted = unicodedata.category(char) in ("Cc", "Cs", "Cf") and cp not in kept
        assert bool(text._UNWANTED.fullmatch(char)) == unwanted, hex(cp)


def test_a_huge_bad_interest_is_not_echoed() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse.find_partner(({"interests": ["x" * 900_000]},))
    assert len(str(info.value)) < 200


def test_typing_and_report() -> None:
    assert parse_requests.typing(({"active": True},)) is True
    with pytest.raises(InvalidPayload):
        parse_requests.typing(({"active": 1},))
    assert parse_requests.report_partner(({"reason": "spam"},)) == parse_requests.Report("spam", "")
    assert parse_requests.report_partner(
        ({"reason": "other", "note": " rude\u0000 "},)
    ) == parse_requests.Report("other", "rude")
    with pytest.raises(InvalidPayload, match="must be one of nudity"):
        parse_requests.report_partner(({"reason": "boring"},))
    with pytest.raises(InvalidPayload, match="longer than 500"):
        parse_requests.report_partner(({"reason": "other", "note": "x" * 501},))
