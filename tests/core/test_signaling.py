from typing import Any

import pytest

from randomchat.errors import InvalidPayload
from randomchat.protocol import parse

pytestmark = pytest.mark.pure

OFFER = {"offer": {"type": "offer", "sdp": "v=0\r\n"}}
CAND = {
    "candidate": {
        "candidate": "candidate:1 1 UDP 1 1.2.3.4 5 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
}


def test_valid_payloads_pass_verbatim() -> None:
    assert parse.signal_offer((OFFER,)) == (OFFER, None)
    assert parse.signal_offer(({**OFFER, "callId": "c1"},)).call_id == "c1"
    answer = {"answer": {"type": "answer", "sdp": "v=0\r\n"}, "extra": 1}
    assert parse.signal_answer((answer,)).payload is answer
    assert parse.signal_ice_candidate((CAND,)).payload is CAND["candidate"]
    end = {"candidate": {"candidate": "", "sdpMid": None, "sdpMLineIndex": None}}
    assert parse.signal_ice_candidate((end,)) == (end["candidate"], None)
    assert parse.heartbeat(({"sentAt": 123},)) == 123.0
    assert parse.bare("find-partner", ()) == {}
    assert parse.bare("find-partner", (None,)) == {}
    assert parse.call_stats(
        ({"timeToMediaMs": 800, "candidateType": "relay", "rttMs": None},)
    ) == parse.CallOutcome("connected", 800.0, "relay", None)
    assert parse.call_stats(({"outcome": "failed"},)) == parse.CallOutcome("failed")


BAD: list[tuple[Any, tuple[Any, ...], str]] = [
    (parse.signal_offer, (), "expected one JSON object, got nothing"),
    (parse.signal_offer, (None,), "got NoneType"),
    (parse.signal_offer, ("x",), "got str"),
    (parse.signal_offer, ({}, {}), "got several"),
    (parse.signal_offer, ({"offer": "sdp"},), "'offer' must be an object"),
    (
        parse.signal_offer,
        ({"offer": {"type": "answer", "sdp": "x"}},),
        "'offer.type' must be 'offer'",
    ),
    (parse.signal_offer, ({"offer": {"type": "offer", "sdp": 3}},), "'offer.sdp' must be"),
    (parse.signal_answer, ({"answer": {"type": "answer"}},), "'answer.sdp' must be"),
    (parse.signal_ice_candidate, ({"candidate": None},), "'candidate' must be"),
    (parse.signal_ice_candidate, ({"candidate": {"candidate": 5}},), "'candidate.candidate'"),
    (parse.signal_ice_candidate, ({"candidate": {"candidate": "", "sdpMid": 1}},), "sdpMid"),
    (
        parse.signal_ice_candidate,
        ({"candidate": {"candidate": "", "sdpMLineIndex": -1}},),
        "sdpMLineIndex",
    ),
    (
        parse.signal_ice_candidate,
        ({"candidate": {"candidate": "", "sdpMLineIndex": True}},),
        "sdpMLineIndex",
    ),
    (parse.heartbeat, ({"sentAt": "now"},), "'sentAt' must be a number"),
    (parse.heartbeat, ({"sentAt": True},), "'sentAt' must be a number"),
    (parse.call_stats, ({"timeToMediaMs": -1, "candidateType": "host"},), "timeToMediaMs"),
    (parse.call_stats, ({"timeToMediaMs": 1, "candidateType": "tcp"},), "candidateType"),
    (parse.call_stats, ({"timeToMediaMs": 1, "candidateType": "host", "rttMs": "1"},), "rttMs"),
    (parse.signal_offer, ({**OFFER, "callId": ""},), "'callId' must be a string of 1-64"),
    (parse.signal_ice_candidate, ({**CAND, "callId": 7},), "'callId' must be a string"),
]


@pytest.mark.parametrize(("check", "args", "message"), BAD)
def test_malformed_payloads_are_refused_with_a_clear_message(
    check: Any, args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(InvalidPayload) as info:
        check(args)
    assert message in str(info.value)


def test_bare_events_refuse_non_objects() -> None:
    with pytest.raises(InvalidPayload, match="find-partner: expected one JSON object, got int"):
        parse.bare("find-partner", (5,))
