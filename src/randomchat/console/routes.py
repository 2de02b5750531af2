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
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from randomchat import admin, auth, static
from randomchat.config import Settings
from randomchat.console import export, sessions
from randomchat.console.live import Live
from randomchat.core.moderation import AUTO_BANNED_BY, REPORT_REASONS
from randomchat.db import Ban, Database, Report, StorageError, audit, triage
from randomchat.db import accounts as account_store
from randomchat.db.accounts import AccountExists
from randomchat.errors import AuthError
from randomchat.http import BodyError, read_json
from randomchat.metrics import Metrics
from randomchat.store import Store

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

BODY_LIMIT = 16 * 1024
MAX_PAGE = 500
MAX_AUDIT_EXPORT = 100_000
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_NAME = re.compile(NAME_PATTERN)
NO_STORE = {"Cache-Control": "no-store"}
# Issue 15 stores the keyed hash of the reported user's network with a report, and
# lets a ban hold one; on a schema without them the console says address bans are off.
ADDRESS_BANS = "reported_address" in getattr(Report, "__dataclass_fields__", {})
NO_ADDRESS = "No address was recorded with this report (the user was not a guest)"

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptionalReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Hours = Annotated[float, Field(ge=admin.MIN_BAN_HOURS, le=admin.MAX_BAN_HOURS, allow_inf_nan=False)]
Name = Annotated[str, StringConstraints(pattern=f"^{NAME_PATTERN}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=sessions.MAX_PASSWORD)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class SignIn(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Password


class Decision(_Body):
    reason: OptionalReason = ""


class Warning_(_Body):
    reason: Reason


class BanFor(_Body):
    hours: Hours
    reason: Reason


class UserBan(BanFor):
    user_id: admin.UserId


class Lift(_Body):
    user_id: admin.UserId
    reason: Reason


class NewAccount(_Body):
    name: Name
    role: Literal["admin", "moderator"]
    password: Password


class NewPassword(_Body):
    password: Password


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["open", "dismissed", "warned", "banned", "all"] = "open"
    reason: Literal[REPORT_REASONS] | None = None  # type: ignore[valid-type]
    sort: Literal["newest", "heaviest"] = "newest"
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=admin.MAX_OFFSET)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(200, ge=1, le=MAX_AUDIT_EXPORT)
    offset: int = Field(0, ge=0, le=admin.MAX_OFFSET)
    target: admin.UserId | None = None
    action: Literal[audit.ACTIONS] | None = None  # type: ignore[valid-type]
    format: Literal["json", "jsonl", "csv"] = "json"


class BanQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    limit: int = Field(200, ge=1, le=MAX_PAGE)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: ``label`` goes into the audit log and into ``created_by``."""

    name: str
    role: str
    label: str
    renew: tuple[str, float] | None = None  # a fresh session cookie to set


Handler = Callable[[Request, Actor], Awaitable[Response]]


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def _invalid(exc: ValidationError) -> JSONResponse:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return problem(422, f"{where}: {err['msg']}")


def _ok(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=NO_STORE)


async def _parse(request: Request, model: type[M]) -> M | Response:
    try:
        body: Any = await read_json(request, BODY_LIMIT, '{"reason": "spam"}')
    except BodyError as exc:
        return exc.response
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        return _invalid(exc)


def _query(request: Request, model: type[M]) -> M | Response:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return _invalid(exc)


def _set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=sessions.SESSION_SECONDS,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def _clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def ban_row_json(ban: triage.BanRow) -> dict[str, Any]:
    return {
        "userId": ban.user_id,
        "reason": ban.reason,
        "createdAt": ban.created_at,
        "until": ban.until,
        "createdBy": ban.created_by,
        "automatic": ban.created_by == AUTO_BANNED_BY,
        "endedAt": ban.ended_at,
        "address": ban.address,
    }


def reported_address(report: Report) -> str | None:
    """The keyed hash of the reported user's network, where the report holds one."""
    value = getattr(report, "reported_address", None)
    return value if isinstance(value, str) and value else None


def queued_json(item: triage.QueuedReport) -> dict[str, Any]:
    return {
        **admin.report_json(item.report),
        "addressKnown": reported_address(item.report) is not None,
        "weight": item.weight,
        "status": item.status,
        "reviewedBy": item.reviewed_by,
        "reviewedAt": item.reviewed_at,
    }


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
) -> list[BaseRoute]:
    limits = sessions.SignInLimits()
    live = Live(store, metrics, db)

    async def identify(request: Request) -> Actor | Response:
        cookie = request.cookies.get(sessions.COOKIE)
        if cookie is not None:
            if request.method != "GET" and (
                request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE
            ):
                return problem(
                    403, "This request needs the header X-Requested-With: randomchat-console"
                )
            found = await sessions.verify(settings.secret, db, cookie)
            if found is None:
                response = problem(401, "Your console session has ended; sign in again")
                _clear_cookie(response, request)
                return response
            account, session = found
            now = time.time()
            renew = None
            if session.expires_at - now < sessions.SESSION_SECONDS / 2:
                renew = sessions.issue(settings.secret, account, now)
            return Actor(account.name, account.role, f"console:{account.name}", renew)
        try:
            token = auth.token_from_handshake(None, request.headers.get("authorization"))
            identity = auth.verify(token, settings.secret)
        except AuthError as exc:
            if exc.reason == "missing":
                return problem(
                    401,
                    "Sign in to the console first",
                    {"WWW-Authenticate": 'Bearer realm="randomchat"'},
                )
            return problem(
                401,
                exc.detail,
                {"WWW-Authenticate": 'Bearer realm="randomchat", error="invalid_token"'},
            )
        if identity.role != admin.ADMIN_ROLE:
            log.warning(
                "console request refused", extra={"user": identity.user_id, "reason": "role"}
            )
            return problem(403, "This needs a console account or a token with the role 'admin'")
        return Actor(identity.user_id, admin.ADMIN_ROLE, f"admin:{identity.user_id}")

    def guarded(
        handler: Handler, *, admins_only: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                actor = await identify(request)
                if isinstance(actor, Response):
                    return actor
                if admins_only and actor.role != admin.ADMIN_ROLE:
                    log.warning(
                        "console request refused", extra={"user": actor.label, "reason": "role"}
                    )
                    return problem(403, "Account management is for admins only")
                response = await handler(request, actor)
            except StorageError:
                log.exception("console request failed", extra={"path": request.url.path})
                return problem(503, "The database is unavailable; try again later")
            if actor.renew is not None and response.status_code < 400:
                _set_cookie(response, request, actor.renew[0])
            return response

        return endpoint

    # -- session -----------------------------------------------------------------

    async def sign_in(request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(
                403, "This request needs the header X-Requested-With: randomchat-console"
            )
        parsed = await _parse(request, SignIn)
        if isinstance(parsed, Response):
            return parsed
        address = request.client.host if request.client else ""
        wait = limits.take(address, parsed.name)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            log.warning("console sign-in limited", extra={"account": parsed.name})
            return problem(
                429,
                f"Too many sign-in attempts; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        try:
            account = await account_store.get(db, parsed.name)
        except StorageError:
            log.exception("console sign-in failed")
            return problem(503, "The database is unavailable; try again later")
        stored = account.password_hash if account is not None else None
        if account is None or not await sessions.verify_password(
            stored, parsed.password, limits.hashing
        ):
            log.warning("console sign-in refused", extra={"account": parsed.name})
            return problem(401, "Wrong name or password")
        token, expires = sessions.issue(settings.secret, account, time.time())
        log.info("console sign-in", extra={"account": account.name, "role": account.role})
        response = _ok(_whoami(account.name, account.role, expires))
        _set_cookie(response, request, token)
        return response

    def _whoami(name: str, role: str, expires: float | None) -> dict[str, Any]:
        return {
            "name": name,
            "role": role,
            "expiresAt": expires,
            "canManageAccounts": role == admin.ADMIN_ROLE,
            "addressBans": ADDRESS_BANS,
        }

    async def whoami(request: Request, actor: Actor) -> Response:
        expires = actor.renew[1] if actor.renew else None
        return _ok(_whoami(actor.name, actor.role, expires))

    async def sign_out(request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(
                403, "This request needs the header X-Requested-With: randomchat-console"
            )
        response = Response(status_code=204, headers=NO_STORE)
        _clear_cookie(response, request)
        return response

    # -- reports -----------------------------------------------------------------

    async def list_reports(request: Request, actor: Actor) -> Response:
        query = _query(request, QueueQuery)
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
        return _ok({"reports": [queued_json(r) for r in found]})

    async def _report_or_404(request: Request) -> triage.QueuedReport | Response:
        found = await triage.queued_report(db, int(request.path_params["report_id"]))
        if found is None:
            return problem(404, "No such report")
        return found

    async def one_report(request: Request, actor: Actor) -> Response:
        found = await _report_or_404(request)
        return found if isinstance(found, Response) else _ok(queued_json(found))

    async def dismiss(request: Request, actor: Actor) -> Response:
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        body = await _parse(request, Decision)
        if isinstance(body, Response):
            return body
        now = time.time()
        await triage.review(db, found.report.id, "dismissed", actor.label, now)
        await audit.record(
            db,
            actor=actor.label,
            action="dismiss",
            target=found.report.reported,
            reason=body.reason,
            now=now,
            detail={"reportId": found.report.id},
        )
        return _ok({"status": "dismissed"})

    async def warn(request: Request, actor: Actor) -> Response:
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        body = await _parse(request, Warning_)
        if isinstance(body, Response):
            return body
        now = time.time()
        await triage.review(db, found.report.id, "warned", actor.label, now)
        await audit.record(
            db,
            actor=actor.label,
            action="warn",
            target=found.report.reported,
            reason=body.reason,
            now=now,
            detail={"reportId": found.report.id},
        )
        return _ok({"status": "warned"})

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
        body = await _parse(request, BanFor)
        if isinstance(body, Response):
            return body
        ban = await _ban(
            actor, found.report.reported, body.hours, body.reason, {"reportId": found.report.id}
        )
        await triage.review(db, found.report.id, "banned", actor.label, time.time())
        return _ok(admin.ban_json(ban), 201)

    async def ban_reported_address(request: Request, actor: Actor) -> Response:
        if not ADDRESS_BANS:
            return problem(501, "Address bans are not available on this server")
        found = await _report_or_404(request)
        if isinstance(found, Response):
            return found
        address = reported_address(found.report)
        if address is None:
            return problem(409, NO_ADDRESS)
        body = await _parse(request, BanFor)
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
        return _ok(admin.ban_json(ban), 201)

    async def user_history(request: Request, actor: Actor) -> Response:
        user_id = request.path_params["user_id"]
        if not 1 <= len(user_id) <= admin.MAX_USER_ID:
            return problem(422, f"user_id: at most {admin.MAX_USER_ID} characters")
        found = await triage.history(db, user_id)
        warnings = await audit.entries(
            db, limit=triage.HISTORY_LIMIT, target=user_id, action="warn"
        )
        active = await db.active_ban(user_id, time.time())
        return _ok(
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
        query = _query(request, BanQuery)
        if isinstance(query, Response):
            return query
        found = await triage.search_bans(db, time.time(), query=query.q or None, limit=query.limit)
        return _ok({"bans": [ban_row_json(b) for b in found]})

    async def create_ban(request: Request, actor: Actor) -> Response:
        body = await _parse(request, UserBan)
        if isinstance(body, Response):
            return body
        ban = await _ban(actor, body.user_id, body.hours, body.reason, {})
        return _ok(admin.ban_json(ban), 201)

    async def lift_ban(request: Request, actor: Actor) -> Response:
        body = await _parse(request, Lift)
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
        return _ok(await live.figures(time.monotonic(), time.time()))

    async def audit_log(request: Request, actor: Actor) -> Response:
        query = _query(request, AuditQuery)
        if isinstance(query, Response):
            return query
        if query.format == "json" and query.limit > MAX_PAGE:
            return problem(422, f"limit: at most {MAX_PAGE} as json (use jsonl or csv to export)")
        found = await audit.entries(
            db, limit=query.limit, offset=query.offset, target=query.target, action=query.action
        )
        if query.format == "json":
            return _ok({"entries": [export.entry_json(e) for e in found]})
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
        return _ok(
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
        body = await _parse(request, NewAccount)
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
        return _ok({"name": body.name, "role": body.role}, 201)

    def _account_name(request: Request) -> str | None:
        name: str = request.path_params["name"]
        return name if _NAME.fullmatch(name) else None

    async def change_password(request: Request, actor: Actor) -> Response:
        name = _account_name(request)
        if name is None:
            return problem(404, "No such account")
        body = await _parse(request, NewPassword)
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
        return Route(path, guarded(handler, admins_only=admins_only), methods=[method])

    base = "/api/console"
    report = base + "/reports/{report_id:int}"
    result: list[BaseRoute] = [
        Route(base + "/session", sign_in, methods=["POST"]),
        Route(base + "/session", sign_out, methods=["DELETE"]),
        route(base + "/session", whoami, "GET"),
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
    return result
