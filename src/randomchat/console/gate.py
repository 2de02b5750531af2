"""Who is calling the console API, and the session endpoints.

A request is let in by a console session cookie (``sessions.py``; with the CSRF
header on anything but GET) or by a bearer token with ``role: admin`` (scripts);
admin-only routes also refuse moderators. A session past half its life is
renewed on the way out. Sign-in checks the CSRF header, the back-off
(``randomchat.core.signin``), then the password, in that order: the cheap checks
first; the back-off's waits become 429 with ``Retry-After``. Sign-out ends the
session here, on the server (``sessions.SignedOut``), not only in the browser.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from randomchat import auth, proxy
from randomchat.config import Settings
from randomchat.console import sessions
from randomchat.console.shapes import (
    ADDRESS_BANS,
    ADMIN_ROLE,
    NO_STORE,
    SignIn,
    ok,
    parse_body,
    problem,
)
from randomchat.core.signin import SignInPolicy
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


def bearer(secret: str, request: Request, missing: str | None = None) -> Actor | Response:
    """The caller of a bearer token with the admin role, or the refusal: 401 with the
    challenge (``missing`` is said when there is no token at all), or 403."""
    try:
        token = auth.token_from_handshake(None, request.headers.get("authorization"))
        identity = auth.verify(token, secret)
    except AuthError as exc:
        log.warning("moderation request refused", extra={"reason": exc.reason})
        if exc.reason == "missing":
            return problem(
                401, missing or exc.detail, {"WWW-Authenticate": 'Bearer realm="randomchat"'}
            )
        return problem(
            401,
            exc.detail,
            {"WWW-Authenticate": 'Bearer realm="randomchat", error="invalid_token"'},
        )
    if identity.role != ADMIN_ROLE:
        log.warning(
            "moderation request refused", extra={"user": identity.user_id, "reason": "role"}
        )
        if missing is None:  # the token API: no console accounts to mention
            return problem(403, "This needs a token with the role 'admin'")
        return problem(403, "This needs a console account or a token with the role 'admin'")
    return Actor(identity.user_id, ADMIN_ROLE, f"admin:{identity.user_id}")


def guarded(
    identify: Callable[[Request], Awaitable[Actor | Response]],
    handler: Handler,
    *,
    admins_only: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind ``identify`` and the role check; storage failures as 503; a
    session past half its life renewed on a success."""

    async def endpoint(request: Request) -> Response:
        try:
            actor = await identify(request)
            if isinstance(actor, Response):
                return actor
            if admins_only and actor.role != ADMIN_ROLE:
                log.warning(
                    "console request refused", extra={"user": actor.label, "reason": "role"}
                )
                return problem(403, "Account management is for admins only")
            response = await handler(request, actor)
        except StorageError:
            log.exception("moderation request failed", extra={"path": request.url.path})
            return problem(503, "The database is unavailable; try again later")
        if actor.renew is not None and response.status_code < 400:
            set_cookie(response, request, actor.renew[0])
        return response

    return endpoint


def token_guard(secret: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` for bearer tokens with the admin role only (``/api/admin``)."""

    async def identify(request: Request) -> Actor | Response:
        return bearer(secret, request)

    return guarded(identify, handler)


class Gate:
    """Authentication and roles for the console's routes, and sign-in and out."""

    def __init__(
        self, settings: Settings, db: Database, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secret = settings.secret
        self._db = db
        self._clock = clock  # for the back-off only; cookies carry wall-clock times
        self._backoff = SignInPolicy()
        self._signed_out = sessions.SignedOut()
        # Attempts let through by the back-off queue here for a hashing slot.
        self._hashing = asyncio.Semaphore(sessions.MAX_CONCURRENT_HASHES)

    async def identify(self, request: Request) -> Actor | Response:
        """The caller, or the refusal to send (401, or 403 for a CSRF failure or a role)."""
        cookie = request.cookies.get(sessions.COOKIE)
        if cookie is not None:
            if request.method != "GET" and (
                request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE
            ):
                return problem(403, CSRF_REFUSED)
            session = sessions.decode(self._secret, cookie)
            account = None
            if session is not None and not self._signed_out.ended(session):
                account = await sessions.account_of(self._db, session)
            if session is None or account is None:
                response = problem(401, "Your console session has ended; sign in again")
                clear_cookie(response, request)
                return response
            now = time.time()
            renew = None
            if session.expires_at - now < sessions.SESSION_SECONDS / 2:
                renew = sessions.issue(self._secret, account, now, session.sid)
            return Actor(account.name, account.role, f"console:{account.name}", renew)
        return bearer(self._secret, request, "Sign in to the console first")

    def guard(
        self, handler: Handler, *, admins_only: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind ``identify`` and the role check; storage failures as 503."""
        return guarded(self.identify, handler, admins_only=admins_only)

    async def sign_in(self, request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(403, CSRF_REFUSED)
        parsed = await parse_body(request, SignIn)
        if isinstance(parsed, Response):
            return parsed
        network = proxy.network_of(request.client.host if request.client else "")
        name = parsed.name
        # Every name takes the same path, whether it exists or not (the back-off, the
        # lookup, one argon2 verify), so neither the answer nor its time tells.
        wait = self._backoff.start(network, name, self._clock())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            log.warning("console sign-in slowed", extra={"account": name, "wait": seconds})
            return problem(
                429,
                f"Too many failed sign-ins; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        try:
            account = await account_store.get(self._db, name)
        except StorageError:
            self._backoff.cancelled(network, name)
            log.exception("console sign-in failed")
            return problem(503, "The database is unavailable; try again later")
        stored = account.password_hash if account is not None else None
        matched = await sessions.verify_password(stored, parsed.password, self._hashing)
        if account is None or not matched:
            log.warning("console sign-in refused", extra={"account": name})
            return problem(401, "Wrong name or password")
        self._backoff.succeeded(network, name)
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
            "canManageAccounts": role == ADMIN_ROLE,
            "addressBans": ADDRESS_BANS,
        }

    async def whoami(self, request: Request, actor: Actor) -> Response:
        expires = actor.renew[1] if actor.renew else None
        return ok(self.describe(actor.name, actor.role, expires))

    async def sign_out(self, request: Request) -> Response:
        if request.headers.get(sessions.CSRF_HEADER) != sessions.CSRF_VALUE:
            return problem(403, CSRF_REFUSED)
        cookie = request.cookies.get(sessions.COOKIE)
        # Only the signature is checked (no database): a session of an account that
        # has gone since is ended all the same, and a sign-out works while the
        # database is down. Unsigned cookies are never recorded, so only sign-ins
        # fill the table.
        session = sessions.decode(self._secret, cookie) if cookie is not None else None
        if session is not None:
            self._signed_out.end(session, time.time())
            log.info("console sign-out", extra={"account": session.name})
        response = Response(status_code=204, headers=NO_STORE)
        clear_cookie(response, request)
        return response
