"""The Python peer's pure parts: candidates from the wire, ICE settings, the generated media."""

from __future__ import annotations

import subprocess
import sys

import pytest
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from randomchat.client.commands import add_commands
from randomchat.client.media import PatternTrack, ToneTrack, rms_level
from randomchat.client.peer import candidate_from_init, rtc_configuration
from randomchat.client.session import IceSettings

pytestmark = pytest.mark.process

HOST = "candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host generation 0"
RELAY = "candidate:3 1 udp 41885439 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0"


def test_candidate_from_a_browser_init() -> None:
    c = candidate_from_init({"candidate": RELAY, "sdpMid": "0", "sdpMLineIndex": 0})
    assert c is not None
    assert (c.type, c.ip, c.port, c.sdpMid, c.sdpMLineIndex) == (
        "relay",
        "203.0.113.9",
        3478,
        "0",
        0,
    )
    # without sdpMid or index it goes to the bundled transport
    bare = candidate_from_init({"candidate": "a=" + HOST})
    assert bare is not None and bare.type == "host" and bare.sdpMLineIndex == 0


@pytest.mark.parametrize(
    "init",
    [
        None,
        "candidate",
        {"candidate": ""},  # a browser's end-of-candidates
        {"candidate": "candidate:1 1 udp"},  # too short: aiortc asserts
        {"candidate": "candidate:1 x udp y 1.2.3.4 z typ host"},
        {"candidate": 42},
    ],
)
def test_unusable_candidates_are_skipped(init: object) -> None:
    assert candidate_from_init(init) is None


def test_ice_settings_from_match_found() -> None:
    turn = {"urls": ["turn:t.example:3478?transport=udp"], "username": "9:u", "credential": "c"}
    body = {
        "iceServers": [{"urls": "stun:s.example:3478"}, turn, "junk"],
        "iceTransportPolicy": "relay",
    }
    ice = IceSettings.from_payload(body)
    assert ice.policy == "relay" and len(ice.servers) == 2
    assert [u for u, _ in ice.urls("turn", "turns")] == ["turn:t.example:3478?transport=udp"]
    config = rtc_configuration(ice)
    assert config.iceTransportPolicy == RTCIceTransportPolicy.RELAY
    assert config.iceServers is not None and config.iceServers[1].username == "9:u"
    # an older server sends no policy: "all"; anything unknown is "all" too
    assert IceSettings.from_payload({"iceServers": []}).policy == "all"
    assert IceSettings.from_payload({"iceTransportPolicy": "none"}).policy == "all"
    # no servers means none at all, not aiortc's default public STUN server
    assert rtc_configuration(IceSettings()).iceServers == []


async def test_generated_media() -> None:
    video, audio = PatternTrack(160, 120), ToneTrack()
    first, second = await video.recv(), await video.recv()
    assert (first.width, first.height) == (160, 120)
    assert bytes(first.planes[0]) != bytes(second.planes[0])  # the bar moves
    tone = await audio.recv()
    assert tone.sample_rate == 48_000 and tone.samples == 960
    assert 0.15 < rms_level(tone) < 0.2  # 0.25 peak: RMS 0.177
    video.stop()
    audio.stop()


def test_commands_parse() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["echo-bot", "--url", "http://x", "--interests", "a", "b", "--count", "2"]
    )
    assert (args.interests, args.count) == (["a", "b"], 2)
    with pytest.raises(SystemExit):
        parser.parse_args(["echo-bot", "--url", "http://x", "--count", "0"])
    with pytest.raises(SystemExit):
        parser.parse_args(["doctor"])  # --url is required


def test_serve_does_not_import_webrtc() -> None:
    code = (
        "import sys, randomchat.cli; print(sorted({'aiortc', 'av', 'socketio'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_doctor_names_the_turn_path_that_fails() -> None:
    from randomchat.client.doctor import turn_advice, turn_path

    assert turn_path("turn:t.example:3478?transport=udp") == "udp"
    assert turn_path("turn:t.example:3478") == "udp"
    assert turn_path("turn:t.example:3478?transport=tcp") == "tcp"
    assert turn_path("turns:t.example:443?transport=tcp") == "tls"
    udp_blocked = {"udp": False, "tcp": True, "tls": True}
    assert (
        turn_advice(udp_blocked) == "UDP is blocked from here; TURN over TCP and TURN over TLS work"
    )
    only_443 = {"udp": False, "tcp": False, "tls": True}
    assert turn_advice(only_443) == "UDP and TCP are blocked from here; TURN over TLS works"
    # all working, or nothing working (then the TURN lines themselves say why): no advice
    assert turn_advice({"udp": True, "tcp": True}) == ""
    assert turn_advice({"udp": False, "tcp": False}) == ""
