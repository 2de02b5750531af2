"""What clients send, parsed: one parser per ``ClientEvent``, beside its payload type.

Each parser takes the raw Socket.IO arguments of its event and returns clean values
(the protocol's own types), or raises ``InvalidPayload`` with a message that tells the
client what was wrong. Every one is registered in ``PARSERS`` under its event (a test
fails when an event has none). Searching, signaling and telemetry are here; chat,
moderation and resuming in ``parse_requests``. Offers and answers are checked for shape
only and then forwarded verbatim, except in a relay-only call (the privacy mode), where
``randomchat.core.sdp`` takes every address of the sender out of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from randomchat.errors import InvalidPayload
from randomchat.protocol.events import ClientEvent
from randomchat.protocol.payloads import MODES, VIDEO, CandidateType, Mode
from randomchat.protocol.text import RAW_FACTOR

MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 30
MAX_LANGUAGES = 5
_LANGUAGE = re.compile(r"[a-z]{2,3}")  # an ISO 639 primary subtag
MAX_CALL_ID = 64  # the server's ids are 16 characters
CANDIDATE_TYPES: frozenset[CandidateType] = frozenset({"host", "srflx", "prflx", "relay"})

Args = tuple[Any, ...]
Parser = Callable[[Args], object]
PARSERS: dict[ClientEvent, Parser] = {}
F = TypeVar("F", bound=Parser)


def parses(event: ClientEvent) -> Callable[[F], F]:
    """Register the decorated function as ``event``'s parser."""

    def register(fn: F) -> F:
        PARSERS[event] = fn
        return fn

    return register


# -- shapes -----------------------------------------------------------------------


def single_object(event: str, args: Args) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        got = "nothing" if not args else type(args[0]).__name__ if len(args) == 1 else "several"
        raise InvalidPayload(event, f"expected one JSON object, got {got}")
    return args[0]


def bare(event: str, args: Args) -> dict[str, Any]:
    """Events the seed sends bare accept nothing, ``null`` or an object."""
    if not args or (len(args) == 1 and args[0] is None):
        return {}
    return single_object(event, args)


def _number(value: Any, low: float, high: float) -> float | None:
    """``value`` as a float if it is a JSON number within [low, high], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


def call_id_of(event: str, args: Args) -> str | None:
    """The optional ``callId`` an event names (absent, as seed clients send: None)."""
    data = args[0] if len(args) == 1 and isinstance(args[0], dict) else {}
    call_id = data.get("callId")
    if call_id is None:
        return None
    if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID:
        raise InvalidPayload(event, f"'callId' must be a string of 1-{MAX_CALL_ID} characters")
    return call_id


# -- searching ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """A search's options (``find-partner`` / ``next``), as parsed: the one value of them."""

    interests: frozenset[str] = frozenset()
    strict: bool = False  # only with interests: never widened to anyone
    privacy: bool = False  # asks for a relay-only call (no IP address shared)
    mode: Mode = VIDEO
    languages: frozenset[str] = frozenset()  # spoken: ISO 639 primary subtags
    languages_only: bool = False  # only with languages: never widened to anyone


def _languages(event: ClientEvent, data: dict[str, Any]) -> frozenset[str]:
    raw = data.get("languages") or []
    if not isinstance(raw, list) or len(raw) > MAX_LANGUAGES:
        raise InvalidPayload(event, f"'languages' must be a list of at most {MAX_LANGUAGES}")
    tags: set[str] = set()
    for item in raw:
        # "pt-BR" counts as "pt": people who speak a language understand its variants
        tag = item[:16].split("-")[0].strip().lower() if isinstance(item, str) else ""
        if not _LANGUAGE.fullmatch(tag):
            raise InvalidPayload(event, f"language {_preview(item)} must be an ISO 639 code")
        tags.add(tag)
    return frozenset(tags)


def _search(event: ClientEvent, args: Args) -> SearchOptions:
    """Nothing, or ``{interests?, strict?, privacy?, mode?, languages?, languagesOnly?}``
    (``SearchRequest``)."""
    data = bare(event, args)
    raw = data.get("interests", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InvalidPayload(event, "'interests' must be a list of strings")
    if len(raw) > MAX_INTERESTS:
        raise InvalidPayload(event, f"at most {MAX_INTERESTS} interests, got {len(raw)}")
    tags: set[str] = set()
    for item in raw:
        # The length is checked before any other work, and only a prefix is echoed back.
        ok = isinstance(item, str) and len(item) <= RAW_FACTOR * MAX_INTEREST_LENGTH
        tag = item.strip().lower() if ok else None
        if not tag or len(tag) > MAX_INTEREST_LENGTH or not tag.isprintable():
            raise InvalidPayload(
                event,
                f"interest {_preview(item)} must be 1-{MAX_INTEREST_LENGTH} printable characters",
            )
        tags.add(tag)
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise InvalidPayload(event, "'strict' must be true or false")
    privacy = data.get("privacy", False)
    if not isinstance(privacy, bool):
        raise InvalidPayload(event, "'privacy' must be true or false")
    mode = data.get("mode", VIDEO)
    if mode is None:
        mode = VIDEO
    if mode not in MODES:
        raise InvalidPayload(event, f"'mode' must be one of {', '.join(MODES)}")
    languages = _languages(event, data)
    only = data.get("languagesOnly", False)
    if not isinstance(only, bool):
        raise InvalidPayload(event, "'languagesOnly' must be true or false")
    return SearchOptions(
        frozenset(tags), strict and bool(tags), privacy, mode, languages, only and bool(languages)
    )


def _preview(value: Any) -> str:
    """A short rendering of a bad value for an error message: never the whole of it."""
    if isinstance(value, str):
        return repr(value[:MAX_INTEREST_LENGTH])
    if value is None or isinstance(value, bool | int | float):
        return repr(value)[:MAX_INTEREST_LENGTH]
    return f"of type {type(value).__name__}"


@parses(ClientEvent.FIND_PARTNER)
def find_partner(args: Args) -> SearchOptions:
    return _search(ClientEvent.FIND_PARTNER, args)


@parses(ClientEvent.NEXT)
def next_partner(args: Args) -> SearchOptions:
    return _search(ClientEvent.NEXT, args)


@parses(ClientEvent.LEAVE)
def leave(args: Args) -> None:
    bare(ClientEvent.LEAVE, args)


# -- signaling ----------------------------------------------------------------------


class Relayed(NamedTuple):
    """A signal to forward: its payload (checked) and the call it names, if any."""

    payload: dict[str, Any]
    call_id: str | None


def _description(event: ClientEvent, key: str, args: Args) -> Relayed:
    """``{offer: {type, sdp}, callId?}`` or ``{answer: {type, sdp}, callId?}``."""
    data = single_object(event, args)
    desc = data.get(key)
    if not isinstance(desc, dict):
        raise InvalidPayload(event, f"'{key}' must be an object with 'type' and 'sdp'")
    if desc.get("type") != key:
        raise InvalidPayload(event, f"'{key}.type' must be '{key}'")
    if not isinstance(desc.get("sdp"), str) or not desc["sdp"]:
        raise InvalidPayload(event, f"'{key}.sdp' must be a non-empty string")
    return Relayed(data, call_id_of(event, args))


@parses(ClientEvent.SIGNAL_OFFER)
def signal_offer(args: Args) -> Relayed:
    """``SignalOffer``: the whole payload, forwarded as it came."""
    return _description(ClientEvent.SIGNAL_OFFER, "offer", args)


@parses(ClientEvent.SIGNAL_ANSWER)
def signal_answer(args: Args) -> Relayed:
    """``SignalAnswer``: the whole payload, forwarded as it came."""
    return _description(ClientEvent.SIGNAL_ANSWER, "answer", args)


@parses(ClientEvent.SIGNAL_ICE_CANDIDATE)
def signal_ice_candidate(args: Args) -> Relayed:
    """``SignalCandidate``: the candidate object (an ``RTCIceCandidateInit``) and the call."""
    event = ClientEvent.SIGNAL_ICE_CANDIDATE
    data = single_object(event, args)
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
    return Relayed(cand, call_id_of(event, args))


# -- telemetry ----------------------------------------------------------------------


@parses(ClientEvent.HEARTBEAT)
def heartbeat(args: Args) -> float:
    """``Heartbeat``: its sentAt."""
    data = single_object(ClientEvent.HEARTBEAT, args)
    sent_at = _number(data.get("sentAt"), -(2.0**53), 2.0**53)
    if sent_at is None:
        raise InvalidPayload(ClientEvent.HEARTBEAT, "'sentAt' must be a number (milliseconds)")
    return sent_at


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What a page reports once per call (``CallStats`` / ``CallFailed``): whether media
    flowed, and how."""

    outcome: str  # "connected" or "failed" (ICE never connected, or failed for good)
    time_to_media_ms: float | None = None
    candidate_type: CandidateType | None = None
    rtt_ms: float | None = None


@parses(ClientEvent.CALL_STATS)
def call_stats(args: Args) -> CallOutcome:
    """``{timeToMediaMs, candidateType, rttMs}`` or ``{outcome: "failed"}``."""
    event = ClientEvent.CALL_STATS
    data = single_object(event, args)
    outcome = data.get("outcome", "connected")
    if outcome == "failed":
        return CallOutcome("failed")
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
    return CallOutcome("connected", ttm, ctype, rtt)
