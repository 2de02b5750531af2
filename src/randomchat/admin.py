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

One implementation with the console's API: these endpoints take the same actions
(``console.actions.Moderation``: the ban is stored, audited with ``via: api`` and
the user disconnected), and parse and render through ``console.shapes``; only the
authentication (a bearer token, ``console.gate.token_guard``) and the URLs are
their own. A ban by ``reportId`` closes that report as ``banned`` in the console's
queue, as the console's own ban of a report does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from randomchat.config import Settings
from randomchat.console.actions import Moderation
from randomchat.console.gate import Actor, Handler, token_guard
from randomchat.console.shapes import (
    ADMIN_ROLE,
    HOUR,
    MAX_BAN_HOURS,
    MAX_OFFSET,
    MAX_PAGE,
    MAX_USER_ID,
    MIN_BAN_HOURS,
    NO_STORE,
    AdminBan,
    PageQuery,
    ReportsQuery,
    UserId,
    ban_json,
    ok,
    parse_body,
    parse_query,
    problem,
    report_json,
    reported_address,
    stats_json,
    user_id_or_problem,
)
from randomchat.db import Ban, Database, safety

# The limits and shapes live with the console's (``console.shapes``); the command line
# (``cli``, ``moderate``) reads them from here.
__all__ = [
    "ADMIN_ROLE",
    "HOUR",
    "MAX_BAN_HOURS",
    "MAX_OFFSET",
    "MAX_PAGE",
    "MAX_USER_ID",
    "MIN_BAN_HOURS",
    "UserId",
    "admin_routes",
    "ban_json",
    "report_json",
    "stats_json",
]

Endpoint = Callable[[Moderation, Request, Actor], Awaitable[Response]]
VIA = {"via": "api"}  # in the audit entry: which surface took the action
BAN_EXAMPLE = '{"userId": "u1", "hours": 24, "reason": "x"}'


async def list_reports(moderation: Moderation, request: Request, actor: Actor) -> Response:
    query = parse_query(request, ReportsQuery)
    if isinstance(query, Response):
        return query
    found = await moderation.reports(limit=query.limit, offset=query.offset, user_id=query.user_id)
    return ok({"reports": [report_json(r) for r in found]})


async def list_bans(moderation: Moderation, request: Request, actor: Actor) -> Response:
    page = parse_query(request, PageQuery)
    if isinstance(page, Response):
        return page
    found = await moderation.ban_page(limit=page.limit, offset=page.offset)
    return ok({"bans": [ban_json(b) for b in found]})


async def create_ban(moderation: Moderation, request: Request, actor: Actor) -> Response:
    body = await parse_body(request, AdminBan, BAN_EXAMPLE)
    if isinstance(body, Response):
        return body
    if (body.user_id is None) == (body.report_id is None):
        return problem(422, "userId: give either userId or reportId")
    if body.report_id is None:
        assert body.user_id is not None  # one of the two, checked above
        # A guest's ban covers the address they were last reported from, if any.
        address = await safety.latest_address(moderation.db, body.user_id)
        ban = await moderation.ban(
            actor.label, body.user_id, body.hours, body.reason, VIA, address_hash=address
        )
        return ok(ban_json(ban), 201)
    report = await safety.report_by_id(moderation.db, body.report_id)
    if report is None:
        return problem(404, f"no report {body.report_id}")
    address = reported_address(report)
    if address is None:
        return problem(
            422,
            f"report {body.report_id} has no address: the reported user was not a "
            "guest, or the report predates addresses; ban the user instead",
        )
    ban = await moderation.ban_reported(
        actor.label, report, body.hours, body.reason, {**VIA, "address": True}, address
    )
    return ok(ban_json(ban), 201)


async def delete_ban(moderation: Moderation, request: Request, actor: Actor) -> Response:
    user_id = user_id_or_problem(request.path_params["user_id"])
    if isinstance(user_id, Response):
        return user_id
    if not await moderation.lift(actor.label, user_id, "", VIA):
        return problem(404, f"{user_id!r} has no active ban")
    return Response(status_code=204, headers=NO_STORE)


async def delete_address_ban(moderation: Moderation, request: Request, actor: Actor) -> Response:
    address = request.path_params["address_hash"]
    if not 1 <= len(address) <= 64:
        return problem(422, "address_hash: 1 to 64 characters")
    if not await moderation.lift_address(actor.label, address, VIA):
        return problem(404, f"{address!r} has no active ban")
    return Response(status_code=204, headers=NO_STORE)


async def stats(moderation: Moderation, request: Request, actor: Actor) -> Response:
    return ok(stats_json(await moderation.stats()))


def bind(moderation: Moderation, endpoint: Endpoint) -> Handler:
    async def handler(request: Request, actor: Actor) -> Response:
        return await endpoint(moderation, request, actor)

    return handler


def admin_routes(
    settings: Settings,
    db: Database,
    on_ban: Callable[[Ban], Awaitable[None]],
    on_unban: Callable[[str], Awaitable[None]] | None = None,
) -> list[BaseRoute]:
    """The admin routes. ``on_ban`` runs after a ban is stored (to disconnect the user)."""
    moderation = Moderation(db, on_ban, on_unban)

    def route(path: str, endpoint: Endpoint, method: str) -> Route:
        return Route(
            path, token_guard(settings.secret, bind(moderation, endpoint)), methods=[method]
        )

    return [
        route("/api/admin/reports", list_reports, "GET"),
        route("/api/admin/bans", list_bans, "GET"),
        route("/api/admin/bans", create_ban, "POST"),
        route("/api/admin/bans/{user_id:path}", delete_ban, "DELETE"),
        route("/api/admin/address-bans/{address_hash}", delete_address_ban, "DELETE"),
        route("/api/admin/stats", stats, "GET"),
    ]
