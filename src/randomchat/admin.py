"""The moderation API under ``/api/admin``, for tokens with ``role: admin``.

    GET    /api/admin/reports?limit&offset&user_id   reports, newest first
    GET    /api/admin/bans?limit&offset              active bans, newest first
    POST   /api/admin/bans    {userId, hours, reason} -> 201 the ban
    POST   /api/admin/bans    {reportId, hours, reason} -> 201: the reported user and the
                                                 address they were reported from
    DELETE /api/admin/bans/{user_id}                 -> 204, or 404 without an active ban
    DELETE /api/admin/address-bans/{address_hash}    -> 204 (the bans that cover it), or 404
    GET    /api/admin/stats                          counts

No token or a refused one gives 401 with ``WWW-Authenticate: Bearer``; a valid
token without the admin role gives 403; bad input 422 (every number is bounded:
``limit`` 1-500, ``offset`` 0-1,000,000, ``hours`` 1 minute to 10 years); a body
over 16 KiB 413; a database failure 503.
Errors are ``{"detail": ...}``. JSON field names are camelCase, times Unix seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from randomchat import auth
from randomchat.config import Settings
from randomchat.db import Ban, Database, Report, StorageError, audit, safety
from randomchat.errors import AuthError
from randomchat.http import BodyError, read_json

log = logging.getLogger(__name__)

ADMIN_ROLE = "admin"
MAX_PAGE = 500
MAX_OFFSET = 1_000_000
BODY_LIMIT = 16 * 1024
MAX_BAN_HOURS = 24 * 3650
MIN_BAN_HOURS = 1 / 60
HOUR = 3600.0

MAX_USER_ID = 255
UserId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_USER_ID)
]

Handler = Callable[[Request, auth.Identity], Awaitable[Response]]


class BanRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel)

    user_id: UserId | None = None
    report_id: int | None = Field(None, ge=1, le=2**63 - 1)  # ban by the address of a report
    hours: float = Field(ge=MIN_BAN_HOURS, le=MAX_BAN_HOURS, allow_inf_nan=False)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReportsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    user_id: UserId | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def ban_json(ban: Ban) -> dict[str, Any]:
    return {
        "userId": ban.user_id,
        "reason": ban.reason,
        "createdAt": ban.created_at,
        "until": ban.until,
        "createdBy": ban.created_by,
        "addressHash": ban.address_hash,  # a guest's network (keyed hash), banned too
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "reporter": report.reporter,
        "reported": report.reported,
        "reason": report.reason,
        "note": report.note,
        "chat": [
            {"sender": line.sender, "text": line.text, "sentAt": line.sent_at}
            for line in report.chat
        ],
        "createdAt": report.created_at,
        "weight": report.weight,
        "reporterAddress": report.reporter_address,
        "reportedAddress": report.reported_address,
    }


def stats_json(stats: dict[str, int]) -> dict[str, int]:
    return {
        "reportsTotal": stats["reports_total"],
        "reports24h": stats["reports_24h"],
        "activeBans": stats["active_bans"],
        "blocksTotal": stats["blocks_total"],
    }


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _invalid(exc: ValidationError) -> JSONResponse:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return _problem(422, f"{where}: {err['msg']}")


def _admin_only(settings: Settings, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler``: authenticate, require the admin role, turn storage failures into 503."""

    async def endpoint(request: Request) -> Response:
        try:
            token = auth.token_from_handshake(None, request.headers.get("authorization"))
            identity = auth.verify(token, settings.secret)
        except AuthError as exc:
            log.warning("admin request refused", extra={"reason": exc.reason})
            challenge = 'Bearer realm="randomchat"'
            if exc.reason != "missing":
                challenge += ', error="invalid_token"'
            return _problem(401, exc.detail, {"WWW-Authenticate": challenge})
        if identity.role != ADMIN_ROLE:
            log.warning("admin request refused", extra={"user": identity.user_id, "reason": "role"})
            return _problem(403, "This needs a token with the role 'admin'")
        try:
            return await handler(request, identity)
        except StorageError:
            log.exception("admin request failed", extra={"path": request.url.path})
            return _problem(503, "The database is unavailable; try again later")

    return endpoint


def admin_routes(
    settings: Settings,
    db: Database,
    on_ban: Callable[[Ban], Awaitable[None]],
    on_unban: Callable[[str], Awaitable[None]] | None = None,
) -> list[BaseRoute]:
    """The admin routes. ``on_ban`` runs after a ban is stored (to disconnect the user)."""

    async def list_reports(request: Request, _: auth.Identity) -> Response:
        try:
            query = ReportsQuery.model_validate(dict(request.query_params))
        except ValidationError as exc:
            return _invalid(exc)
        found = await db.reports(limit=query.limit, offset=query.offset, user_id=query.user_id)
        return JSONResponse({"reports": [report_json(r) for r in found]})

    async def list_bans(request: Request, _: auth.Identity) -> Response:
        try:
            page = PageQuery.model_validate(dict(request.query_params))
        except ValidationError as exc:
            return _invalid(exc)
        found = await db.active_bans(time.time(), limit=page.limit, offset=page.offset)
        return JSONResponse({"bans": [ban_json(b) for b in found]})

    async def create_ban(request: Request, identity: auth.Identity) -> Response:
        try:
            body: Any = await read_json(
                request, BODY_LIMIT, '{"userId": "u1", "hours": 24, "reason": "x"}'
            )
        except BodyError as exc:
            return exc.response
        try:
            req = BanRequest.model_validate(body)
        except ValidationError as exc:
            return _invalid(exc)
        if (req.user_id is None) == (req.report_id is None):
            return _problem(422, "userId: give either userId or reportId")
        if req.report_id is not None:
            report = await safety.report_by_id(db, req.report_id)
            if report is None:
                return _problem(404, f"no report {req.report_id}")
            if report.reported_address is None:
                return _problem(
                    422,
                    f"report {req.report_id} has no address: the reported user was not a "
                    "guest, or the report predates addresses; ban the user instead",
                )
            user_id = report.reported
            address: str | None = report.reported_address
        else:
            assert req.user_id is not None  # one of the two, checked by BanRequest
            # A guest's ban covers the address they were last reported from, if any.
            user_id, address = req.user_id, await safety.latest_address(db, req.user_id)
        now = time.time()
        ban = await db.ban(
            user_id,
            until=now + req.hours * HOUR,
            reason=req.reason,
            created_by=f"admin:{identity.user_id}",
            now=now,
            address_hash=address,
        )
        log.info("banned", extra={"user": ban.user_id, "by": identity.user_id, "until": ban.until})
        await audit.record_ban(db, ban, via="api")
        try:
            await on_ban(ban)
        except Exception:
            # The ban is stored; the server's sweep of new bans disconnects the user later.
            log.exception("could not act on a ban", extra={"user": ban.user_id})
        return JSONResponse(ban_json(ban), status_code=201)

    async def delete_ban(request: Request, identity: auth.Identity) -> Response:
        user_id = request.path_params["user_id"]
        if not 1 <= len(user_id) <= MAX_USER_ID:
            return _problem(422, f"user_id: at most {MAX_USER_ID} characters")
        if not await db.unban(user_id, time.time()):
            return _problem(404, f"{user_id!r} has no active ban")
        log.info("unbanned", extra={"user": user_id, "by": identity.user_id})
        await audit.record_unbans(db, f"admin:{identity.user_id}", [user_id], via="api")
        if on_unban is not None:
            try:
                await on_unban(user_id)
            except Exception:
                log.exception("could not act on an unban", extra={"user": user_id})
        return Response(status_code=204)

    async def delete_address_ban(request: Request, identity: auth.Identity) -> Response:
        address = request.path_params["address_hash"]
        if not 1 <= len(address) <= 64:
            return _problem(422, "address_hash: 1 to 64 characters")
        users = await safety.unban_address(db, address, time.time())
        if not users:
            return _problem(404, f"{address!r} has no active ban")
        log.info("address unbanned", extra={"users": users, "by": identity.user_id})
        actor = f"admin:{identity.user_id}"
        await audit.record_unbans(db, actor, users, via="api", address=True)
        if on_unban is not None:
            for user_id in users:
                try:
                    await on_unban(user_id)
                except Exception:
                    log.exception("could not act on an unban", extra={"user": user_id})
        return Response(status_code=204)

    async def stats(request: Request, _: auth.Identity) -> Response:
        return JSONResponse(stats_json(await db.stats(time.time())))

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, _admin_only(settings, handler), methods=[method])

    return [
        route("/api/admin/reports", list_reports, "GET"),
        route("/api/admin/bans", list_bans, "GET"),
        route("/api/admin/bans", create_ban, "POST"),
        route("/api/admin/bans/{user_id:path}", delete_ban, "DELETE"),
        route("/api/admin/address-bans/{address_hash}", delete_address_ban, "DELETE"),
        route("/api/admin/stats", stats, "GET"),
    ]
