"""A report's picture (issue 24): the still the page took of the partner's video.

Pure rules: how many pictures one reporter may leave (what a picture must be to be kept
is the protocol's: ``protocol.parse_requests.report_partner``).
A picture is the most sensitive thing the server stores (it may show a naked person),
so it is small, checked, counted per reporter and per reporter network, and kept only
until a moderator closes the report or ``Rules.evidence_seconds`` pass.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 3600.0  # the bounds below count the pictures kept in the last hour
PER_REPORTER = 3  # per reporting user
PER_NETWORK = 10  # per reporter's wide network: a guest makes a new identity at will


@dataclass(frozen=True)
class Kept:
    """Pictures kept within ``WINDOW`` from the reporter, and from their network."""

    by_reporter: int
    by_network: int


def may_keep(kept: Kept) -> bool:
    """Whether one more picture may be kept. Past a bound the report is still stored,
    without its picture: a report matters more than its picture."""
    return kept.by_reporter < PER_REPORTER and kept.by_network < PER_NETWORK
