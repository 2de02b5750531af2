"""Validation of the stranger-chat requests: search options, chat, reports.

Like ``signaling``, each function takes an event's raw arguments and returns
clean values or raises ``InvalidPayload`` naming what is wrong.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from randomchat.core.matching import EMPTY
from randomchat.core.moderation import MAX_NOTE, REPORT_REASONS
from randomchat.core.signaling import bare
from randomchat.errors import InvalidPayload

MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 30
MAX_CHAT = 1000
MAX_CHAT_ID = 64


@dataclass(frozen=True, slots=True)
class SearchOptions:
    interests: frozenset[str] = EMPTY
    strict: bool = False


def search_options(event: str, args: tuple[Any, ...]) -> SearchOptions:
    """``find-partner`` / ``next``: nothing, or ``{interests?: string[], strict?: bool}``."""
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
        tag = item.strip().lower() if isinstance(item, str) else None
        if not tag or len(tag) > MAX_INTEREST_LENGTH or not tag.isprintable():
            raise InvalidPayload(
                event,
                f"interest {item!r} must be 1-{MAX_INTEREST_LENGTH} printable characters",
            )
        tags.add(tag)
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise InvalidPayload(event, "'strict' must be true or false")
    return SearchOptions(frozenset(tags), strict and bool(tags))


def clean_text(raw: str) -> str:
    """Remove control and format characters (keeping spaces) and trim."""
    kept = (" " if ch in "\t\n\r" else ch for ch in raw)
    return "".join(ch for ch in kept if unicodedata.category(ch)[0] != "C").strip()


def chat_message(args: tuple[Any, ...]) -> tuple[str, str | int]:
    """``{text, id}``: return the cleaned text and the client's id for the ack."""
    event = "chat-message"
    data = bare(event, args)
    text = data.get("text")
    if not isinstance(text, str):
        raise InvalidPayload(event, "'text' must be a string")
    msg_id = data.get("id")
    if isinstance(msg_id, bool) or not (
        (isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_CHAT_ID) or isinstance(msg_id, int)
    ):
        raise InvalidPayload(
            event, f"'id' must be a string of 1-{MAX_CHAT_ID} characters or an integer"
        )
    cleaned = clean_text(text)
    if not cleaned:
        raise InvalidPayload(event, "'text' is empty")
    if len(cleaned) > MAX_CHAT:
        raise InvalidPayload(event, f"'text' is longer than {MAX_CHAT} characters")
    return cleaned, msg_id


def typing(args: tuple[Any, ...]) -> bool:
    data = bare("typing", args)
    active = data.get("active")
    if not isinstance(active, bool):
        raise InvalidPayload("typing", "'active' must be true or false")
    return active


def report(args: tuple[Any, ...]) -> tuple[str, str]:
    """``{reason, note?}``: return the reason and the cleaned note."""
    event = "report-partner"
    data = bare(event, args)
    reason = data.get("reason")
    if reason not in REPORT_REASONS:
        raise InvalidPayload(event, f"'reason' must be one of {', '.join(REPORT_REASONS)}")
    note = data.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise InvalidPayload(event, "'note' must be a string")
    note = clean_text(note)
    if len(note) > MAX_NOTE:
        raise InvalidPayload(event, f"'note' is longer than {MAX_NOTE} characters")
    return str(reason), note
