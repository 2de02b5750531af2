"""Socket.IO v5 packets: parse what a client sends, render what we send.

A packet rides in one Engine.IO message::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]

followed, for BINARY_EVENT and BINARY_ACK, by one binary Engine.IO message
per attachment; in the JSON each attachment is ``{"_placeholder": true,
"num": n}``. ``Decoder`` reassembles those; ``encode`` splits them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from randomchat.sio.eio import Message, PacketError

CONNECT = 0
DISCONNECT = 1
EVENT = 2
ACK = 3
CONNECT_ERROR = 4
BINARY_EVENT = 5
BINARY_ACK = 6


@dataclass(slots=True)
class Packet:
    type: int
    namespace: str = "/"
    data: Any = None
    id: int | None = None
    attachments: int = 0


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)  # integers beyond 64 bits
        except ValueError as exc:
            raise PacketError("invalid JSON") from exc


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits
        return json.dumps(data, separators=(",", ":"))


def parse(text: str) -> Packet:
    """Parse the text part of a packet; raises ``PacketError`` for anything malformed."""
    if not text or not "0" <= text[0] <= "6":
        raise PacketError("unknown packet type")
    kind = ord(text[0]) - 48
    i, n = 1, len(text)
    attachments = 0
    if kind in (BINARY_EVENT, BINARY_ACK):
        dash = text.find("-", 1)
        if dash < 0 or not text[1:dash].isdigit():
            raise PacketError("bad attachment count")
        attachments = _int(text[1:dash])
        i = dash + 1
    namespace = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        end = n if comma < 0 else comma
        namespace = text[i:end]
        i = end if comma < 0 else comma + 1
    start = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    ack = _int(text[start:i]) if i > start else None
    data = _loads(text[i:]) if i < n else None
    packet = Packet(kind, namespace, data, ack, attachments)
    _validate(packet)
    return packet


def _int(digits: str) -> int:
    # Ids and counts are small; a huge one is an attack, not a packet.
    if len(digits) > 15:
        raise PacketError("number too long")
    return int(digits)


def _validate(p: Packet) -> None:
    if p.type == CONNECT:
        ok = p.data is None or isinstance(p.data, dict)
    elif p.type == DISCONNECT:
        ok = p.data is None
    elif p.type in (EVENT, BINARY_EVENT):
        ok = isinstance(p.data, list) and bool(p.data) and isinstance(p.data[0], str | int)
    elif p.type in (ACK, BINARY_ACK):
        ok = isinstance(p.data, list) and p.id is not None
    else:  # CONNECT_ERROR only goes from server to client
        ok = False
    if not ok:
        raise PacketError("invalid payload")


def _deconstruct(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, bytes | bytearray | memoryview):
        buffers.append(bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, list | tuple):
        return [_deconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        return {key: _deconstruct(value, buffers) for key, value in data.items()}
    return data


def _reconstruct(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, list):
        return [_reconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        if data.get("_placeholder") is True and len(data) == 2:
            num = data.get("num")
            if not isinstance(num, int) or not 0 <= num < len(buffers):
                raise PacketError("bad attachment placeholder")
            return buffers[num]
        return {key: _reconstruct(value, buffers) for key, value in data.items()}
    return data


def encode(kind: int, namespace: str, data: Any = None, ack: int | None = None) -> list[Message]:
    """Render a packet as Engine.IO messages: the text, then any binary attachments."""
    head = "" if namespace == "/" else namespace + ","
    if ack is not None:
        head += str(ack)
    if data is None:
        return [f"{kind}{head}"]
    try:
        return [f"{kind}{head}{orjson.dumps(data).decode()}"]
    except TypeError:  # bytes (or huge integers) somewhere in the data
        pass
    buffers: list[bytes] = []
    body = _dumps(_deconstruct(data, buffers))
    if not buffers:
        return [f"{kind}{head}{body}"]
    kind = BINARY_EVENT if kind == EVENT else BINARY_ACK if kind == ACK else kind
    return [f"{kind}{len(buffers)}-{head}{body}", *buffers]


def encode_event(namespace: str, event: str, args: list[Any]) -> list[Message]:
    return encode(EVENT, namespace, [event, *args])


class Decoder:
    """Per connection: turns Engine.IO messages into complete packets."""

    __slots__ = ("_buffers", "_pending")

    def __init__(self) -> None:
        self._pending: Packet | None = None
        self._buffers: list[bytes] = []

    def feed(self, message: Message) -> Packet | None:
        """A complete packet, or None while attachments are still expected."""
        if isinstance(message, str):
            if self._pending is not None:
                raise PacketError("text packet while binary attachments are expected")
            packet = parse(message)
            if packet.attachments == 0:
                if packet.type in (BINARY_EVENT, BINARY_ACK):
                    packet.type -= 3
                return packet
            self._pending, self._buffers = packet, []
            return None
        pending = self._pending
        if pending is None:
            raise PacketError("unexpected binary message")
        self._buffers.append(bytes(message))
        if len(self._buffers) < pending.attachments:
            return None
        pending.data = _reconstruct(pending.data, self._buffers)
        pending.type -= 3  # BINARY_EVENT -> EVENT, BINARY_ACK -> ACK
        self._pending, self._buffers = None, []
        return pending
