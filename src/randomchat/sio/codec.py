"""Socket.IO v5 packets: parse what a client sends, render what we send.

A packet rides in one Engine.IO message::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]

followed, for BINARY_EVENT and BINARY_ACK, by one binary Engine.IO message
per attachment; in the JSON each attachment is ``{"_placeholder": true,
"num": n}``. ``Decoder`` reassembles those; ``encode`` splits them out.

Every client is hostile, so parsing is bounded and total: anything malformed
raises ``PacketError`` (the engine then closes only that session, cleanly),
never another exception. The limits, and what happens past them:

* numbers (attachment count, ack id) are ASCII digits, at most 15 of them;
* an EVENT's name is a string or an integer, and never one of ``RESERVED``
  (socket.io-parser refuses them too), so no client packet can be mistaken
  for a lifecycle event;
* JSON nests at most ``MAX_DEPTH`` levels (orjson stops at 1,024 and the
  stdlib fallback would raise ``RecursionError``); since inbound data is that
  shallow, relaying it can never fail to encode on depth;
* at most ``Decoder.max_attachments`` binary attachments per packet (default
  ``MAX_ATTACHMENTS``) and at most ``Decoder.max_bytes`` of them in total.

``encode`` raises ``EncodeError`` for data JSON cannot carry (a programming
error of the caller, never data that came in through ``parse``): it reaches
the emitting handler, which answers its own client, not the recipient.
"""

from __future__ import annotations

import json
import math
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

RESERVED = frozenset(
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
)
"""Event names a client may not send (socket.io-parser's list)."""

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in a packet's JSON (the outer array is 1)."""

MAX_ATTACHMENTS = 10
"""Default cap on binary attachments in one packet."""


class EncodeError(ValueError):
    """Data that cannot be rendered as a Socket.IO packet."""


@dataclass(slots=True)
class Packet:
    type: int
    namespace: str = "/"
    data: Any = None
    id: int | None = None
    attachments: int = 0


def _refuse_constant(name: str) -> Any:
    raise PacketError(f"not JSON: {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PacketError("number out of range")
    return value


_STDLIB = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _loads(text: str) -> Any:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, which are valid JSON; the stdlib
        # reads them. Its recursion is bounded by catching RecursionError, and it is
        # held to what orjson accepts otherwise: no NaN/Infinity, no lone surrogates.
        try:
            data = _STDLIB.decode(text)
            json.dumps(data, ensure_ascii=False).encode()
        except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            raise PacketError("invalid JSON") from exc
    if (text.count("[") + text.count("{") > MAX_DEPTH) and _too_deep(data):
        raise PacketError("JSON nested too deep")
    return data


def _too_deep(data: Any) -> bool:
    """Whether containers nest deeper than ``MAX_DEPTH``; iterative, stops early."""
    if not isinstance(data, list | dict):
        return False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, list | dict):
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, depth, types
        pass
    try:
        return json.dumps(data, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise EncodeError(f"cannot encode packet data: {exc}") from None


def parse(text: str, max_attachments: int = MAX_ATTACHMENTS) -> Packet:
    """Parse the text part of a packet; raises ``PacketError`` for anything malformed."""
    if not text or not "0" <= text[0] <= "6":
        raise PacketError("unknown packet type")
    kind = ord(text[0]) - 48
    i, n = 1, len(text)
    attachments = 0
    if kind in (BINARY_EVENT, BINARY_ACK):
        dash = text.find("-", 1)
        attachments = _int(text[1:dash] if dash > 0 else "")
        if attachments > max_attachments:
            raise PacketError("too many attachments")
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
    # ASCII digits only: str.isdigit() and int() also take "²" or "٣".
    if not digits or not digits.isascii() or not digits.isdigit():
        raise PacketError("bad number")
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
        ok = isinstance(p.data, list) and bool(p.data) and _event_name_ok(p.data[0])
    elif p.type in (ACK, BINARY_ACK):
        ok = isinstance(p.data, list) and p.id is not None
    else:  # CONNECT_ERROR only goes from server to client
        ok = False
    if not ok:
        raise PacketError("invalid payload")


def _event_name_ok(name: Any) -> bool:
    if isinstance(name, str):
        return name not in RESERVED
    return type(name) is int  # a number, as in socket.io-parser; not a bool


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
            if type(num) is not int or not 0 <= num < len(buffers):
                raise PacketError("bad attachment placeholder")
            return buffers[num]
        return {key: _reconstruct(value, buffers) for key, value in data.items()}
    return data


def encode(kind: int, namespace: str, data: Any = None, ack: int | None = None) -> list[Message]:
    """Render a packet as Engine.IO messages: the text, then any binary attachments.

    Raises ``EncodeError`` if ``data`` is not JSON (with bytes allowed anywhere).
    """
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
    try:
        body = _dumps(_deconstruct(data, buffers))
    except RecursionError:  # only data built by the caller can be this deep
        raise EncodeError("cannot encode packet data: nested too deep") from None
    if not buffers:
        return [f"{kind}{head}{body}"]
    kind = BINARY_EVENT if kind == EVENT else BINARY_ACK if kind == ACK else kind
    return [f"{kind}{len(buffers)}-{head}{body}", *buffers]


def encode_event(namespace: str, event: str, args: list[Any]) -> list[Message]:
    return encode(EVENT, namespace, [event, *args])


class Decoder:
    """Per connection: turns Engine.IO messages into complete packets.

    ``max_attachments`` caps the binary attachments one packet may announce,
    ``max_bytes`` their total size; past either, ``feed`` raises ``PacketError``.
    """

    __slots__ = ("_buffers", "_pending", "_size", "max_attachments", "max_bytes")

    def __init__(self, max_attachments: int = MAX_ATTACHMENTS, max_bytes: int = 1_000_000) -> None:
        self.max_attachments = max_attachments
        self.max_bytes = max_bytes
        self._pending: Packet | None = None
        self._buffers: list[bytes] = []
        self._size = 0

    @property
    def expecting_binary(self) -> bool:
        """Whether a packet's attachments are still to come."""
        return self._pending is not None

    def feed(self, message: Message) -> Packet | None:
        """A complete packet, or None while attachments are still expected."""
        if isinstance(message, str):
            if self._pending is not None:
                raise PacketError("text packet while binary attachments are expected")
            packet = parse(message, self.max_attachments)
            if packet.attachments == 0:
                if packet.type in (BINARY_EVENT, BINARY_ACK):
                    packet.type -= 3
                return packet
            self._pending, self._buffers, self._size = packet, [], 0
            return None
        pending = self._pending
        if pending is None:
            raise PacketError("unexpected binary message")
        self._size += len(message)
        if self._size > self.max_bytes:
            raise PacketError("attachments too large")
        self._buffers.append(bytes(message))
        if len(self._buffers) < pending.attachments:
            return None
        pending.data = _reconstruct(pending.data, self._buffers)
        pending.type -= 3  # BINARY_EVENT -> EVENT, BINARY_ACK -> ACK
        self._pending, self._buffers, self._size = None, [], 0
        return pending
