"""The moderation console: the page at ``/admin``, its API under ``/api/console``, and
the actions and shapes the token API ``/api/admin`` (``randomchat.admin``) shares.

sessions.py   passwords (argon2), the signed session cookie, signed-out sessions
              (the sign-in back-off is core/signin.py)
gate.py       who is calling (session or admin token), roles, sign-in and out
shapes.py     request models, answers and the JSON shapes of both APIs
actions.py    Moderation: ban, lift, lift an address, read; taken by both APIs
deps.py       Deps: the one value every console endpoint takes
routes.py     the HTTP API: bans, now, audit, accounts; the page; console_routes
desk.py       the report queue's endpoints: triage, ban and its undo, user histories
commands.py   randomchat admin add|list|remove|password
live.py       the "now" figures from the store's counts and the metrics
export.py     the audit log as JSON lines or CSV
"""

from __future__ import annotations

from randomchat.console.routes import console_routes

__all__ = ["console_routes"]
