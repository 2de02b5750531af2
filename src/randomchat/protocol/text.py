"""Text a person typed (chat lines, report notes, nicknames), cleaned before anyone reads it."""

from __future__ import annotations

import re
from typing import Any

from randomchat.errors import InvalidPayload

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


def clean_text(raw: str) -> str:
    """Remove control and unwanted format characters (tabs and newlines become spaces); trim.

    O(n) in C: a fast path when everything is printable, else one regular expression.
    """
    if raw.isprintable():
        return raw.strip()
    return _UNWANTED.sub("", raw.translate(_SPACES)).strip()


def bounded_text(event: str, key: str, value: Any, limit: int) -> str:
    """A string no longer than ``RAW_FACTOR * limit``: cheap checks before any cleaning."""
    if not isinstance(value, str):
        raise InvalidPayload(event, f"'{key}' must be a string")
    if len(value) > RAW_FACTOR * limit:
        raise InvalidPayload(event, f"'{key}' is longer than {limit} characters")
    return value
