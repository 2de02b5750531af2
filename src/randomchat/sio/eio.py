"""Engine.IO v4 packets and long-polling payloads, as pure functions.

A packet is one character for its type followed by its data. Over WebSocket
each frame is one packet, and a binary frame is a binary message with no type
byte. Over HTTP long-polling several packets travel in one body separated by
the record separator ``\\x1e``; a binary message is written ``b`` + base64.
"""

from __future__ import annotations

import base64
import binascii

import orjson

OPEN = "0"
CLOSE = "1"
PING = "2"
PONG = "3"
MESSAGE = "4"
UPGRADE = "5"
NOOP = "6"

SEPARATOR = "\x1e"

Message = str | bytes
"""An Engine.IO message: text (without its ``4``) or binary."""


class PacketError(ValueError):
    """A packet or payload that does not follow the protocol."""


def open_packet(
    sid: str, upgrades: list[str], interval: float, timeout: float, max_payload: int
) -> str:
    body = {
        "sid": sid,
        "upgrades": upgrades,
        "pingInterval": round(interval * 1000),
        "pingTimeout": round(timeout * 1000),
        "maxPayload": max_payload,
    }
    return OPEN + orjson.dumps(body).decode()


def encode_payload(packets: list[Message]) -> str:
    """A long-polling body: text packets as they are, binary ones as ``b`` + base64."""
    return SEPARATOR.join(
        p if isinstance(p, str) else "b" + base64.b64encode(p).decode() for p in packets
    )


def decode_payload(body: str) -> list[Message]:
    """Split a long-polling body; binary packets come back as bytes, text ones as sent."""
    packets: list[Message] = []
    for part in body.split(SEPARATOR):
        if not part:
            raise PacketError("empty packet")
        if part[0] == "b":
            try:
                packets.append(base64.b64decode(part[1:], validate=True))
            except binascii.Error as exc:
                raise PacketError("bad base64") from exc
        elif "0" <= part[0] <= "6":
            packets.append(part)
        else:
            raise PacketError("unknown packet type")
    return packets
