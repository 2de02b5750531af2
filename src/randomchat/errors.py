"""The errors randomchat raises, as one tree.

    RandomChatError
    ├── ConfigError          a setting is missing or invalid (exit code 2)
    ├── AuthError            a token was refused; ``reason`` is safe to log and to count
    ├── InvalidPayload       an event's payload is malformed; ``event`` names the event
    ├── IllegalMove          a request the user's state does not allow (no partner, already
    │                        waiting, already reported this call)
    ├── Banned               the user is banned; carries ``until`` and ``reason``
    ├── TooManyConnections   a connection cap (per user or per address) is reached
    └── StorageError         the database refused or failed; the cause is chained

Foreign errors (PyJWT, pydantic) are translated into these at the boundary with
``raise ... from exc`` so that callers handle one family.

The errors a client event can meet carry a ``code``, the machine-readable kind
sent in the wire ``error`` payload ``{message, event, code}``: ``invalid_payload``,
``refused`` (not in this state), ``unavailable`` (storage down); the gateway adds
``internal`` and ``unknown_event``. Rate limits have their own event,
``rate-limited``.
"""

from __future__ import annotations

from typing import Final


class RandomChatError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(RandomChatError):
    """A setting is missing or invalid."""


class AuthError(RandomChatError):
    """A token was refused. ``reason`` is a short label, never the token itself."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class InvalidPayload(RandomChatError):
    """An event's payload does not have the shape the protocol requires."""

    code: Final = "invalid_payload"

    def __init__(self, event: str, message: str) -> None:
        super().__init__(f"{event}: {message}")
        self.event = event
        self.message = message


class IllegalMove(RandomChatError):
    """A request the user's state does not allow now: a move the table in ``core.state``
    refuses, a chat line with no partner, a second report of one call, a resume refused.

    ``message`` is the text the client sees; it keeps the seed's wording.
    """

    code: Final = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Banned(RandomChatError):
    """The user is banned until ``until`` (Unix seconds)."""

    def __init__(self, until: float, reason: str) -> None:
        super().__init__(f"banned until {until}: {reason}")
        self.until = until
        self.reason = reason


class TooManyConnections(RandomChatError):
    """A new connection would pass a cap; ``scope`` is ``user`` or ``address``."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"at most {limit} connections per {scope}")
        self.scope = scope
        self.limit = limit


class StorageError(RandomChatError):
    """The database refused or failed an operation; the cause is chained."""

    code: Final = "unavailable"
