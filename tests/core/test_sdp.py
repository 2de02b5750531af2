"""Relay-only signaling (issue 22, item a): no address of a sender reaches its partner.

The SDP bodies are shaped like what Chrome and Firefox send (trimmed of codec lines),
with documentation addresses: 198.51.100.2 / 2001:db8::2 are the TURN server's relay
addresses and must stay; 192.168.1.20, 203.0.113.7, 2001:db8:1::7 and fd00::20 are the
sender's own and must not appear anywhere in what is passed on.
"""

from __future__ import annotations

from typing import Any

import pytest

from randomchat.auth import Identity
from randomchat.core import sdp
from randomchat.db import Database
from randomchat.lobby import Emit, Lobby
from randomchat.metrics import Metrics
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from randomchat.turn import IceConfig
from tests.fakes import FakeClock, written

pytestmark = pytest.mark.pure

SENDER = ("192.168.1.20", "203.0.113.7", "2001:db8:1::7", "fd00::20", "alice-laptop.local")
RELAY = ("198.51.100.2", "2001:db8::2")

# Chrome's offer in a relay-only call once gathering is done: c= holds the default (relay)
# candidate, the relay candidates name the peer's public address as raddr.
CHROME_OFFER = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 7f3b2c1d\r\n"
    "m=audio 61000 UDP/TLS/RTP/SAVPF 111 63 9\r\n"
    "c=IN IP4 198.51.100.2\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:3521829232 1 udp 41885439 198.51.100.2 61000 typ relay raddr 203.0.113.7"
    " rport 52044 generation 0 network-id 1 network-cost 10\r\n"
    "a=candidate:2999745851 1 tcp 25108223 198.51.100.2 61002 typ relay raddr 192.168.1.20"
    " rport 9 tcptype passive generation 0 network-id 1\r\n"
    "a=ice-ufrag:Wk7r\r\n"
    "a=ice-pwd:ZsqzXWb5H0l3VnGHkWMyLwXr\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A:3D:D6:A3:E2:9C:17\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 61000 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP6 2001:db8::2\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 41885695 2001:db8::2 61004 typ relay raddr 2001:db8:1::7"
    " rport 52046 generation 0\r\n"
    "a=mid:1\r\n"
    "a=rtcp-rsize\r\n"
)
CHROME_OFFER_RELAY_ONLY = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"  # loopback: Chrome's placeholder
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 7f3b2c1d\r\n"
    "m=audio 61000 UDP/TLS/RTP/SAVPF 111 63 9\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:3521829232 1 udp 41885439 198.51.100.2 61000 typ relay raddr 0.0.0.0"
    " rport 0 generation 0 network-id 1 network-cost 10\r\n"
    "a=candidate:2999745851 1 tcp 25108223 198.51.100.2 61002 typ relay raddr 0.0.0.0"
    " rport 0 tcptype passive generation 0 network-id 1\r\n"
    "a=ice-ufrag:Wk7r\r\n"
    "a=ice-pwd:ZsqzXWb5H0l3VnGHkWMyLwXr\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A:3D:D6:A3:E2:9C:17\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 61000 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 41885695 2001:db8::2 61004 typ relay raddr 0.0.0.0"
    " rport 0 generation 0\r\n"
    "a=mid:1\r\n"
    "a=rtcp-rsize\r\n"
)

# Firefox's answer from a client that gathered everything (its own policy is not ours to
# trust): host, srflx, tcp host candidates, a real a=rtcp address and an IPv6 default.
FIREFOX_ANSWER = (
    "v=0\r\n"
    "o=mozilla...THIS_IS_SDPARTA-128.0 7014542542355925395 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=fingerprint:sha-256 1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=audio 50000 UDP/TLS/RTP/SAVPF 109\r\n"
    "c=IN IP6 fd00::20\r\n"
    "a=candidate:0 1 UDP 2122252543 192.168.1.20 50002 typ host\r\n"
    "a=candidate:1 1 UDP 2122187007 fd00::20 50003 typ host\r\n"
    "a=candidate:2 1 TCP 2105524479 192.168.1.20 9 typ host tcptype active\r\n"
    "a=candidate:3 1 UDP 1686052863 203.0.113.7 50004 typ srflx raddr 192.168.1.20"
    " rport 50002\r\n"
    "a=candidate:4 1 UDP 1686052607 203.0.113.7 50005 typ prflx raddr 192.168.1.20"
    " rport 50002\r\n"
    "a=candidate:5 1 UDP 8265471 198.51.100.2 50000 typ relay raddr 203.0.113.7"
    " rport 50004\r\n"
    "a=candidate:6 1 UDP 8331263 2001:db8::2 50010 typ relay raddr fd00::20 rport 50003\r\n"
    "a=candidate:7 1 UDP 8331007 198.51.100.2 50012 typ relay\r\n"
    "a=candidate:8 2 UDP 1 alice-laptop.local 50013 typ host\r\n"
    "a=sendrecv\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-pwd:5e4b7f6a8c9d0e1f2a3b4c5d6e7f8091\r\n"
    "a=ice-ufrag:8f3a2b1c\r\n"
    "a=mid:0\r\n"
    "a=rtcp:50001 IN IP4 203.0.113.7\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:109 opus/48000/2\r\n"
    "a=setup:active\r\n"
)


def addresses_of_the_sender(text: str) -> list[str]:
    return [address for address in SENDER if address in text]


def test_chrome_offer_keeps_its_relay_address_and_loses_every_other() -> None:
    out = sdp.relay_only_sdp(CHROME_OFFER)
    assert out == CHROME_OFFER_RELAY_ONLY
    assert addresses_of_the_sender(CHROME_OFFER) and not addresses_of_the_sender(out)


def test_firefox_answer_with_every_candidate_type_ipv6_and_an_rtcp_address() -> None:
    out = sdp.relay_only_sdp(FIREFOX_ANSWER)
    assert addresses_of_the_sender(out) == []
    assert all(address in out for address in RELAY)
    candidates = [line for line in out.split("\r\n") if line.startswith("a=candidate:")]
    assert candidates == [
        "a=candidate:5 1 UDP 8265471 198.51.100.2 50000 typ relay raddr 0.0.0.0 rport 0",
        "a=candidate:6 1 UDP 8331263 2001:db8::2 50010 typ relay raddr 0.0.0.0 rport 0",
        "a=candidate:7 1 UDP 8331007 198.51.100.2 50012 typ relay",  # no raddr: as it was
    ]
    assert "\r\nc=IN IP4 0.0.0.0\r\n" in out
    assert "\r\na=rtcp:50001 IN IP4 0.0.0.0\r\n" in out
    assert "IN IP4 0.0.0.0\r\ns=-\r\n" in out  # Firefox's o= line, already a placeholder
    # The structure is intact: every line still ends with CRLF, no line is merged or
    # emptied, and only the candidate lines that are addresses are gone.
    assert out.endswith("\r\n") and "\n" not in out.replace("\r\n", "")
    lines, before = out.split("\r\n"), FIREFOX_ANSWER.split("\r\n")
    assert "" not in lines[:-1] and len(lines) == len(before) - 6
    assert [line for line in before if not line.startswith(("a=candidate:", "c=", "a=rtcp:"))] == [
        line for line in lines if not line.startswith(("a=candidate:", "c=", "a=rtcp:"))
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (  # Chrome, IPv4, with raddr and the extensions after it
            "candidate:3521829232 1 udp 41885439 198.51.100.2 61000 typ relay raddr 203.0.113.7"
            " rport 52044 generation 0 ufrag Wk7r network-id 1 network-cost 10",
            "candidate:3521829232 1 udp 41885439 198.51.100.2 61000 typ relay raddr 0.0.0.0"
            " rport 0 generation 0 ufrag Wk7r network-id 1 network-cost 10",
        ),
        (  # Firefox, IPv6
            "candidate:6 1 UDP 8331263 2001:db8::2 50010 typ relay raddr 2001:db8:1::7 rport 5",
            "candidate:6 1 UDP 8331263 2001:db8::2 50010 typ relay raddr 0.0.0.0 rport 0",
        ),
        (  # TURN over TCP, with tcptype
            "candidate:2999745851 1 tcp 25108223 198.51.100.2 61002 typ relay raddr 192.168.1.20"
            " rport 9 tcptype passive",
            "candidate:2999745851 1 tcp 25108223 198.51.100.2 61002 typ relay raddr 0.0.0.0"
            " rport 0 tcptype passive",
        ),
        (  # no raddr: nothing of the peer to hide
            "candidate:7 1 UDP 8331007 198.51.100.2 50012 typ relay",
            "candidate:7 1 UDP 8331007 198.51.100.2 50012 typ relay",
        ),
        (  # already masked by the browser
            "candidate:1 1 udp 41885439 198.51.100.2 61000 typ relay raddr 0.0.0.0 rport 0",
            "candidate:1 1 udp 41885439 198.51.100.2 61000 typ relay raddr 0.0.0.0 rport 0",
        ),
        ("candidate:0 1 UDP 2122252543 192.168.1.20 50002 typ host", None),
        ("candidate:2 1 TCP 2105524479 192.168.1.20 9 typ host tcptype active", None),
        ("candidate:1 1 UDP 2122187007 fd00::20 50003 typ host", None),
        ("candidate:9 1 udp 2122260223 5d3c0b6e-4bd1.local 54400 typ host generation 0", None),
        ("candidate:3 1 UDP 1686052863 203.0.113.7 50004 typ srflx raddr 0.0.0.0 rport 0", None),
        ("candidate:4 1 UDP 1686052607 203.0.113.7 50005 typ prflx", None),
        ("no type at all", None),
    ],
)
def test_trickled_candidates(line: str, expected: str | None) -> None:
    assert sdp.relay_only_candidate(line) == expected
    init = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "Wk7r"}
    kept = sdp.relay_only_ice(init)
    assert kept == (None if expected is None else {**init, "candidate": expected})
    assert init["candidate"] == line  # the caller's object is not changed


def test_the_end_of_candidates_marker_passes() -> None:
    end: dict[str, Any] = {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}
    assert sdp.relay_only_ice(end) is end


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("c=IN IP4 203.0.113.7", "c=IN IP4 0.0.0.0"),
        ("c=IN IP6 2001:db8:1::7", "c=IN IP4 0.0.0.0"),
        ("c=IN IP4 224.2.1.1/127", "c=IN IP4 0.0.0.0"),
        ("c=IN IP4 alice-laptop.local", "c=IN IP4 0.0.0.0"),
        ("c=IN IP4 0.0.0.0", "c=IN IP4 0.0.0.0"),
        ("c=IN IP6 ::", "c=IN IP6 ::"),
        ("a=rtcp:50001 IN IP4 203.0.113.7", "a=rtcp:50001 IN IP4 0.0.0.0"),
        ("a=rtcp:50001 IN IP6 fd00::20", "a=rtcp:50001 IN IP4 0.0.0.0"),
        ("a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0"),
        ("a=rtcp:9", "a=rtcp:9"),
        ("a=rtcp-mux", "a=rtcp-mux"),
        ("a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 nack pli"),
        (
            "o=- 3870000000 3870000000 IN IP4 192.168.1.20",
            "o=- 3870000000 3870000000 IN IP4 0.0.0.0",
        ),
        ("o=- 1 2 IN IP4 127.0.0.1", "o=- 1 2 IN IP4 127.0.0.1"),
    ],
)
def test_address_fields_are_masked(line: str, expected: str) -> None:
    for ending in ("\r\n", "\n"):
        assert sdp.relay_only_sdp(f"v=0{ending}{line}{ending}") == f"v=0{ending}{expected}{ending}"
    assert sdp.relay_only_sdp(f"v=0\r\n{line}") == f"v=0\r\n{expected}"  # no final newline


def test_line_endings_are_kept_and_dropped_lines_take_their_own_ending() -> None:
    body = (
        "v=0\na=candidate:1 1 udp 5 1.2.3.4 9 typ host\n"
        "a=candidate:2 1 udp 5 5.6.7.8 9 typ relay\r\na=candidate:3 1 udp 5 1.2.3.4 9 typ host"
    )
    assert sdp.relay_only_sdp(body) == "v=0\na=candidate:2 1 udp 5 5.6.7.8 9 typ relay\r\n"
    assert sdp.relay_only_sdp("") == ""


def test_candidate_type() -> None:
    assert sdp.candidate_type("candidate:1 1 udp 5 1.2.3.4 9 typ srflx raddr x") == "srflx"
    assert sdp.candidate_type("a=candidate:1 1 udp 5 1.2.3.4 9 typ relay") == "relay"
    assert sdp.candidate_type("garbage") is None


# Through the lobby: offers, answers and trickled candidates of a relay-only call.


@pytest.fixture
async def db(tmp_path: Any) -> Any:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    yield database
    await database.close()


async def relay_only_call(db: Database) -> Lobby:
    ice = IceConfig(turn_urls=("turn:127.0.0.1:3478",), turn_secrets=("turn-secret-0123456",))
    lobby = Lobby(MemoryStore(), db, FakeClock(), Metrics(), Rules(ice=ice))
    for sid in ("a", "b"):
        await lobby.connect(sid, Identity(f"u-{sid}", sid.upper()))
    await lobby.search.find_partner("a", ({"privacy": True},))
    effects = written(lobby, await lobby.search.find_partner("b", ()))
    assert {e.data["iceTransportPolicy"] for e in effects if isinstance(e, Emit)} == {"relay"}
    return lobby


def sent_to(effects: list[Any], sid: str) -> list[Any]:
    return [e.data for e in effects if isinstance(e, Emit) and e.to == sid]


async def test_a_relay_only_call_passes_no_address_of_either_side(db: Database) -> None:
    lobby = await relay_only_call(db)
    offer = {"offer": {"type": "offer", "sdp": CHROME_OFFER}}
    [passed] = sent_to(await lobby.relay.offer("b", (offer,)), "a")
    assert passed["offer"] == {"type": "offer", "sdp": CHROME_OFFER_RELAY_ONLY}
    answer = {"answer": {"type": "answer", "sdp": FIREFOX_ANSWER}}
    [passed] = sent_to(await lobby.relay.answer("a", (answer,)), "b")
    assert passed["answer"]["sdp"] == sdp.relay_only_sdp(FIREFOX_ANSWER)
    assert addresses_of_the_sender(passed["answer"]["sdp"]) == []
    for line in [
        "candidate:0 1 UDP 2122252543 192.168.1.20 50002 typ host",
        "candidate:5 1 UDP 8265471 198.51.100.2 50000 typ relay raddr 203.0.113.7 rport 50004",
        "candidate:6 1 tcp 8331263 2001:db8::2 443 typ relay raddr fd00::20 rport 9 tcptype so",
        "",
    ]:
        init = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}
        await lobby.relay.ice_candidate("a", ({"candidate": init},))
    relayed = sent_to(await lobby.relay.flush_candidates("a"), "b")
    assert [c["candidate"] for c in relayed[0]["candidates"]] == [
        "candidate:5 1 UDP 8265471 198.51.100.2 50000 typ relay raddr 0.0.0.0 rport 0",
        "candidate:6 1 tcp 8331263 2001:db8::2 443 typ relay raddr 0.0.0.0 rport 0 tcptype so",
        "",
    ]


async def test_an_ordinary_call_passes_descriptions_and_candidates_verbatim(db: Database) -> None:
    ice = IceConfig(turn_urls=("turn:127.0.0.1:3478",), turn_secrets=("turn-secret-0123456",))
    lobby = Lobby(MemoryStore(), db, FakeClock(), Metrics(), Rules(ice=ice))
    for sid in ("a", "b"):
        await lobby.connect(sid, Identity(f"u-{sid}", sid.upper()))
        written(lobby, await lobby.search.find_partner(sid, ()))
    answer = {"answer": {"type": "answer", "sdp": FIREFOX_ANSWER}}
    assert sent_to(await lobby.relay.answer("a", (answer,)), "b") == [answer]
    init = {"candidate": "candidate:3 1 UDP 1 203.0.113.7 5 typ srflx raddr 192.168.1.20 rport 5"}
    await lobby.relay.ice_candidate("a", ({"candidate": init},))
    assert sent_to(await lobby.relay.flush_candidates("a"), "b") == [{"candidate": init}]
