"""Calls across real NATs: the lab of tests/natlab, each case behaving as stated.

Network namespaces with nftables routers (cone, symmetric, UDP blocked, TCP 443 only),
a public side with ``randomchat serve`` and coturn in its safe configuration, and our
peers behind the routers (see tests/natlab/topology.py): the bots, the real page in
Chromium, and ``randomchat doctor``. After every case the server's candidate-type
counter (fed by the peers' ``call-stats``) must hold exactly the selected pairs the
peers reported. Needs root and namespaces: without them the module is skipped, and
under ``CI=true`` that is a failure. One lab is built for the module (about 95 s in
all); its namespaces, nft tables and processes are removed on every path out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.natlab.cases import CASES, TURN_TCP, TURNS_443, Case, Result, run_case
from tests.natlab.topology import Lab, available

pytestmark = pytest.mark.process

BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    why = available()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the NAT lab: {why}")
        pytest.skip(why)
    built = Lab(Path(tmp_path_factory.mktemp("nat-lab")))
    try:
        built.build()
        built.start_coturn()
        yield built
    finally:
        built.close()


def run(lab: Lab, name: str) -> Result:
    result = run_case(lab, BY_NAME[name])
    print(result.line())  # the figures, with -s
    # The relay-share figure is what the peers said: each connected side's local type,
    # counted once (a failed call counts no type).
    assert result.server_types == result.reported_types(), result.line()
    return result


def pair(report: dict[str, object]) -> tuple[object, object]:
    return report["local_candidate"], report["remote_candidate"]


def test_cone_to_cone_is_direct(lab: Lab) -> None:
    result = run(lab, "cone/cone STUN")
    assert result.connected, result.line()
    # both behind a NAT: each side's packets leave through its mapping, found by STUN
    assert pair(result.a) == pair(result.b) == ("srflx", "srflx"), result.line()
    assert result.a["video_frames"] and result.b["video_frames"], result.line()
    # the routers count a direct call, so the zeros of the relay-only cases mean something
    assert result.counters["a"]["peers_out"] > 0 and result.counters["b"]["peers_in"] > 0


def test_symmetric_to_symmetric_without_turn_fails_honestly(lab: Lab) -> None:
    case: Case = BY_NAME["symmetric/symmetric STUN"]
    result = run(lab, case.name)
    for side in (result.a, result.b):
        assert side["connect_ms"] is None, result.line()
    # what the peer is told, and when: after its own connect timeout; the partner, if it
    # has not given up by then itself, is told the call ended
    said = {result.a["failure"], result.b["failure"]}
    assert f"not connected within {case.within:g} s" in said, result.line()
    assert said <= {f"not connected within {case.within:g} s", None}, result.line()


def test_symmetric_to_symmetric_goes_through_turn(lab: Lab) -> None:
    result = run(lab, "symmetric/symmetric TURN udp")
    assert result.connected, result.line()
    # one relay, and both sides say so: each one's local is the other's remote
    a_local, a_remote = pair(result.a)
    b_local, b_remote = pair(result.b)
    assert "relay" in (a_local, b_local), result.line()
    assert (a_local, a_remote) == (b_remote, b_local), result.line()


def test_udp_blocked_connects_with_the_readme_order(lab: Lab) -> None:
    """UDP first in the list, as in the README: the blocked side relays over TCP (plain
    or TLS: both allocate, and whichever pair ICE picks first wins)."""
    result = run(lab, "udp-blocked/cone README order")
    assert result.connected, result.line()
    assert pair(result.a)[0] == "relay" and pair(result.b)[1] == "relay", result.line()
    assert result.a["relay_url"] in (TURN_TCP, TURNS_443), result.a


def test_tcp_443_only_connects_through_turns(lab: Lab) -> None:
    result = run(lab, "tcp443-only/cone turns:443")
    assert result.connected, result.line()
    # only the TLS URL on 443 can work from there
    assert pair(result.a)[0] == "relay", result.line()
    assert result.a["relay_url"] == TURNS_443, result.a


def test_relay_only_sends_no_packet_between_the_peers(lab: Lab) -> None:
    result = run(lab, "relay-only cone/cone")
    assert result.connected, result.line()
    assert pair(result.a) == pair(result.b) == ("relay", "relay"), result.line()
    for side in ("a", "b"):
        assert result.counters[side] == {"peers_out": 0, "peers_in": 0}, result.counters
    assert set(result.b["signaled"]) == {"relay"}, result.b


def test_relay_only_server_passes_no_candidate_of_a_hostile_peer(lab: Lab) -> None:
    result = run(lab, "relay-only adversary/cone")
    # the adversary did gather and send host and server-reflexive candidates ...
    gathered = result.a["gathered"]
    assert gathered.get("host") and gathered.get("srflx"), result.a
    # ... and its partner got none of them: only relays, in the SDP and trickled
    assert set(result.b["signaled"]) == {"relay"}, result.b
    assert result.connected, result.line()
    assert pair(result.b) == ("relay", "relay"), result.line()
    for side in ("a", "b"):
        assert result.counters[side] == {"peers_out": 0, "peers_in": 0}, result.counters


def test_page_connects_from_a_udp_blocking_network(lab: Lab) -> None:
    """The real page in Chromium behind the UDP-dropping router, the echo peer behind a
    cone: the browser's own ICE falls back to TURN over TCP or TLS (README order, UDP
    first), and the page says so in its words."""
    result = run(lab, "page udp-blocked/cone README order")
    assert result.connected, result.line()
    page, echo = result.a, result.b
    assert page["connection_state"] == "connected" and page["words"] == "Connected", page
    assert page["video_frames"] > 5, page  # our own camera came back through the relay
    assert page["local_candidate"] == "relay" and echo["remote_candidate"] == "relay", page
    # the page's call-stats reached the server (the counter check in run() reads it)
    assert page["stats_counted"] == 2, page


def test_doctor_from_a_udp_blocking_network_names_the_path(lab: Lab) -> None:
    result = run(lab, "doctor udp-blocked README order")
    output = str(result.a["output"])
    assert re.search(r"FAIL\s+TURN udp ", output), output
    assert re.search(r"ok\s+TURN tcp ", output) and re.search(r"ok\s+TURN tls ", output), output
    assert "UDP is blocked from here; TURN over TCP and TURN over TLS work" in output, output
    # the secret is right: nothing may send the operator to change it
    assert "secret" not in output.lower(), output
    # its relay-only call with its own echo bot goes through TURN over TCP or TLS
    assert result.connected, output
    assert pair(result.a) == ("relay", "relay"), output
    assert result.a["exit"] == 1, output  # STUN and TURN udp failed: not a clean bill
