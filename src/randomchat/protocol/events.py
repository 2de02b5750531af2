"""The names on the wire: events and connect refusals (error codes: ``payloads.ErrorCode``).

Every event name the server or its Python client sends or listens to is a member
of ``ClientEvent`` or ``ServerEvent``; no other module spells one as a string
(``tests/test_protocol.py`` scans ``src`` for it).
"""

from enum import StrEnum

NAMESPACE = "/random-chat"


class ClientEvent(StrEnum):
    FIND_PARTNER = "find-partner"
    NEXT = "next"
    LEAVE = "leave"
    SIGNAL_OFFER = "signal-offer"
    SIGNAL_ANSWER = "signal-answer"
    SIGNAL_ICE_CANDIDATE = "signal-ice-candidate"
    HEARTBEAT = "heartbeat"
    CALL_STATS = "call-stats"
    CHAT_MESSAGE = "chat-message"
    TYPING = "typing"
    BLOCK_PARTNER = "block-partner"
    REPORT_PARTNER = "report-partner"
    RESUME_CALL = "resume-call"
    MEDIA_STATE = "media-state"


class ServerEvent(StrEnum):
    CONNECTION_QUALITY = "connection-quality"
    WAITING_FOR_PARTNER = "waiting-for-partner"
    MATCH_FOUND = "match-found"
    SIGNAL_OFFER = "signal-offer"
    SIGNAL_ANSWER = "signal-answer"
    SIGNAL_OFFER_ACK = "signal-offer-ack"
    SIGNAL_ANSWER_ACK = "signal-answer-ack"
    SIGNAL_ICE_CANDIDATE = "signal-ice-candidate"
    SIGNAL_ICE_CANDIDATES_BATCH = "signal-ice-candidates-batch"
    PARTNER_DISCONNECTED = "partner-disconnected"
    PARTNER_LEFT = "partner-left"
    RATE_LIMITED = "rate-limited"
    ERROR = "error"
    HEARTBEAT_ACK = "heartbeat-ack"
    CHAT_MESSAGE = "chat-message"
    CHAT_MESSAGE_ACK = "chat-message-ack"
    TYPING = "typing"
    BLOCK_PARTNER_ACK = "block-partner-ack"
    REPORT_PARTNER_ACK = "report-partner-ack"
    BANNED = "banned"
    CALL_RESUMED = "call-resumed"
    MEDIA_STATE = "media-state"


class Refusal(StrEnum):
    """``err.message`` of a refused connect (``connect_error``) that the page acts on.

    The other refusals' messages are for people: the page shows them as they are.
    """

    BANNED = "Banned"  # err.data is a BanInfo
    RULES_CHANGED = "Rules changed"  # a guest token older than the rules: accept them again
