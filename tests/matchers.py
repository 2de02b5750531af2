"""Seekers and waiting entries for tests, from the search options spelled out as keywords
(interests, strict, privacy, mode; ``widened=True``: widened on interests)."""

from __future__ import annotations

from collections.abc import Iterable

from randomchat.core.matching import EMPTY, INTERESTS, Seeker, Waiting
from randomchat.protocol import SearchOptions

WIDE = frozenset({INTERESTS})


def make_options(
    interests: Iterable[str] = (), strict: bool = False, privacy: bool = False, mode: str = "video"
) -> SearchOptions:
    return SearchOptions(frozenset(interests), strict, privacy, mode)  # type: ignore[arg-type]


def make_waiting(
    sid: str,
    user_id: str,
    since: float,
    interests: Iterable[str] = (),
    strict: bool = False,
    widened: bool = False,
    previous: str | None = None,
    mode: str = "video",
    privacy: bool = False,
    address: str | None = None,
) -> Waiting:
    options = make_options(interests, strict, privacy, mode)
    return Waiting(sid, user_id, since, options, WIDE if widened else EMPTY, previous, address)


def make_seeker(
    sid: str,
    user_id: str,
    interests: Iterable[str] = (),
    strict: bool = False,
    widened: bool = False,
    excluded: frozenset[str] = EMPTY,
    recent: frozenset[str] = EMPTY,
    previous: str | None = None,
    mode: str = "video",
    privacy: bool = False,
    address: str | None = None,
) -> Seeker:
    options = make_options(interests, strict, privacy, mode)
    wide = WIDE if widened else EMPTY
    return Seeker(sid, user_id, options, wide, excluded, recent, previous, address)
