"""``GET /api/ban``: whether the bearer of a token is banned now, for a banned page.

A ban closes the user's sockets, so a ban lifted early (a moderator's appeal, the CLI)
could not reach the page that shows it: the page asks here every few seconds and
connects again as soon as the answer is no. It reads only the in-memory ban list
(``lobby.moderation``), never the database, and answers nothing about anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from randomchat import auth, proxy
from randomchat.config import Settings
from randomchat.core.moderation import address_hash
from randomchat.errors import AuthError
from randomchat.lobby.moderation import Moderation
from randomchat.rules import Rules

NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class Deps:
    verifier: auth.Verifier
    rules: Rules  # the key of an address's hash
    moderation: Moderation  # the in-memory ban list


async def ban_status(deps: Deps, request: Request) -> Response:
    try:
        token = auth.token_from_handshake(None, request.headers.get("authorization"))
        identity = deps.verifier.verify(token)
    except AuthError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=401, headers=NO_STORE)
    address = None
    if identity.guest and request.client is not None:
        address = address_hash(deps.rules.address_key, proxy.network_of(request.client.host))
    ban = deps.moderation.ban_of(identity.user_id, address)
    if ban is None:
        return JSONResponse({"banned": False}, headers=NO_STORE)
    payload = {"banned": True, "until": round(ban.until * 1000), "reason": ban.reason}
    return JSONResponse(payload, headers=NO_STORE)


def routes(settings: Settings, rules: Rules, moderation: Moderation) -> list[BaseRoute]:
    deps = Deps(auth.Verifier(settings.secret), rules, moderation)

    async def endpoint(request: Request) -> Response:
        return await ban_status(deps, request)

    return [Route("/api/ban", endpoint, methods=["GET"])]
