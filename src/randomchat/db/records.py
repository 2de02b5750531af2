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
    address_hash: str | None = None  # a guest's network (keyed hash), banned with the user


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
    reporter_address: str | None = None  # keyed hashes of the networks (None: before 0004)
    reported_address: str | None = None  # None too when the reported user was not a guest
    weight: float = 1.0  # how much the report counts towards an automatic ban
    # The name the reported user was shown under in that call ("" before 0006 and for
    # a call whose record carried none): the console shows it beside the id.
    reported_name: str = ""
