"""The packet layers with no sockets: Engine.IO payloads and Socket.IO packets."""

from __future__ import annotations

import pytest

from randomchat.sio import codec, eio
from randomchat.sio.eio import PacketError

pytestmark = pytest.mark.pure


def test_polling_payload_round_trip_with_binary() -> None:
    body = "4hello\x1ebAQIDBA=="
    packets = eio.decode_payload(body)
    assert packets == ["4hello", b"\x01\x02\x03\x04"]
    assert eio.encode_payload(packets) == body


@pytest.mark.parametrize("body", ["abc", "", "4a\x1e\x1e4b", "b!!!"])
def test_bad_polling_payloads_are_refused(body: str) -> None:
    with pytest.raises(PacketError):
        eio.decode_payload(body)


def test_open_packet_in_milliseconds() -> None:
    assert eio.open_packet("s", [], 0.3, 0.2, 10) == (
        '0{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":10}'
    )


@pytest.mark.parametrize(
    ("text", "kind", "namespace", "ack", "data"),
    [
        ("0", codec.CONNECT, "/", None, None),
        ('0/custom,{"token":"abc"}', codec.CONNECT, "/custom", None, {"token": "abc"}),
        ("0/random", codec.CONNECT, "/random", None, None),
        ("1/custom,", codec.DISCONNECT, "/custom", None, None),
        ('2["e",1]', codec.EVENT, "/", None, ["e", 1]),
        ('2/n,12["e"]', codec.EVENT, "/n", 12, ["e"]),
        ("37[]", codec.ACK, "/", 7, []),
        ('2["n",123456789012345678901234567890]', codec.EVENT, "/", None, None),
    ],
)
def test_parse(text: str, kind: int, namespace: str, ack: int | None, data: object) -> None:
    packet = codec.parse(text)
    assert (packet.type, packet.namespace, packet.id) == (kind, namespace, ack)
    if data is not None:
        assert packet.data == data


@pytest.mark.parametrize("text", ["abc", "2{}", '2abc["e"]', "2[]", "4{}", "7", "2[", '1["x"]'])
def test_malformed_packets_raise(text: str) -> None:
    with pytest.raises(PacketError):
        codec.parse(text)


def test_binary_attachments_decode_and_encode() -> None:
    decoder = codec.Decoder()
    head = '52-7["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert decoder.feed(head) is None
    assert decoder.feed(b"\x01") is None
    packet = decoder.feed(b"\x02")
    assert packet is not None
    assert (packet.type, packet.id, packet.data) == (codec.EVENT, 7, ["m", b"\x01", b"\x02"])
    assert codec.encode(codec.ACK, "/", [b"\x01", b"\x02"], 7) == [
        '62-7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01",
        b"\x02",
    ]


def test_unexpected_binary_and_interleaved_text_raise() -> None:
    with pytest.raises(PacketError):
        codec.Decoder().feed(b"\x01")
    decoder = codec.Decoder()
    decoder.feed('51-["m",{"_placeholder":true,"num":0}]')
    with pytest.raises(PacketError):
        decoder.feed('2["m"]')


def test_encode_event_namespaces_and_huge_integers() -> None:
    assert codec.encode_event("/", "e", [{"a": 1}]) == ['2["e",{"a":1}]']
    assert codec.encode_event("/x", "e", []) == ['2/x,["e"]']
    assert codec.encode_event("/", "e", [2**70]) == [f'2["e",{2**70}]']


@pytest.mark.parametrize("text", ["2" + "9" * 5000 + '["x"]', "5" + "9" * 5000 + '-["x"]'])
def test_absurdly_long_numbers_are_packet_errors(text: str) -> None:
    with pytest.raises(PacketError):
        codec.parse(text)


# -- hostile input (issue 8, items 1, 2 and 11) ------------------------------------


@pytest.mark.parametrize("name", sorted(codec.RESERVED))
def test_reserved_event_names_are_refused(name: str) -> None:
    with pytest.raises(PacketError):
        codec.parse(f'2/random-chat,["{name}",{{}},{{"token":"t"}}]')
    with pytest.raises(PacketError):
        codec.Decoder().feed(f'51-["{name}",{{"_placeholder":true,"num":0}}]')


def test_star_numbers_and_near_reserved_names_are_ordinary_events() -> None:
    assert codec.parse('2["*"]').data == ["*"]
    assert codec.parse('2["Connect"]').data == ["Connect"]
    assert codec.parse("2[7]").data == [7]
    with pytest.raises(PacketError):  # a boolean is not a number in JavaScript
        codec.parse("2[true]")


@pytest.mark.parametrize(
    "text", ["45²-", '5²-["x"]', '5\u0661-["x"]', '5-["x"]', '5x-["x"]', '2²["x"]', '51["x"]']
)
def test_attachment_counts_are_ascii_digits_only(text: str) -> None:
    with pytest.raises(PacketError):
        codec.Decoder().feed(text[1:] if text.startswith("4") else text)


def test_attachment_count_is_capped() -> None:
    placeholders = ",".join(f'{{"_placeholder":true,"num":{i}}}' for i in range(11))
    assert codec.Decoder().feed(f'510-["m",{placeholders}]') is None
    with pytest.raises(PacketError):
        codec.Decoder().feed(f'511-["m",{placeholders}]')
    with pytest.raises(PacketError):
        codec.Decoder().feed('5999999-["m"]')
    assert codec.Decoder(max_attachments=2).feed('52-["m"]') is None
    with pytest.raises(PacketError):
        codec.Decoder(max_attachments=2).feed('53-["m"]')


def test_attachment_bytes_are_capped() -> None:
    decoder = codec.Decoder(max_bytes=10)
    decoder.feed('53-["m"]')
    decoder.feed(b"x" * 5)
    decoder.feed(b"x" * 5)
    with pytest.raises(PacketError):
        decoder.feed(b"x")


@pytest.mark.parametrize("depth", [codec.MAX_DEPTH, 1_100, 100_000])
def test_deep_json_is_a_packet_error_not_a_crash(depth: int) -> None:
    text = '2["e",' + "[" * depth + "]" * depth + "]"
    with pytest.raises(PacketError):
        codec.parse(text)
    big = '2["e",' + "[" * depth + "1" + "0" * 400 + "]" * depth + "]"  # the stdlib path
    with pytest.raises(PacketError):
        codec.parse(big)


def test_what_parses_always_encodes() -> None:
    # The deepest packet accepted (MAX_DEPTH levels, the event array included)
    # relays without error, so a relay can never fail on depth.
    inner = codec.MAX_DEPTH - 1
    text = '2["e",' + "[" * inner + "]" * inner + "]"
    packet = codec.parse(text)
    assert codec.encode(codec.EVENT, "/", packet.data) == [text]
    big = '2["e",' + "[" * inner + "1" + "0" * 400 + "]" * inner + "]"  # orjson refuses it
    assert codec.encode(codec.EVENT, "/", codec.parse(big).data) == [big]


@pytest.mark.parametrize("text", ['2["e",NaN]', '2["e",1e999,' + "1" * 30 + "]", '2["\\ud800"]'])
def test_stdlib_fallback_accepts_no_more_than_orjson(text: str) -> None:
    with pytest.raises(PacketError):
        codec.parse(text)


def test_unencodable_data_raises_encode_error() -> None:
    with pytest.raises(codec.EncodeError):
        codec.encode_event("/", "e", [object()])
    deep: list[object] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(codec.EncodeError):
        codec.encode_event("/", "e", [deep, 2**70])
