"""The moderation actions both HTTP surfaces take: ban, lift a ban or an address, read.

``/api/console`` (the console's endpoints) and ``/api/admin`` (the token API) only
parse, call these and render through ``shapes``; what a ban does (stored, audited,
the user disconnected) is written once, here.

A ban is stored first and audited after (two transactions): if the audit write
fails the answer is 503 although the ban holds, which the operator sees; the
reverse order could log a ban that never happened. ``on_ban`` and ``on_unban``
tell the server (disconnect, forget a cached ban); when they fail the ban is
stored all the same and the server's sweep of ban changes acts on it later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat.console.shapes import HOUR
from randomchat.db import Ban, Database, Report, audit, evidence, safety, triage

log = logging.getLogger(__name__)


class Moderation:
    """The actions, with what they need: the database and the server's two hooks."""

    def __init__(
        self,
        db: Database,
        on_ban: Callable[[Ban], Awaitable[None]],
        on_unban: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self._on_ban = on_ban
        self._on_unban = on_unban

    async def ban(
        self,
        actor: str,
        user_id: str,
        hours: float,
        reason: str,
        detail: dict[str, Any],
        address_hash: str | None = None,
    ) -> Ban:
        """Ban ``user_id`` (and ``address_hash``, a network's keyed hash) for ``hours``."""
        now = time.time()
        ban = await self.db.ban(
            user_id,
            until=now + hours * HOUR,
            reason=reason,
            created_by=actor,
            now=now,
            address_hash=address_hash,
        )
        log.info("banned", extra={"user": user_id, "by": actor, "until": ban.until})
        await audit.record(
            self.db,
            actor=actor,
            action="ban" if address_hash is None else "ban-address",
            target=user_id,
            reason=reason,
            now=now,
            detail={**detail, "hours": hours, "until": ban.until},
        )
        await self.banned(ban)
        return ban

    async def ban_reported(
        self,
        actor: str,
        report: Report,
        hours: float,
        reason: str,
        detail: dict[str, Any],
        address_hash: str | None = None,
    ) -> Ban:
        """Ban the user ``report`` is about; the report is closed as ``banned``."""
        ban = await self.ban(
            actor,
            report.reported,
            hours,
            reason,
            {**detail, "reportId": report.id},
            address_hash=address_hash,
        )
        await triage.review(self.db, report.id, "banned", actor, time.time())
        await evidence.drop(self.db, report.id)  # closed: the picture has done its work
        return ban

    async def lift(
        self, actor: str, user_id: str, reason: str, detail: dict[str, Any] | None = None
    ) -> bool:
        """End the active ban of ``user_id``; whether there was one."""
        now = time.time()
        if not await self.db.unban(user_id, now):
            return False
        log.info("unbanned", extra={"user": user_id, "by": actor})
        await audit.record(
            self.db,
            actor=actor,
            action="unban",
            target=user_id,
            reason=reason,
            now=now,
            detail=detail,
        )
        await self.unbanned(user_id)
        return True

    async def lift_address(
        self, actor: str, address_hash: str, detail: dict[str, Any]
    ) -> list[str]:
        """End the bans that cover a network; the users whose bans ended (none: no ban)."""
        now = time.time()
        users = await safety.unban_address(self.db, address_hash, now)
        if users:
            log.info("address unbanned", extra={"users": users, "by": actor})
        for user_id in users:
            await audit.record(
                self.db,
                actor=actor,
                action="unban",
                target=user_id,
                reason="",
                now=now,
                detail={**detail, "address": True},
            )
        for user_id in users:
            await self.unbanned(user_id)
        return users

    async def banned(self, ban: Ban) -> None:
        """Tell the server of a ban in force (a new one, or one an undo restored)."""
        try:
            await self._on_ban(ban)
        except Exception:
            # Stored; the server's sweep of new bans disconnects the user later.
            log.exception("could not act on a ban", extra={"user": ban.user_id})

    async def unbanned(self, user_id: str) -> None:
        if self._on_unban is None:
            return
        try:
            await self._on_unban(user_id)
        except Exception:
            log.exception("could not act on an unban", extra={"user": user_id})

    async def reports(self, *, limit: int, offset: int, user_id: str | None) -> list[Report]:
        """Reports newest first, all or about one user."""
        return await self.db.reports(limit=limit, offset=offset, user_id=user_id)

    async def stats(self) -> dict[str, int]:
        return await self.db.stats(time.time())

    async def ban_page(self, *, limit: int, offset: int) -> list[Ban]:
        """Active bans, newest first."""
        return await self.db.active_bans(time.time(), limit=limit, offset=offset)
