"""The report queue's endpoints: read, dismiss, warn, ban (and undo a ban), user histories.

Undo: a dismissal is delayed on the page (nothing reaches the server for 5 s, and the
report stays open if the page goes away: the safe side), while a ban takes effect at
once, so that an abuser who keeps acting is out straight away. Undoing a ban is a
server-side revert (``triage.undo_ban``): only by the moderator who set it, within
``triage.UNDO_SECONDS``; the ban ends, any ban it replaced that would still hold
(an automatic cool-down, say) holds again, the report is open again, and the audit
log says ``unban`` with ``undo: true``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from randomchat import admin
from randomchat.console import export
from randomchat.console.gate import Actor
from randomchat.console.shapes import (
    ADDRESS_BANS,
    NO_ADDRESS,
    NO_STORE,
    BanFor,
    Decision,
    QueueQuery,
    Warning_,
    ban_row_json,
    ok,
    parse_body,
    parse_query,
    problem,
    queued_json,
    reported_address,
)
from randomchat.db import Ban, Database, audit, evidence, triage

log = logging.getLogger(__name__)

UNDO_REASON = "undone by the moderator who set it"
DAY = 24 * 3600.0
# The picture is the reporter's upload: a browser must take it for a JPEG and nothing
# else, run nothing in it, and keep no copy.
PICTURE_HEADERS = {
    **NO_STORE,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class Desk:
    """The report endpoints; ``on_ban`` and ``on_unban`` tell the server (kick, forget)."""

    def __init__(
        self,
        db: Database,
        on_ban: Callable[[Ban], Awaitable[None]],
        on_unban: Callable[[str], Awaitable[None]],
        keep_for: float = 7 * DAY,  # seconds a report's picture is kept (--evidence-days)
    ) -> None:
        self.db = db
        self.on_ban = on_ban
        self.on_unban = on_unban
        self.keep_for = keep_for

    async def ban(
        self,
        actor: Actor,
        user_id: str,
        hours: float,
        reason: str,
        detail: dict[str, Any],
        address_hash: str | None = None,
    ) -> Ban:
        """Ban ``user_id`` now; stored first, audited after (see ``routes``)."""
        now = time.time()
        # Address bans (issue 15) are a ban row that also holds the network's keyed hash.
        extra: dict[str, Any] = {} if address_hash is None else {"address_hash": address_hash}
        ban = await self.db.ban(
            user_id,
            until=now + hours * admin.HOUR,
            reason=reason,
            created_by=actor.label,
            now=now,
            **extra,
        )
        log.info("banned", extra={"user": user_id, "by": actor.label, "until": ban.until})
        await audit.record(
            self.db,
            actor=actor.label,
            action="ban" if address_hash is None else "ban-address",
            target=user_id,
            reason=reason,
            now=now,
            detail={**detail, "hours": hours, "until": ban.until},
        )
        try:
            await self.on_ban(ban)
        except Exception:
            # Stored; the server's sweep of new bans disconnects the user later.
            log.exception("could not act on a ban", extra={"user": user_id})
        return ban

    async def list_reports(self, request: Request, actor: Actor) -> Response:
        query = parse_query(request, QueueQuery)
        if isinstance(query, Response):
            return query
        found = await triage.queue(
            self.db,
            status=None if query.status == "all" else query.status,
            reason=query.reason,
            sort=query.sort,
            limit=query.limit,
            offset=query.offset,
        )
        names = await triage.names_of(self.db, (r.report.reported for r in found))
        pictured = await evidence.with_pictures(self.db, (r.report.id for r in found))
        return ok({"reports": [self._json(r, names, pictured) for r in found]})

    @staticmethod
    def _json(
        found: triage.QueuedReport, names: dict[str, list[str]], pictured: set[int]
    ) -> dict[str, Any]:
        """A report as the console reads it, with whether it has a picture."""
        return {**queued_json(found, names), "picture": found.report.id in pictured}

    async def _report_or_404(self, request: Request) -> triage.QueuedReport | Response:
        found = await triage.queued_report(self.db, int(request.path_params["report_id"]))
        if found is None:
            return problem(404, "No such report")
        return found

    async def one_report(self, request: Request, actor: Actor) -> Response:
        found = await self._report_or_404(request)
        if isinstance(found, Response):
            return found
        names = await triage.names_of(self.db, [found.report.reported])
        pictured = await evidence.with_pictures(self.db, [found.report.id])
        return ok(self._json(found, names, pictured))

    async def picture(self, request: Request, actor: Actor) -> Response:
        """The report's picture, a JPEG; 404 once the report is closed or the picture old."""
        report_id = int(request.path_params["report_id"])
        found = await evidence.picture(self.db, report_id, time.time(), self.keep_for)
        if found is None:
            return problem(404, "This report has no picture (or no longer)")
        return Response(found, media_type="image/jpeg", headers=PICTURE_HEADERS)

    async def _review(
        self, request: Request, actor: Actor, model: type[Decision | Warning_], status: str
    ) -> Response:
        """Mark a report ``status`` (dismissed, warned), with its audit entry."""
        found = await self._report_or_404(request)
        if isinstance(found, Response):
            return found
        body = await parse_body(request, model)
        if isinstance(body, Response):
            return body
        now = time.time()
        await triage.review(self.db, found.report.id, status, actor.label, now)
        await evidence.drop(self.db, found.report.id)  # closed: the picture has done its work
        await audit.record(
            self.db,
            actor=actor.label,
            action="dismiss" if status == "dismissed" else "warn",
            target=found.report.reported,
            reason=body.reason,
            now=now,
            detail={"reportId": found.report.id},
        )
        return ok({"status": status})

    async def dismiss(self, request: Request, actor: Actor) -> Response:
        return await self._review(request, actor, Decision, "dismissed")

    async def warn(self, request: Request, actor: Actor) -> Response:
        # A warning is recorded (shown in the user's history), not sent: see the README.
        return await self._review(request, actor, Warning_, "warned")

    async def ban_reported(self, request: Request, actor: Actor) -> Response:
        return await self._ban_reported(request, actor, address=False)

    async def ban_reported_address(self, request: Request, actor: Actor) -> Response:
        if not ADDRESS_BANS:
            return problem(501, "Address bans are not available on this server")
        return await self._ban_reported(request, actor, address=True)

    async def _ban_reported(self, request: Request, actor: Actor, *, address: bool) -> Response:
        found = await self._report_or_404(request)
        if isinstance(found, Response):
            return found
        network = reported_address(found.report) if address else None
        if address and network is None:
            return problem(409, NO_ADDRESS)
        body = await parse_body(request, BanFor)
        if isinstance(body, Response):
            return body
        detail: dict[str, Any] = {"reportId": found.report.id}
        if address:
            detail["address"] = True
        ban = await self.ban(
            actor, found.report.reported, body.hours, body.reason, detail, address_hash=network
        )
        await triage.review(self.db, found.report.id, "banned", actor.label, time.time())
        await evidence.drop(self.db, found.report.id)
        return ok(admin.ban_json(ban), 201)

    async def undo(self, request: Request, actor: Actor) -> Response:
        """Undo this moderator's ban from this report, within ``triage.UNDO_SECONDS``."""
        found = await self._report_or_404(request)
        if isinstance(found, Response):
            return found
        now = time.time()
        undone = await triage.undo_ban(self.db, found, actor.label, now)
        if undone is None:
            return problem(
                409,
                f"Nothing to undo: only your own ban from this report, within "
                f"{triage.UNDO_SECONDS:.0f} s, and not changed since",
            )
        user_id = found.report.reported
        log.info("ban undone", extra={"user": user_id, "by": actor.label})
        restored = undone.restored
        await audit.record(
            self.db,
            actor=actor.label,
            action="unban",
            target=user_id,
            reason=UNDO_REASON,
            now=now,
            detail={"reportId": found.report.id, "undo": True, "restored": restored is not None},
        )
        try:
            await self.on_unban(user_id)
            if restored is not None:
                await self.on_ban(restored)  # the replaced ban holds again, on this node too
        except Exception:
            log.exception("could not act on an undone ban", extra={"user": user_id})
        return ok({"status": "open", "restored": restored is not None})

    async def user_history(self, request: Request, actor: Actor) -> Response:
        user_id = request.path_params["user_id"]
        if not 1 <= len(user_id) <= admin.MAX_USER_ID:
            return problem(422, f"user_id: at most {admin.MAX_USER_ID} characters")
        found = await triage.history(self.db, user_id)
        warnings = await audit.entries(
            self.db, limit=triage.HISTORY_LIMIT, target=user_id, action="warn"
        )
        active = await self.db.active_ban(user_id, time.time())
        names = await triage.names_of(self.db, [user_id])
        return ok(
            {
                "userId": user_id,
                "names": names.get(user_id, []),
                "reportedCount": found.reported_count,
                "filedCount": found.filed_count,
                "reports": [queued_json(r, names) for r in found.reported],
                "bans": [ban_row_json(b) for b in found.bans],
                "banned": active is not None,
                "warnings": [export.entry_json(w) for w in warnings],
            }
        )
