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
    GET    /api/console/reports/{id}/picture      the JPEG attached (``picture: true``); 404 else
    POST   /api/console/reports/{id}/dismiss      {reason?}
    POST   /api/console/reports/{id}/warn         {reason}
    POST   /api/console/reports/{id}/ban          {hours, reason}
    POST   /api/console/reports/{id}/ban-address  {hours, reason}   the user and their network;
                                           501 without address bans, 409 without an address
    POST   /api/console/reports/{id}/undo  undo one's own ban from it within 30 s; 409 else
    GET    /api/console/users/{user_id}    the user's report and ban history, warnings, names

Reports carry ``reportedName`` (the name the reported user was shown under in that
call) and ``reportedNames`` (their names across reports, newest first); the report
endpoints live in ``desk.py``.
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

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from randomchat import admin, static
from randomchat.config import Settings
from randomchat.console import export, sessions
from randomchat.console.desk import Desk
from randomchat.console.gate import Actor, Gate, Handler
from randomchat.console.live import Live
from randomchat.console.shapes import (
    MAX_PAGE,
    NAME,
    NO_STORE,
    AuditQuery,
    BanQuery,
    Lift,
    NewAccount,
    NewPassword,
    UserBan,
    ban_row_json,
    ok,
    parse_body,
    parse_query,
    problem,
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
    desk = Desk(db, on_ban, on_unban, settings.evidence_days * 86400)  # the report queue's

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
        ban = await desk.ban(actor, body.user_id, body.hours, body.reason, {})
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
        route(base + "/reports", desk.list_reports, "GET"),
        route(report, desk.one_report, "GET"),
        route(report + "/picture", desk.picture, "GET"),
        route(report + "/dismiss", desk.dismiss, "POST"),
        route(report + "/warn", desk.warn, "POST"),
        route(report + "/ban", desk.ban_reported, "POST"),
        route(report + "/ban-address", desk.ban_reported_address, "POST"),
        route(report + "/undo", desk.undo, "POST"),
        route(base + "/users/{user_id:path}", desk.user_history, "GET"),
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
