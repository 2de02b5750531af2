"""Validation of the payloads clients send.

Each function takes the raw Socket.IO arguments of one event and returns the
validated value, or raises ``InvalidPayload`` with a message that tells the
client what was wrong. Offers and answers are checked for shape only and then
forwarded verbatim, except in a relay-only call (the privacy mode), where
``randomchat.core.sdp`` takes every address of the sender out of them and out of
its candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from randomchat.errors import InvalidPayload

CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})


def _single_object(event: str, args: tuple[Any, ...]) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        got = "nothing" if not args else type(args[0]).__name__ if len(args) == 1 else "several"
        raise InvalidPayload(event, f"expected one JSON object, got {got}")
    return args[0]


def _no_payload_or_object(event: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Events the seed sends bare accept nothing, ``null`` or an object."""
    if not args or (len(args) == 1 and args[0] is None):
        return {}
    return _single_object(event, args)


def _number(value: Any, low: float, high: float) -> float | None:
    """``value`` as a float if it is a JSON number within [low, high], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


def description(event: str, key: str, expected_type: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Validate ``{offer: {type, sdp}}`` or ``{answer: {type, sdp}}``; return the payload."""
    data = _single_object(event, args)
    desc = data.get(key)
    if not isinstance(desc, dict):
        raise InvalidPayload(event, f"'{key}' must be an object with 'type' and 'sdp'")
    if desc.get("type") != expected_type:
        raise InvalidPayload(event, f"'{key}.type' must be '{expected_type}'")
    if not isinstance(desc.get("sdp"), str) or not desc["sdp"]:
        raise InvalidPayload(event, f"'{key}.sdp' must be a non-empty string")
    return data


MAX_CALL_ID = 64


def call_of(event: str, args: tuple[Any, ...]) -> str | None:
    """The ``callId`` a signal or chat line names (optional: seed clients send none)."""
    data = args[0] if len(args) == 1 and isinstance(args[0], dict) else {}
    call_id = data.get("callId")
    if call_id is None:
        return None
    if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID:
        raise InvalidPayload(event, f"'callId' must be a string of 1-{MAX_CALL_ID} characters")
    return call_id


def offer(args: tuple[Any, ...]) -> dict[str, Any]:
    return description("signal-offer", "offer", "offer", args)


def answer(args: tuple[Any, ...]) -> dict[str, Any]:
    return description("signal-answer", "answer", "answer", args)


def ice_candidate(args: tuple[Any, ...]) -> dict[str, Any]:
    """Validate ``{candidate: RTCIceCandidateInit}``; return the candidate object."""
    event = "signal-ice-candidate"
    data = _single_object(event, args)
    cand = data.get("candidate")
    if not isinstance(cand, dict):
        raise InvalidPayload(event, "'candidate' must be an RTCIceCandidateInit object")
    if not isinstance(cand.get("candidate"), str):
        raise InvalidPayload(event, "'candidate.candidate' must be a string")
    mid = cand.get("sdpMid")
    if mid is not None and not isinstance(mid, str):
        raise InvalidPayload(event, "'candidate.sdpMid' must be a string or null")
    index = cand.get("sdpMLineIndex")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise InvalidPayload(event, "'candidate.sdpMLineIndex' must be a non-negative integer")
    return cand


def heartbeat(args: tuple[Any, ...]) -> float:
    """Validate ``{sentAt: number}``; return sentAt."""
    data = _single_object("heartbeat", args)
    sent_at = _number(data.get("sentAt"), -(2.0**53), 2.0**53)
    if sent_at is None:
        raise InvalidPayload("heartbeat", "'sentAt' must be a number (milliseconds)")
    return sent_at


def bare(event: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Validate an event that takes no payload (or an empty object)."""
    return _no_payload_or_object(event, args)


@dataclass(frozen=True, slots=True)
class CallStats:
    """What a page reports once per call: whether media flowed, and how."""

    outcome: str  # "connected" or "failed" (ICE never connected, or failed for good)
    time_to_media_ms: float | None = None
    candidate_type: str | None = None
    rtt_ms: float | None = None


def call_stats(args: tuple[Any, ...]) -> CallStats:
    """Validate ``{timeToMediaMs, candidateType, rttMs}`` or ``{outcome: "failed"}``."""
    event = "call-stats"
    data = _single_object(event, args)
    outcome = data.get("outcome", "connected")
    if outcome == "failed":
        return CallStats("failed")
    if outcome != "connected":
        raise InvalidPayload(event, "'outcome' must be connected or failed")
    ttm = _number(data.get("timeToMediaMs"), 0, 600_000)
    if ttm is None:
        raise InvalidPayload(event, "'timeToMediaMs' must be a number from 0 to 600000")
    ctype = data.get("candidateType")
    if ctype not in CANDIDATE_TYPES:
        raise InvalidPayload(event, "'candidateType' must be one of host, srflx, prflx, relay")
    raw_rtt = data.get("rttMs")
    rtt = _number(raw_rtt, 0, 60_000)
    if raw_rtt is not None and rtt is None:
        raise InvalidPayload(event, "'rttMs' must be a number from 0 to 60000, or null")
    return CallStats("connected", ttm, str(ctype), rtt)
