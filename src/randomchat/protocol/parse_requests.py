"""The parsers of chat, moderation and resuming requests (see ``parse`` for the rest)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, NamedTuple

from randomchat.errors import InvalidPayload
from randomchat.protocol.events import ClientEvent
from randomchat.protocol.parse import MAX_CALL_ID, Args, bare, call_id_of, parses
from randomchat.protocol.payloads import MAX_NOTE, REPORT_REASONS, MessageId, ReportReason
from randomchat.protocol.text import bounded_text, clean_text

MAX_CHAT = 1000
MAX_CHAT_ID = 64
MAX_CHAT_INT_ID = 2**53  # a JavaScript number's safe range
MAX_TICKET = 1024  # characters of a resume ticket: two user ids, a call id and a mac fit
# A report's picture: the page sends a JPEG at most 640 px wide at quality 0.7 (30 to 60 KB
# for a face); anything bigger did not come from it.
MAX_PICTURE_BYTES = 100_000
MAX_PICTURE_BASE64 = 4 * -(-MAX_PICTURE_BYTES // 3)  # its base64 length, with padding
_SOI, _EOI = b"\xff\xd8\xff", b"\xff\xd9"  # a JPEG's start (with the first marker) and end


# -- chat ---------------------------------------------------------------------------


class ChatLine(NamedTuple):
    """``ChatOutgoing``: the raw text (length-checked, not yet cleaned: ``chat_text`` does
    that after the caller's rate and partner checks), the client's id, the call named."""

    raw_text: str
    id: MessageId
    call_id: str | None


@parses(ClientEvent.CHAT_MESSAGE)
def chat_message(args: Args) -> ChatLine:
    event = ClientEvent.CHAT_MESSAGE
    data = bare(event, args)
    text = bounded_text(event, "text", data.get("text"), MAX_CHAT)
    msg_id = data.get("id")
    if isinstance(msg_id, bool) or not (
        (isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_CHAT_ID)
        or (isinstance(msg_id, int) and abs(msg_id) <= MAX_CHAT_INT_ID)
    ):
        raise InvalidPayload(
            event, f"'id' must be a string of 1-{MAX_CHAT_ID} characters or a safe integer"
        )
    return ChatLine(text, msg_id, call_id_of(event, args))


def chat_text(raw: str) -> str:
    """The cleaned text of a ``chat-message``; refuses empty and over-long text."""
    cleaned = clean_text(raw)
    if not cleaned:
        raise InvalidPayload(ClientEvent.CHAT_MESSAGE, "'text' is empty")
    if len(cleaned) > MAX_CHAT:
        raise InvalidPayload(
            ClientEvent.CHAT_MESSAGE, f"'text' is longer than {MAX_CHAT} characters"
        )
    return cleaned


@parses(ClientEvent.TYPING)
def typing(args: Args) -> bool:
    """``TypingEvent``: whether the sender is typing."""
    active = bare(ClientEvent.TYPING, args).get("active")
    if not isinstance(active, bool):
        raise InvalidPayload(ClientEvent.TYPING, "'active' must be true or false")
    return active


@parses(ClientEvent.MEDIA_STATE)
def media_state(args: Args) -> tuple[bool, bool]:
    """``MediaState``: what the sender is sending (camera on, microphone on)."""
    data = bare(ClientEvent.MEDIA_STATE, args)
    video, audio = data.get("video"), data.get("audio")
    if not isinstance(video, bool) or not isinstance(audio, bool):
        raise InvalidPayload(ClientEvent.MEDIA_STATE, "'video' and 'audio' must be true or false")
    return video, audio


# -- moderation and resuming ----------------------------------------------------------


@parses(ClientEvent.BLOCK_PARTNER)
def block_partner(args: Args) -> str | None:
    """``BlockPartner``: the recent call meant (None: the current or last one)."""
    bare(ClientEvent.BLOCK_PARTNER, args)
    return call_id_of(ClientEvent.BLOCK_PARTNER, args)


@dataclass(frozen=True, slots=True)
class Report:
    """``ReportPartner``, parsed: the note cleaned, the picture decoded and checked."""

    reason: ReportReason
    note: str = ""
    call_id: str | None = None  # one of the last few calls; None: the last
    picture: bytes | None = None  # a JPEG of at most MAX_PICTURE_BYTES


@parses(ClientEvent.REPORT_PARTNER)
def report_partner(args: Args) -> Report:
    """A bad note or picture refuses the whole report, before anything is stored."""
    event = ClientEvent.REPORT_PARTNER
    data = bare(event, args)
    reason = data.get("reason")
    if reason not in REPORT_REASONS:
        raise InvalidPayload(event, f"'reason' must be one of {', '.join(REPORT_REASONS)}")
    raw_note = data.get("note", "")
    note = clean_text(bounded_text(event, "note", "" if raw_note is None else raw_note, MAX_NOTE))
    if len(note) > MAX_NOTE:
        raise InvalidPayload(event, f"'note' is longer than {MAX_NOTE} characters")
    return Report(reason, note, call_id_of(event, args), _picture(data.get("picture")))


def _picture(raw: Any) -> bytes | None:
    """A report's ``picture`` (base64 of a JPEG, issue 24) as bytes; None when absent."""
    event = ClientEvent.REPORT_PARTNER
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidPayload(event, "'picture' must be a base64 string")
    if len(raw) > MAX_PICTURE_BASE64:  # checked before decoding: no work for an oversized one
        raise InvalidPayload(event, f"'picture' is larger than {MAX_PICTURE_BYTES} bytes")
    try:
        picture = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPayload(event, "'picture' is not base64") from exc
    if len(picture) > MAX_PICTURE_BYTES:
        raise InvalidPayload(event, f"'picture' is larger than {MAX_PICTURE_BYTES} bytes")
    if not (picture.startswith(_SOI) and picture.endswith(_EOI)):
        raise InvalidPayload(event, "'picture' is not a JPEG")
    return picture


@parses(ClientEvent.RESUME_CALL)
def resume_call(args: Args) -> tuple[str, str]:
    """``ResumeCall``: its ``(callId, resume)`` (the ticket is checked by ``lobby.resume``)."""
    event = ClientEvent.RESUME_CALL
    if len(args) != 1 or not isinstance(args[0], dict):
        raise InvalidPayload(event, "expected one JSON object {callId, resume}")
    call_id, ticket = args[0].get("callId"), args[0].get("resume")
    if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID:
        raise InvalidPayload(event, f"callId must be a string of 1-{MAX_CALL_ID} characters")
    if not isinstance(ticket, str) or not 0 < len(ticket) <= MAX_TICKET:
        raise InvalidPayload(event, f"resume must be a string of 1-{MAX_TICKET} characters")
    return call_id, ticket
