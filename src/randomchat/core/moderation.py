"""The moderation policy: report reasons and when reports turn into a ban.

A user is banned automatically when ``threshold`` different users reported
them within the window. Reports made before the user's latest ban do not count
again: they were dealt with by that ban (or by the administrator who lifted it).
"""

from __future__ import annotations

import math

REPORT_REASONS = ("nudity", "harassment", "spam", "underage", "other")
MAX_NOTE = 500
AUTO_BANNED_BY = "auto"


def should_ban(distinct_reporters: int, threshold: int) -> bool:
    """Whether this many different reporters within the window earn a ban."""
    return distinct_reporters >= threshold


def counting_since(now: float, window_seconds: float, last_ban_at: float | None) -> float:
    """The earliest report time that still counts towards a ban at ``now``.

    Reports strictly after the last ban count: the report that triggered a ban
    carries the ban's own time, hence the next float up.
    """
    start = now - window_seconds
    if last_ban_at is None:
        return start
    return max(start, math.nextafter(last_ban_at, math.inf))


def auto_ban_reason(distinct_reporters: int) -> str:
    users = "user" if distinct_reporters == 1 else "users"
    return f"reported by {distinct_reporters} {users}"
