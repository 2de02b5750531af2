"""Who is calling the console API, and the session endpoints.

A request is let in by a console session cookie (``sessions.py``; with the CSRF
header on anything but GET) or by a bearer token with ``role: admin`` (scripts);
admin-only routes also refuse moderators. A session past half its life is
renewed on the way out. Sign-in checks the CSRF header, the limits, then the
password, in that order: the cheap checks first.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from randomchat import admin, auth
from randomchat.config import Settings
from randomchat.console import sessions
from randomchat.console.shapes import (
    ADDRESS_BANS,
    NO_STORE,
    SignIn,
    ok,
    parse_body,
    problem,
)
from randomchat.db import Database, StorageError
from randomchat.db import accounts as account_store
from randomchat.errors import AuthError

log = logging.getLogger(__name__)

CSRF_REFUSED = "This request needs the header X-Requested-With: randomchat-console"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: ``label`` goes into the audit log and into ``created_by``."""

    name: str
    role: str
    label: str
    renew: tuple[str, float] | None = None  # a fresh session cookie to set


Handler = Callable[[Request, Actor], Awaitable[Response]]


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=sessions.SESSION_SECONDS,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


class Gate:
    """Authentication and roles for the console's routes, and sign-in and out."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._secret = settings.secret
        self._db = db
        self._limits = sessions.SignInLimits()

    async def identify(self, request: Request) -> Actor | Response:
        """The caller, or the refusal to send (401, or 403 for a CSRF failure or a role)."""
        cookie = request.cookies.get(sessions.COOKIE)
        if cookie is not None:
            if request.method != "GET" and (
                request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE
            ):
                return problem(403, CSRF_REFUSED)
            found = await sessions.verify(self._secret, self._db, cookie)
            if found is None:
                response = problem(401, "Your console session has ended; sign in again")
                clear_cookie(response, request)
                return response
            account, session = found
            now = time.time()
            renew = None
            if session.expires_at - now < sessions.SESSION_SECONDS / 2:
                renew = sessions.issue(self._secret, account, now)
            return Actor(account.name, account.role, f"console:{account.name}", renew)
        try:
            token = auth.token_from_handshake(None, request.headers.get("authorization"))
            identity = auth.verify(token, self._secret)
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

    def guard(
        self, handler: Handler, *, admins_only: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind ``identify`` and the role check; storage failures as 503."""

        async def endpoint(request: Request) -> Response:
            try:
                actor = await self.identify(request)
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
                set_cookie(response, request, actor.renew[0])
            return response

        return endpoint

    async def sign_in(self, request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(403, CSRF_REFUSED)
        parsed = await parse_body(request, SignIn)
        if isinstance(parsed, Response):
            return parsed
        address = request.client.host if request.client else ""
        wait = self._limits.take(address, parsed.name)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            log.warning("console sign-in limited", extra={"account": parsed.name})
            return problem(
                429,
                f"Too many sign-in attempts; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        try:
            account = await account_store.get(self._db, parsed.name)
        except StorageError:
            log.exception("console sign-in failed")
            return problem(503, "The database is unavailable; try again later")
        stored = account.password_hash if account is not None else None
        if account is None or not await sessions.verify_password(
            stored, parsed.password, self._limits.hashing
        ):
            log.warning("console sign-in refused", extra={"account": parsed.name})
            return problem(401, "Wrong name or password")
        token, expires = sessions.issue(self._secret, account, time.time())
        log.info("console sign-in", extra={"account": account.name, "role": account.role})
        response = ok(self.describe(account.name, account.role, expires))
        set_cookie(response, request, token)
        return response

    @staticmethod
    def describe(name: str, role: str, expires: float | None) -> dict[str, Any]:
        return {
            "name": name,
            "role": role,
            "expiresAt": expires,
            "canManageAccounts": role == admin.ADMIN_ROLE,
            "addressBans": ADDRESS_BANS,
        }

    async def whoami(self, request: Request, actor: Actor) -> Response:
        expires = actor.renew[1] if actor.renew else None
        return ok(self.describe(actor.name, actor.role, expires))

    async def sign_out(self, request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(403, CSRF_REFUSED)
        response = Response(status_code=204, headers=NO_STORE)
        clear_cookie(response, request)
        return response
