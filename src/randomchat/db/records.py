"""What the database hands out: frozen values, never rows or sessions.

Times are Unix seconds (floats), as the callers pass them in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ban:
    user_id: str
    reason: str
    created_at: float
    until: float
    created_by: str  # "auto", "admin:<user id>", "cli:<login>"


@dataclass(frozen=True, slots=True)
class ChatLine:
    sender: str  # user id
    text: str
    sent_at: float


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    reporter: str
    reported: str
    reason: str
    note: str
    chat: list[ChatLine]
    created_at: float
