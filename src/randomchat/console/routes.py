"""The console's HTTP API under ``/api/console``, and the page at ``/admin``.

Who may call it: a console session (the cookie set by ``POST /api/console/session``,
see ``sessions.py``) of an ``admin`` or ``moderator`` account, or a bearer token with
``role: admin`` (for scripts, as ``/api/admin``). A cookie-authenticated request that
changes anything must carry ``X-Requested-With: randomchat-console``. Account
management is for admins only; moderators triage, warn, ban and lift bans.

    POST   /api/console/session            {name, password} -> 200 + cookie; 401, 429
    GET    /api/console/session            who is signed in
    DELETE /api/console/session            sign out
    GET    /api/console/reports            ?status=open|dismissed|warned|banned|all
                                           &reason=&sort=newest|heaviest&limit&offset
    GET    /api/console/reports/{id}
    POST   /api/console/reports/{id}/dismiss      {reason?}
    POST   /api/console/reports/{id}/warn         {reason}
    POST   /api/console/reports/{id}/ban          {hours, reason}
    POST   /api/console/reports/{id}/ban-address  {hours, reason}   the user and their network;
                                           501 without address bans, 409 without an address
    GET    /api/console/users/{user_id}    the user's report and ban history, warnings
    GET    /api/console/bans               ?q= active bans, newest first
    POST   /api/console/bans               {userId, hours, reason}
    POST   /api/console/bans/lift          {userId, reason}
    GET    /api/console/now                live figures
    GET    /api/console/audit              ?limit&offset&target&action&format=json|jsonl|csv
    GET    /api/console/accounts           admin only
    POST   /api/console/accounts           admin only {name, role, password}
    POST   /api/console/accounts/{name}/password   admin only {password}
    DELETE /api/console/accounts/{name}    admin only

Every action is written to the audit log. A ban is stored first and audited
after (two transactions): if the audit write fails the answer is 503 although
the ban holds, which the operator sees; the reverse order could log a ban that
never happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from randomchat import admin, static
from randomchat.config import Settings
from randomchat.console import export, sessions
from randomchat.console.gate import Actor, Gate, Handler
from randomchat.console.live import Live
from randomchat.console.shapes import (
    ADDRESS_BANS,
    MAX_PAGE,
    NAME,
    NO_ADDRESS,
    NO_STORE,
    AuditQuery,
    BanFor,
    BanQuery,
    Decision,
    Lift,
    NewAccount,
    NewPassword,
    QueueQuery,
    UserBan,
    Warning_,
    ban_row_json,
    ok,
    parse_body,
    parse_query,
    problem,
    queued_json,
    reported_address,
)
from randomchat.db import Ban, Database, audit, triage
from randomchat.db import accounts as account_store
from randomchat.db.accounts import AccountExists
from randomchat.metrics import Metrics
from randomchat.store import Store

log = logging.getLogger(__name__)


class AdminPage:
    """``/admin``: the built ``admin.html`` with the same headers as every page file.

    Everyone gets the page (it is the sign-in form); nothing in it is secret, and
    every piece of data behind it needs a session.
    """

    def __init__(self, web_dir: Path) -> None:
        self._web_dir = web_dir
        self._files: ASGIApp | None = None  # made on first use: the build may come later

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self._web_dir / "admin.html").is_file():
            response = PlainTextResponse(
                "The console page is not built: run `make web`", status_code=404
            )
            await response(scope, receive, send)
            return
        if self._files is None:
            self._files = static.web_app(self._web_dir)
        page = {**scope, "path": "/admin.html", "raw_path": b"/admin.html"}
        await self._files(page, receive, send)


def console_routes(
    settings: Settings,
    db: Database,
    store: Store,
    metrics: Metrics,
    on_ban: Callable[[Ban], Awaitable[None]],
    on_unban: Callable[[str], Awaitable[None]],
    clock: Callable[[], float] = time.monotonic,  # the sign-in back-off's
) -> list[BaseRoute]:
    gate = Gate(settings, db, clock)
    live = Live(store, metrics, db)

    # -- reports -----------------------------------------------------------------

    async def list_reports(request: Request, actor: Actor) -> Response:
        query = parse_query(request, QueueQuery)
        if isinstance(query, Response):
            return query
        found = await triage.queue(
            db,
            status=None if query.status == "all" else query.status,
            reason=query.reason,
            sort=query.sort,
            limit=query.limit,
            offset=query.offset,
        )
        return ok({"reports": [queued_json(r) for r in found]})

    async def _report_or_404(request: Request) -> triage.QueuedReport | Response:
        found = await triage.queued_report(db, int(request.path_params["report_id"]))
        if found is None:
            return problem(404, "No such report")
        return found

    async def one_report(request: Request, actor: Actor) -> Response:
        found = await _report_or_404(request)
        return found if isinstance(found, Response) else ok(queued_json(found))

    async def _review(
        request: Request, actor: Actor, model: type[Decision | Warning_], status: str, action: str
    ) -> Response:
        """Mark a report ``status`` (dismissed, warned), with its audit entry ``action``."""
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        body = await parse_body(request, model)
        if isinstance(body, Response):
            return body
        now = time.time()
        await triage.review(db, found.report.id, status, actor.label, now)
        await audit.record(
            db,
            actor=actor.label,
            action=action,
            target=found.report.reported,
            reason=body.reason,
            now=now,
            detail={"reportId": found.report.id},
        )
        return ok({"status": status})

    async def dismiss(request: Request, actor: Actor) -> Response:
        return await _review(request, actor, Decision, "dismissed", "dismiss")

    async def warn(request: Request, actor: Actor) -> Response:
        # A warning is recorded (shown in the user's history), not sent: see the README.
        return await _review(request, actor, Warning_, "warned", "warn")

    async def _ban(
        actor: Actor,
        user_id: str,
        hours: float,
        reason: str,
        detail: dict[str, Any],
        address_hash: str | None = None,
    ) -> Ban:
        now = time.time()
        # Address bans (issue 15) are a ban row that also holds the network's keyed hash.
        extra: dict[str, Any] = {} if address_hash is None else {"address_hash": address_hash}
        ban = await db.ban(
            user_id,
            until=now + hours * admin.HOUR,
            reason=reason,
            created_by=actor.label,
            now=now,
            **extra,
        )
        log.info("banned", extra={"user": user_id, "by": actor.label, "until": ban.until})
        await audit.record(
            db,
            actor=actor.label,
            action="ban" if address_hash is None else "ban-address",
            target=user_id,
            reason=reason,
            now=now,
            detail={**detail, "hours": hours, "until": ban.until},
        )
        try:
            await on_ban(ban)
        except Exception:
            # Stored; the server's sweep of new bans disconnects the user later.
            log.exception("could not act on a ban", extra={"user": user_id})
        return ban

    async def ban_reported(request: Request, actor: Actor) -> Response:
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        body = await parse_body(request, BanFor)
        if isinstance(body, Response):
            return body
        ban = await _ban(
            actor, found.report.reported, body.hours, body.reason, {"reportId": found.report.id}
        )
        await triage.review(db, found.report.id, "banned", actor.label, time.time())
        return ok(admin.ban_json(ban), 201)

    async def ban_reported_address(request: Request, actor: Actor) -> Response:
        if not ADDRESS_BANS:
            return problem(501, "Address bans are not available on this server")
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        address = reported_address(found.report)
        if address is None:
            return problem(409, NO_ADDRESS)
        body = await parse_body(request, BanFor)
        if isinstance(body, Response):
            return body
        ban = await _ban(
            actor,
            found.report.reported,
            body.hours,
            body.reason,
            {"reportId": found.report.id, "address": True},
            address_hash=address,
        )
        await triage.review(db, found.report.id, "banned", actor.label, time.time())
        return ok(admin.ban_json(ban), 201)

    async def user_history(request: Request, actor: Actor) -> Response:
        user_id = request.path_params["user_id"]
        if not 1 <= len(user_id) <= admin.MAX_USER_ID:
            return problem(422, f"user_id: at most {admin.MAX_USER_ID} characters")
        found = await triage.history(db, user_id)
        warnings = await audit.entries(
            db, limit=triage.HISTORY_LIMIT, target=user_id, action="warn"
        )
        active = await db.active_ban(user_id, time.time())
        return ok(
            {
                "userId": user_id,
                "reportedCount": found.reported_count,
                "filedCount": found.filed_count,
                "reports": [queued_json(r) for r in found.reported],
                "bans": [ban_row_json(b) for b in found.bans],
                "banned": active is not None,
                "warnings": [export.entry_json(w) for w in warnings],
            }
        )

    # -- bans --------------------------------------------------------------------

    async def list_bans(request: Request, actor: Actor) -> Response:
        query = parse_query(request, BanQuery)
        if isinstance(query, Response):
            return query
        found = await triage.search_bans(db, time.time(), query=query.q or None, limit=query.limit)
        return ok({"bans": [ban_row_json(b) for b in found]})

    async def create_ban(request: Request, actor: Actor) -> Response:
        body = await parse_body(request, UserBan)
        if isinstance(body, Response):
            return body
        ban = await _ban(actor, body.user_id, body.hours, body.reason, {})
        return ok(admin.ban_json(ban), 201)

    async def lift_ban(request: Request, actor: Actor) -> Response:
        body = await parse_body(request, Lift)
        if isinstance(body, Response):
            return body
        now = time.time()
        if not await db.unban(body.user_id, now):
            return problem(404, f"{body.user_id!r} has no active ban")
        log.info("unbanned", extra={"user": body.user_id, "by": actor.label})
        await audit.record(
            db, actor=actor.label, action="unban", target=body.user_id, reason=body.reason, now=now
        )
        try:
            await on_unban(body.user_id)
        except Exception:
            log.exception("could not act on an unban", extra={"user": body.user_id})
        return Response(status_code=204, headers=NO_STORE)

    # -- now and audit -------------------------------------------------------------

    async def now(request: Request, actor: Actor) -> Response:
        return ok(await live.figures(time.monotonic(), time.time()))

    async def audit_log(request: Request, actor: Actor) -> Response:
        query = parse_query(request, AuditQuery)
        if isinstance(query, Response):
            return query
        if query.format == "json" and query.limit > MAX_PAGE:
            return problem(422, f"limit: at most {MAX_PAGE} as json (use jsonl or csv to export)")
        found = await audit.entries(
            db, limit=query.limit, offset=query.offset, target=query.target, action=query.action
        )
        if query.format == "json":
            return ok({"entries": [export.entry_json(e) for e in found]})
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        if query.format == "csv":
            body, media, suffix = export.csv_text(found), "text/csv; charset=utf-8", "csv"
        else:
            body, media, suffix = export.json_lines(found), "application/x-ndjson", "jsonl"
        headers = {
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{suffix}"',
        }
        return Response(body, media_type=media, headers=headers)

    # -- accounts (admins only) ----------------------------------------------------

    async def list_accounts(request: Request, actor: Actor) -> Response:
        found = await account_store.all_accounts(db)
        return ok(
            {
                "accounts": [
                    {
                        "name": a.name,
                        "role": a.role,
                        "createdAt": a.created_at,
                        "updatedAt": a.updated_at,
                    }
                    for a in found
                ]
            }
        )

    async def add_account(request: Request, actor: Actor) -> Response:
        body = await parse_body(request, NewAccount)
        if isinstance(body, Response):
            return body
        refused = sessions.check_password_rules(body.password)
        if refused is not None:
            return problem(422, f"password: {refused}")
        now = time.time()
        try:
            await account_store.add(
                db, body.name, body.role, sessions.hash_password(body.password), now
            )
        except AccountExists as exc:
            return problem(409, str(exc))
        await audit.record(
            db,
            actor=actor.label,
            action="account-add",
            target=body.name,
            reason="",
            now=now,
            detail={"role": body.role},
        )
        return ok({"name": body.name, "role": body.role}, 201)

    def _account_name(request: Request) -> str | None:
        name: str = request.path_params["name"]
        return name if NAME.fullmatch(name) else None

    async def change_password(request: Request, actor: Actor) -> Response:
        name = _account_name(request)
        if name is None:
            return problem(404, "No such account")
        body = await parse_body(request, NewPassword)
        if isinstance(body, Response):
            return body
        refused = sessions.check_password_rules(body.password)
        if refused is not None:
            return problem(422, f"password: {refused}")
        now = time.time()
        if not await account_store.set_password(
            db, name, sessions.hash_password(body.password), now
        ):
            return problem(404, "No such account")
        await audit.record(
            db, actor=actor.label, action="account-password", target=name, reason="", now=now
        )
        return Response(status_code=204, headers=NO_STORE)

    async def remove_account(request: Request, actor: Actor) -> Response:
        name = _account_name(request)
        if name is None or not await account_store.remove(db, name):
            return problem(404, "No such account")
        await audit.record(
            db, actor=actor.label, action="account-remove", target=name, reason="", now=time.time()
        )
        return Response(status_code=204, headers=NO_STORE)

    def route(path: str, handler: Handler, method: str, *, admins_only: bool = False) -> Route:
        return Route(path, gate.guard(handler, admins_only=admins_only), methods=[method])

    base = "/api/console"
    report = base + "/reports/{report_id:int}"
    return [
        Route(base + "/session", gate.sign_in, methods=["POST"]),
        Route(base + "/session", gate.sign_out, methods=["DELETE"]),
        route(base + "/session", gate.whoami, "GET"),
        route(base + "/reports", list_reports, "GET"),
        route(report, one_report, "GET"),
        route(report + "/dismiss", dismiss, "POST"),
        route(report + "/warn", warn, "POST"),
        route(report + "/ban", ban_reported, "POST"),
        route(report + "/ban-address", ban_reported_address, "POST"),
        route(base + "/users/{user_id:path}", user_history, "GET"),
        route(base + "/bans", list_bans, "GET"),
        route(base + "/bans", create_ban, "POST"),
        route(base + "/bans/lift", lift_ban, "POST"),
        route(base + "/now", now, "GET"),
        route(base + "/audit", audit_log, "GET"),
        route(base + "/accounts", list_accounts, "GET", admins_only=True),
        route(base + "/accounts", add_account, "POST", admins_only=True),
        route(base + "/accounts/{name}/password", change_password, "POST", admins_only=True),
        route(base + "/accounts/{name}", remove_account, "DELETE", admins_only=True),
        Route("/admin", AdminPage(settings.web_dir), methods=["GET", "HEAD"]),
    ]
