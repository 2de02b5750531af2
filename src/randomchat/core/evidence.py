"""A report's picture (issue 24): the still the page took of the partner's video.

Pure rules: what a picture must be to be kept, and how many one reporter may leave.
A picture is the most sensitive thing the server stores (it may show a naked person),
so it is small, checked, counted per reporter and per reporter network, and kept only
until a moderator closes the report or ``Rules.evidence_seconds`` pass.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from randomchat.errors import InvalidPayload

EVENT = "report-partner"
# The page sends a JPEG at most 640 px wide at quality 0.7 (30 to 60 KB for a face);
# anything bigger did not come from it.
MAX_BYTES = 100_000
MAX_BASE64 = 4 * -(-MAX_BYTES // 3)  # the base64 length of MAX_BYTES, with padding
WINDOW = 3600.0  # the bounds below count the pictures kept in the last hour
PER_REPORTER = 3  # per reporting user
PER_NETWORK = 10  # per reporter's wide network: a guest makes a new identity at will
# A JPEG starts with SOI and the first marker's FF; ends with EOI.
_SOI = b"\xff\xd8\xff"
_EOI = b"\xff\xd9"


def picture_of(args: tuple[Any, ...]) -> bytes | None:
    """The report's ``picture`` (base64 of a JPEG) as bytes, None when absent.

    Raises ``InvalidPayload`` for anything but a JPEG of at most ``MAX_BYTES``: the whole
    report is refused, before anything is stored, so the page learns its picture was bad.
    ``args`` is the shape ``requests.report`` has checked already (one dict).
    """
    data = args[0] if args and isinstance(args[0], dict) else {}
    raw = data.get("picture")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidPayload(EVENT, "'picture' must be a base64 string")
    if len(raw) > MAX_BASE64:  # checked before decoding: no work for an oversized string
        raise InvalidPayload(EVENT, f"'picture' is larger than {MAX_BYTES} bytes")
    try:
        picture = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPayload(EVENT, "'picture' is not base64") from exc
    if len(picture) > MAX_BYTES:
        raise InvalidPayload(EVENT, f"'picture' is larger than {MAX_BYTES} bytes")
    if not (picture.startswith(_SOI) and picture.endswith(_EOI)):
        raise InvalidPayload(EVENT, "'picture' is not a JPEG")
    return picture


@dataclass(frozen=True)
class Kept:
    """Pictures kept within ``WINDOW`` from the reporter, and from their network."""

    by_reporter: int
    by_network: int


def may_keep(kept: Kept) -> bool:
    """Whether one more picture may be kept. Past a bound the report is still stored,
    without its picture: a report matters more than its picture."""
    return kept.by_reporter < PER_REPORTER and kept.by_network < PER_NETWORK
