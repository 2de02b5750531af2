"""The moderation console: the page at ``/admin`` and its API under ``/api/console``.

sessions.py   passwords (argon2), the signed session cookie, sign-in limits
routes.py     the HTTP API: sign-in, report queue, bans, now, audit, accounts
live.py       the "now" figures from the store's counts and the metrics
export.py     the audit log as JSON lines or CSV
"""

from __future__ import annotations

from randomchat.console.routes import console_routes

__all__ = ["console_routes"]
