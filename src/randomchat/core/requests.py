"""Validation of the stranger-chat requests: search options, chat, reports.

Like ``signaling``, each function takes an event's raw arguments and returns
clean values or raises ``InvalidPayload`` naming what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from randomchat.core.matching import EMPTY, MODES, VIDEO
from randomchat.core.moderation import MAX_NOTE, REPORT_REASONS
from randomchat.core.signaling import bare
from randomchat.errors import InvalidPayload

MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 30
MAX_CHAT = 1000
MAX_CHAT_ID = 64
MAX_CHAT_INT_ID = 2**53  # a JavaScript number's safe range
# Raw text longer than this many times its limit is refused before it is cleaned: cleaning
# can only shorten it by the characters it removes, and no honest client sends that many.
RAW_FACTOR = 4

# Characters removed from chat text and report notes: controls (Cc), surrogates (Cs) and
# format characters (Cf) of Unicode 14 -- including the bidi embeddings, overrides and
# isolates that let one message reorder the text around it -- except those that real
# text needs: ZWNJ and ZWJ (emoji sequences, Persian, Indic), LRM, RLM and ALM (the
# direction of neutral characters in mixed text), and tag characters (flag sequences).
# Tab, CR and LF become spaces first. One compiled class, so cleaning is O(n) in C; the
# tests check it against ``unicodedata``.
_UNWANTED = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001]+"
)
_SPACES = str.maketrans("\t\n\r", "   ")


@dataclass(frozen=True, slots=True)
class SearchOptions:
    interests: frozenset[str] = EMPTY
    strict: bool = False
    privacy: bool = False  # asks for a relay-only call (no IP address shared)
    mode: str = VIDEO  # absent: video, so the seed's clients are video users


def search_options(event: str, args: tuple[Any, ...]) -> SearchOptions:
    """``find-partner`` / ``next``: nothing, or ``{interests?, strict?, privacy?, mode?}``."""
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
            shown = _preview(item)
            raise InvalidPayload(
                event,
                f"interest {shown} must be 1-{MAX_INTEREST_LENGTH} printable characters",
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
    if not isinstance(mode, str) or mode not in MODES:
        raise InvalidPayload(event, f"'mode' must be one of {', '.join(MODES)}")
    return SearchOptions(frozenset(tags), strict and bool(tags), privacy, mode)


def _preview(value: Any) -> str:
    """A short rendering of a bad value for an error message: never the whole of it."""
    if isinstance(value, str):
        return repr(value[:MAX_INTEREST_LENGTH])
    if value is None or isinstance(value, bool | int | float):
        return repr(value)[:MAX_INTEREST_LENGTH]
    return f"of type {type(value).__name__}"


def clean_text(raw: str) -> str:
    """Remove control and unwanted format characters (tabs and newlines become spaces); trim.

    O(n) in C: a fast path when everything is printable, else one regular expression.
    """
    if raw.isprintable():
        return raw.strip()
    return _UNWANTED.sub("", raw.translate(_SPACES)).strip()


def _bounded_text(event: str, key: str, value: Any, limit: int) -> str:
    """A string no longer than ``RAW_FACTOR * limit``: cheap checks before any cleaning."""
    if not isinstance(value, str):
        raise InvalidPayload(event, f"'{key}' must be a string")
    if len(value) > RAW_FACTOR * limit:
        raise InvalidPayload(event, f"'{key}' is longer than {limit} characters")
    return value


def chat_message(args: tuple[Any, ...]) -> tuple[str, str | int]:
    """``{text, id}``: the raw text (length-checked, not yet cleaned) and the client's id.

    Cleaning is left to ``chat_text``, after the caller's rate and partner checks.
    """
    event = "chat-message"
    data = bare(event, args)
    text = _bounded_text(event, "text", data.get("text"), MAX_CHAT)
    msg_id = data.get("id")
    if isinstance(msg_id, bool) or not (
        (isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_CHAT_ID)
        or (isinstance(msg_id, int) and abs(msg_id) <= MAX_CHAT_INT_ID)
    ):
        raise InvalidPayload(
            event, f"'id' must be a string of 1-{MAX_CHAT_ID} characters or a safe integer"
        )
    return text, msg_id


def chat_text(raw: str) -> str:
    """The cleaned text of a ``chat-message``; refuses empty and over-long text."""
    cleaned = clean_text(raw)
    if not cleaned:
        raise InvalidPayload("chat-message", "'text' is empty")
    if len(cleaned) > MAX_CHAT:
        raise InvalidPayload("chat-message", f"'text' is longer than {MAX_CHAT} characters")
    return cleaned


def typing(args: tuple[Any, ...]) -> bool:
    data = bare("typing", args)
    active = data.get("active")
    if not isinstance(active, bool):
        raise InvalidPayload("typing", "'active' must be true or false")
    return active


def media_state(args: tuple[Any, ...]) -> tuple[bool, bool]:
    """``{video, audio}``: what the sender is sending (camera on, microphone on)."""
    data = bare("media-state", args)
    video, audio = data.get("video"), data.get("audio")
    if not isinstance(video, bool) or not isinstance(audio, bool):
        raise InvalidPayload("media-state", "'video' and 'audio' must be true or false")
    return video, audio


def report(args: tuple[Any, ...]) -> tuple[str, str]:
    """``{reason, note?}``: return the reason and the cleaned note."""
    event = "report-partner"
    data = bare(event, args)
    reason = data.get("reason")
    if reason not in REPORT_REASONS:
        raise InvalidPayload(event, f"'reason' must be one of {', '.join(REPORT_REASONS)}")
    raw_note = data.get("note", "")
    note = clean_text(_bounded_text(event, "note", "" if raw_note is None else raw_note, MAX_NOTE))
    if len(note) > MAX_NOTE:
        raise InvalidPayload(event, f"'note' is longer than {MAX_NOTE} characters")
    return str(reason), note
