"""The report queue's endpoints: read, dismiss, warn, ban (and undo a ban), user histories.

Each is a function ``(deps, request, actor)`` (``deps.py``); bans go through ``actions.py``.

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
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from randomchat.console import export
from randomchat.console.deps import Deps
from randomchat.console.gate import Actor
from randomchat.console.shapes import (
    ADDRESS_BANS,
    NO_ADDRESS,
    NO_STORE,
    BanFor,
    Decision,
    QueueQuery,
    Warning_,
    ban_json,
    ban_row_json,
    ok,
    parse_body,
    parse_query,
    problem,
    queued_json,
    reported_address,
    user_id_or_problem,
)
from randomchat.db import audit, evidence, triage

log = logging.getLogger(__name__)

UNDO_REASON = "undone by the moderator who set it"
# The picture is the reporter's upload: a browser must take it for a JPEG and nothing
# else, run nothing in it, and keep no copy.
PICTURE_HEADERS = {
    **NO_STORE,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def list_reports(deps: Deps, request: Request, actor: Actor) -> Response:
    query = parse_query(request, QueueQuery)
    if isinstance(query, Response):
        return query
    found = await triage.queue(
        deps.db,
        status=None if query.status == "all" else query.status,
        reason=query.reason,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
    )
    names = await triage.names_of(deps.db, (r.report.reported for r in found))
    pictured = await evidence.with_pictures(deps.db, (r.report.id for r in found))
    return ok({"reports": [_json(r, names, pictured) for r in found]})


def _json(
    found: triage.QueuedReport, names: dict[str, list[str]], pictured: set[int]
) -> dict[str, Any]:
    """A report as the console reads it, with whether it has a picture."""
    return {**queued_json(found, names), "picture": found.report.id in pictured}


async def _report_or_404(deps: Deps, request: Request) -> triage.QueuedReport | Response:
    found = await triage.queued_report(deps.db, int(request.path_params["report_id"]))
    if found is None:
        return problem(404, "No such report")
    return found


async def one_report(deps: Deps, request: Request, actor: Actor) -> Response:
    found = await _report_or_404(deps, request)
    if isinstance(found, Response):
        return found
    names = await triage.names_of(deps.db, [found.report.reported])
    pictured = await evidence.with_pictures(deps.db, [found.report.id])
    return ok(_json(found, names, pictured))


async def picture(deps: Deps, request: Request, actor: Actor) -> Response:
    """The report's picture, a JPEG; 404 once the report is closed or the picture old."""
    report_id = int(request.path_params["report_id"])
    found = await evidence.picture(deps.db, report_id, time.time(), deps.keep_for)
    if found is None:
        return problem(404, "This report has no picture (or no longer)")
    return Response(found, media_type="image/jpeg", headers=PICTURE_HEADERS)


async def _review(
    deps: Deps, request: Request, actor: Actor, model: type[Decision | Warning_], status: str
) -> Response:
    """Mark a report ``status`` (dismissed, warned), with its audit entry."""
    found = await _report_or_404(deps, request)
    if isinstance(found, Response):
        return found
    body = await parse_body(request, model)
    if isinstance(body, Response):
        return body
    now = time.time()
    await triage.review(deps.db, found.report.id, status, actor.label, now)
    await evidence.drop(deps.db, found.report.id)  # closed: the picture has done its work
    await audit.record(
        deps.db,
        actor=actor.label,
        action="dismiss" if status == "dismissed" else "warn",
        target=found.report.reported,
        reason=body.reason,
        now=now,
        detail={"reportId": found.report.id},
    )
    return ok({"status": status})


async def dismiss(deps: Deps, request: Request, actor: Actor) -> Response:
    return await _review(deps, request, actor, Decision, "dismissed")


async def warn(deps: Deps, request: Request, actor: Actor) -> Response:
    # A warning is recorded (shown in the user's history), not sent: see the README.
    return await _review(deps, request, actor, Warning_, "warned")


async def ban_reported(deps: Deps, request: Request, actor: Actor) -> Response:
    return await _ban_reported(deps, request, actor, address=False)


async def ban_reported_address(deps: Deps, request: Request, actor: Actor) -> Response:
    if not ADDRESS_BANS:
        return problem(501, "Address bans are not available on this server")
    return await _ban_reported(deps, request, actor, address=True)


async def _ban_reported(deps: Deps, request: Request, actor: Actor, *, address: bool) -> Response:
    found = await _report_or_404(deps, request)
    if isinstance(found, Response):
        return found
    network = reported_address(found.report) if address else None
    if address and network is None:
        return problem(409, NO_ADDRESS)
    body = await parse_body(request, BanFor)
    if isinstance(body, Response):
        return body
    detail: dict[str, Any] = {"address": True} if address else {}
    ban = await deps.moderation.ban_reported(
        actor.label, found.report, body.hours, body.reason, detail, address_hash=network
    )
    return ok(ban_json(ban), 201)


async def undo(deps: Deps, request: Request, actor: Actor) -> Response:
    """Undo this moderator's ban from this report, within ``triage.UNDO_SECONDS``."""
    found = await _report_or_404(deps, request)
    if isinstance(found, Response):
        return found
    now = time.time()
    undone = await triage.undo_ban(deps.db, found, actor.label, now)
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
        deps.db,
        actor=actor.label,
        action="unban",
        target=user_id,
        reason=UNDO_REASON,
        now=now,
        detail={"reportId": found.report.id, "undo": True, "restored": restored is not None},
    )
    await deps.moderation.unbanned(user_id)
    if restored is not None:
        await deps.moderation.banned(restored)  # the replaced ban holds again, on this node too
    return ok({"status": "open", "restored": restored is not None})


async def user_history(deps: Deps, request: Request, actor: Actor) -> Response:
    user_id = user_id_or_problem(request.path_params["user_id"])
    if isinstance(user_id, Response):
        return user_id
    found = await triage.history(deps.db, user_id)
    warnings = await audit.entries(
        deps.db, limit=triage.HISTORY_LIMIT, target=user_id, action="warn"
    )
    active = await deps.db.active_ban(user_id, time.time())
    names = await triage.names_of(deps.db, [user_id])
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
