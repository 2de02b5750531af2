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

Every action is written to the audit log; bans and lifts are the actions of
``actions.py``, which ``/api/admin`` takes too. Each endpoint is a module-level
function ``(deps, request, actor)`` (``deps.py``); ``console_routes`` builds the
dependencies once and only lists the routes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from randomchat import static
from randomchat.config import Settings
from randomchat.console import desk, export, sessions
from randomchat.console.actions import Moderation
from randomchat.console.deps import Deps
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
    ban_json,
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

Endpoint = Callable[[Deps, Request, Actor], Awaitable[Response]]


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


# -- bans ------------------------------------------------------------------------


async def list_bans(deps: Deps, request: Request, actor: Actor) -> Response:
    query = parse_query(request, BanQuery)
    if isinstance(query, Response):
        return query
    found = await triage.search_bans(deps.db, time.time(), query=query.q or None, limit=query.limit)
    return ok({"bans": [ban_row_json(b) for b in found]})


async def create_ban(deps: Deps, request: Request, actor: Actor) -> Response:
    body = await parse_body(request, UserBan)
    if isinstance(body, Response):
        return body
    ban = await deps.moderation.ban(actor.label, body.user_id, body.hours, body.reason, {})
    return ok(ban_json(ban), 201)


async def lift_ban(deps: Deps, request: Request, actor: Actor) -> Response:
    body = await parse_body(request, Lift)
    if isinstance(body, Response):
        return body
    if not await deps.moderation.lift(actor.label, body.user_id, body.reason):
        return problem(404, f"{body.user_id!r} has no active ban")
    return Response(status_code=204, headers=NO_STORE)


# -- now and audit -----------------------------------------------------------------


async def now(deps: Deps, request: Request, actor: Actor) -> Response:
    return ok(await deps.live.figures(time.monotonic(), time.time()))


async def audit_log(deps: Deps, request: Request, actor: Actor) -> Response:
    query = parse_query(request, AuditQuery)
    if isinstance(query, Response):
        return query
    if query.format == "json" and query.limit > MAX_PAGE:
        return problem(422, f"limit: at most {MAX_PAGE} as json (use jsonl or csv to export)")
    found = await audit.entries(
        deps.db, limit=query.limit, offset=query.offset, target=query.target, action=query.action
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


# -- accounts (admins only) ------------------------------------------------------------


async def list_accounts(deps: Deps, request: Request, actor: Actor) -> Response:
    found = await account_store.all_accounts(deps.db)
    return ok({"accounts": [account_json(a) for a in found]})


def account_json(account: account_store.Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "role": account.role,
        "createdAt": account.created_at,
        "updatedAt": account.updated_at,
    }


async def _new_password(request: Request) -> str | Response:
    """The hash of a new password from the body, or the refusal (422 for a weak one)."""
    body = await parse_body(request, NewPassword)
    if isinstance(body, Response):
        return body
    return _hashed(body.password)


def _hashed(password: str) -> str | Response:
    refused = sessions.check_password_rules(password)
    if refused is not None:
        return problem(422, f"password: {refused}")
    return sessions.hash_password(password)


async def add_account(deps: Deps, request: Request, actor: Actor) -> Response:
    body = await parse_body(request, NewAccount)
    if isinstance(body, Response):
        return body
    hashed = _hashed(body.password)
    if isinstance(hashed, Response):
        return hashed
    now = time.time()
    try:
        await account_store.add(deps.db, body.name, body.role, hashed, now)
    except AccountExists as exc:
        return problem(409, str(exc))
    await audit.record(
        deps.db,
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


async def change_password(deps: Deps, request: Request, actor: Actor) -> Response:
    name = _account_name(request)
    if name is None:
        return problem(404, "No such account")
    hashed = await _new_password(request)
    if isinstance(hashed, Response):
        return hashed
    now = time.time()
    if not await account_store.set_password(deps.db, name, hashed, now):
        return problem(404, "No such account")
    await audit.record(
        deps.db, actor=actor.label, action="account-password", target=name, reason="", now=now
    )
    return Response(status_code=204, headers=NO_STORE)


async def remove_account(deps: Deps, request: Request, actor: Actor) -> Response:
    name = _account_name(request)
    if name is None or not await account_store.remove(deps.db, name):
        return problem(404, "No such account")
    await audit.record(
        deps.db, actor=actor.label, action="account-remove", target=name, reason="", now=time.time()
    )
    return Response(status_code=204, headers=NO_STORE)


def bind(deps: Deps, endpoint: Endpoint) -> Handler:
    """``endpoint`` with its dependencies given, as the gate calls it."""

    async def handler(request: Request, actor: Actor) -> Response:
        return await endpoint(deps, request, actor)

    return handler


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
    moderation = Moderation(db, on_ban, on_unban)
    deps = Deps(db, moderation, Live(store, metrics, db), settings.evidence_days * 86400.0)

    def route(path: str, endpoint: Endpoint, method: str, *, admins_only: bool = False) -> Route:
        guarded = gate.guard(bind(deps, endpoint), admins_only=admins_only)
        return Route(path, guarded, methods=[method])

    base = "/api/console"
    report = base + "/reports/{report_id:int}"
    return [
        Route(base + "/session", gate.sign_in, methods=["POST"]),
        Route(base + "/session", gate.sign_out, methods=["DELETE"]),
        Route(base + "/session", gate.guard(gate.whoami), methods=["GET"]),
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
