"""What the console's endpoints take: one frozen value, built once by ``console_routes``.

Every endpoint is a module-level function ``(deps, request, actor)``; the route
builder binds ``deps`` and puts the gate (``gate.py``) in front, so an endpoint
never reaches for anything that is not in here.
"""

from __future__ import annotations

from dataclasses import dataclass

from randomchat.console.actions import Moderation
from randomchat.console.live import Live
from randomchat.db import Database


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    moderation: Moderation  # the actions /api/admin takes too
    live: Live  # the "now" figures
    keep_for: float  # seconds a report's picture is kept (--evidence-days)
