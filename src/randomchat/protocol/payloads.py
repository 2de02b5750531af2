"""The payloads of ``/random-chat``: one TypedDict per payload, named as the page names them.

The lobby builds what it sends with these types, so mypy checks the keys; the page's
``wire.gen.ts`` is generated from them (``randomchat.wiregen``). What clients send is
parsed by ``protocol.parse`` into the values below or its own dataclasses.
"""

from typing import Any, Literal, NotRequired, TypedDict, get_args

from randomchat.protocol.events import ClientEvent, ServerEvent

# -- shared pieces ------------------------------------------------------------------

Role = Literal["initiator", "receiver"]
Quality = Literal["excellent", "good", "poor"]
CandidateType = Literal["host", "srflx", "prflx", "relay"]
IcePolicy = Literal["all", "relay"]
Mode = Literal["video", "text"]  # only users of the same mode are paired
VIDEO: Mode = "video"  # absent from a search: video, so the seed's clients are video users
TEXT: Mode = "text"
MODES: tuple[Mode, ...] = get_args(Mode)
ReportReason = Literal["nudity", "harassment", "spam", "underage", "other"]
REPORT_REASONS: tuple[ReportReason, ...] = get_args(ReportReason)
MAX_NOTE = 500  # characters of a report's note, once cleaned
ErrorCode = Literal[
    "invalid_payload", "refused", "unavailable", "internal", "unknown_event", "privacy_unavailable"
]
# Whether a user may ask for a relay-only call, in ``GET /api/rules`` (``randomchat.privacy``):
# ``available``; ``always`` (``--ice-policy relay``: every call is); ``no-turn`` (no TURN
# server, so a ``privacy`` search is refused); ``off`` (``--no-allow-privacy-mode``).
PrivacyMode = Literal["available", "always", "no-turn", "off"]
# The two requests that start a search; ``next`` also ends the current call.
SearchAction = Literal[ClientEvent.FIND_PARTNER, ClientEvent.NEXT]
RateLimitedEvent = Literal[
    ClientEvent.FIND_PARTNER, ClientEvent.NEXT, ClientEvent.CHAT_MESSAGE, ClientEvent.REPORT_PARTNER
]
MessageId = str | int


class Empty(TypedDict):
    """``{}``: an event whose payload carries nothing."""


class IceServer(TypedDict):
    urls: str | list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


class SessionDescription(TypedDict):
    type: Literal["offer", "answer"]
    sdp: str


class IceCandidate(TypedDict):
    candidate: str
    sdpMid: NotRequired[str | None]
    sdpMLineIndex: NotRequired[int | None]
    usernameFragment: NotRequired[str | None]


# -- server -> client ------------------------------------------------------------


class ConnectionQuality(TypedDict):
    quality: Quality


class WaitingForPartner(TypedDict):
    queuePosition: int
    timestamp: int  # Unix ms


class MatchFound(TypedDict):
    role: Role
    partnerName: str
    timestamp: int  # Unix ms
    iceServers: list[IceServer]
    iceTransportPolicy: IcePolicy
    commonInterests: list[str]
    commonLanguages: list[str]  # spoken languages both gave (SearchRequest.languages)
    callId: str  # names the call in resume-call
    resume: str  # opaque ticket for resume-call after a server restart (lobby.resume)
    mode: Mode  # the common mode of the two


class SignalOffer(TypedDict):
    offer: SessionDescription
    # The call it belongs to (match-found's callId): one that names another call than the
    # sender's current one (it was sent as that call ended) is dropped, not relayed into
    # the next call. Absent (a seed client): relayed within the current call.
    callId: NotRequired[str]


class SignalAnswer(TypedDict):
    answer: SessionDescription
    callId: NotRequired[str]  # as in SignalOffer


class SignalCandidate(TypedDict):
    candidate: IceCandidate
    callId: NotRequired[str]  # as in SignalOffer


class SignalCandidateBatch(TypedDict):
    candidates: list[IceCandidate]


class PartnerLeft(TypedDict):
    reason: Literal[ClientEvent.NEXT, ClientEvent.LEAVE]  # what the partner sent


class RateLimited(TypedDict):
    message: str  # for people, never a key
    retryAfter: int  # ms
    event: RateLimitedEvent
    id: NotRequired[MessageId]  # the refused chat message


class ServerError(TypedDict):
    message: str  # for people, never a key
    event: str
    code: ErrorCode


class HeartbeatAck(TypedDict):
    sentAt: float
    serverTime: int  # Unix ms


class ChatIncoming(TypedDict):
    text: str
    id: MessageId
    sentAt: int  # Unix ms


class ChatAck(TypedDict):
    id: MessageId


class TypingEvent(TypedDict):
    active: bool


class MediaState(TypedDict):
    """What the sender is sending: camera on or off, microphone on or off (both ways)."""

    video: bool
    audio: bool


class CallResumed(TypedDict):
    callId: str


class ReportAck(TypedDict):
    reportId: int
    picture: NotRequired[bool]  # only with a picture sent: whether it was kept (issue 24)


class BanInfo(TypedDict):
    until: int  # Unix ms
    reason: str


# -- client -> server ------------------------------------------------------------


class SearchRequest(TypedDict):
    """What ``find-partner`` and ``next`` may carry; parsed into ``parse.SearchOptions``."""

    interests: NotRequired[list[str]]
    strict: NotRequired[bool]
    privacy: NotRequired[bool]
    mode: NotRequired[Mode]  # absent: video
    # Spoken languages, ISO 639 primary subtags ("en", "pt"): a partner who speaks one of
    # them is preferred, and anyone once the language wait is over, unless languagesOnly.
    languages: NotRequired[list[str]]
    languagesOnly: NotRequired[bool]


class Heartbeat(TypedDict):
    sentAt: float


class CallStats(TypedDict):
    timeToMediaMs: float
    candidateType: CandidateType
    rttMs: float | None
    outcome: NotRequired[Literal["connected"]]


class CallFailed(TypedDict):
    outcome: Literal["failed"]


class ChatOutgoing(TypedDict):
    text: str
    id: MessageId
    callId: NotRequired[str]  # as in SignalOffer


class ResumeCall(TypedDict):
    callId: str
    resume: str


class ReportPartner(TypedDict):
    reason: ReportReason
    note: NotRequired[str]
    callId: NotRequired[str]  # one of the last few calls (core.recentcalls); absent: the last
    picture: NotRequired[str]  # base64 JPEG of the partner's video, <= 100 000 bytes (issue 24)


class BlockPartner(TypedDict):
    callId: NotRequired[str]  # as in ReportPartner


# What each event carries. None: no payload at all (the acks; on the client side,
# nothing after the event name). A tuple: the optional argument of a search.
SERVER_PAYLOADS: dict[ServerEvent, Any] = {
    ServerEvent.CONNECTION_QUALITY: ConnectionQuality,
    ServerEvent.WAITING_FOR_PARTNER: WaitingForPartner,
    ServerEvent.MATCH_FOUND: MatchFound,
    ServerEvent.SIGNAL_OFFER: SignalOffer,
    ServerEvent.SIGNAL_ANSWER: SignalAnswer,
    ServerEvent.SIGNAL_OFFER_ACK: None,
    ServerEvent.SIGNAL_ANSWER_ACK: None,
    ServerEvent.SIGNAL_ICE_CANDIDATE: SignalCandidate,
    ServerEvent.SIGNAL_ICE_CANDIDATES_BATCH: SignalCandidateBatch,
    ServerEvent.PARTNER_DISCONNECTED: Empty,
    ServerEvent.PARTNER_LEFT: PartnerLeft,
    ServerEvent.RATE_LIMITED: RateLimited,
    ServerEvent.ERROR: ServerError,
    ServerEvent.HEARTBEAT_ACK: HeartbeatAck,
    ServerEvent.CHAT_MESSAGE: ChatIncoming,
    ServerEvent.CHAT_MESSAGE_ACK: ChatAck,
    ServerEvent.TYPING: TypingEvent,
    ServerEvent.BLOCK_PARTNER_ACK: Empty,
    ServerEvent.REPORT_PARTNER_ACK: ReportAck,
    ServerEvent.BANNED: BanInfo,
    ServerEvent.CALL_RESUMED: CallResumed,
    ServerEvent.MEDIA_STATE: MediaState,
}

CLIENT_PAYLOADS: dict[ClientEvent, Any] = {
    ClientEvent.FIND_PARTNER: (SearchRequest,),
    ClientEvent.NEXT: (SearchRequest,),
    ClientEvent.LEAVE: None,
    ClientEvent.SIGNAL_OFFER: SignalOffer,
    ClientEvent.SIGNAL_ANSWER: SignalAnswer,
    ClientEvent.SIGNAL_ICE_CANDIDATE: SignalCandidate,
    ClientEvent.HEARTBEAT: Heartbeat,
    ClientEvent.CALL_STATS: CallStats | CallFailed,
    ClientEvent.CHAT_MESSAGE: ChatOutgoing,
    ClientEvent.TYPING: TypingEvent,
    ClientEvent.BLOCK_PARTNER: (BlockPartner,),
    ClientEvent.REPORT_PARTNER: ReportPartner,
    ClientEvent.RESUME_CALL: ResumeCall,
    ClientEvent.MEDIA_STATE: MediaState,
}

ALIASES = {
    "Role": Role,
    "Quality": Quality,
    "CandidateType": CandidateType,
    "IcePolicy": IcePolicy,
    "Mode": Mode,
    "ReportReason": ReportReason,
    "ErrorCode": ErrorCode,
    "PrivacyMode": PrivacyMode,
    "RateLimitedEvent": RateLimitedEvent,
    "SearchAction": SearchAction,
    "MessageId": MessageId,
}
