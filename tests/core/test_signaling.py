from typing import Any

import pytest

from randomchat.core import signaling
from randomchat.errors import InvalidPayload

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
    assert signaling.offer((OFFER,)) is OFFER
    answer = {"answer": {"type": "answer", "sdp": "v=0\r\n"}, "extra": 1}
    assert signaling.answer((answer,)) is answer
    assert signaling.ice_candidate((CAND,)) is CAND["candidate"]
    end = {"candidate": {"candidate": "", "sdpMid": None, "sdpMLineIndex": None}}
    assert signaling.ice_candidate((end,)) == end["candidate"]
    assert signaling.heartbeat(({"sentAt": 123},)) == 123.0
    assert signaling.bare("find-partner", ()) == {}
    assert signaling.bare("find-partner", (None,)) == {}
    assert signaling.call_stats(
        ({"timeToMediaMs": 800, "candidateType": "relay", "rttMs": None},)
    ) == signaling.CallStats("connected", 800.0, "relay", None)
    assert signaling.call_stats(({"outcome": "failed"},)) == signaling.CallStats("failed")


BAD: list[tuple[Any, tuple[Any, ...], str]] = [
    (signaling.offer, (), "expected one JSON object, got nothing"),
    (signaling.offer, (None,), "got NoneType"),
    (signaling.offer, ("x",), "got str"),
    (signaling.offer, ({}, {}), "got several"),
    (signaling.offer, ({"offer": "sdp"},), "'offer' must be an object"),
    (signaling.offer, ({"offer": {"type": "answer", "sdp": "x"}},), "'offer.type' must be 'offer'"),
    (signaling.offer, ({"offer": {"type": "offer", "sdp": 3}},), "'offer.sdp' must be"),
    (signaling.answer, ({"answer": {"type": "answer"}},), "'answer.sdp' must be"),
    (signaling.ice_candidate, ({"candidate": None},), "'candidate' must be"),
    (signaling.ice_candidate, ({"candidate": {"candidate": 5}},), "'candidate.candidate'"),
    (signaling.ice_candidate, ({"candidate": {"candidate": "", "sdpMid": 1}},), "sdpMid"),
    (
        signaling.ice_candidate,
        ({"candidate": {"candidate": "", "sdpMLineIndex": -1}},),
        "sdpMLineIndex",
    ),
    (
        signaling.ice_candidate,
        ({"candidate": {"candidate": "", "sdpMLineIndex": True}},),
        "sdpMLineIndex",
    ),
    (signaling.heartbeat, ({"sentAt": "now"},), "'sentAt' must be a number"),
    (signaling.heartbeat, ({"sentAt": True},), "'sentAt' must be a number"),
    (signaling.call_stats, ({"timeToMediaMs": -1, "candidateType": "host"},), "timeToMediaMs"),
    (signaling.call_stats, ({"timeToMediaMs": 1, "candidateType": "tcp"},), "candidateType"),
    (signaling.call_stats, ({"timeToMediaMs": 1, "candidateType": "host", "rttMs": "1"},), "rttMs"),
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
        signaling.bare("find-partner", (5,))
