"""HTTP routes on the same port as Socket.IO: guest sessions, health, metrics, the page.

Hostile input first: a body is refused by its declared length, then by the
bytes that actually arrive, before any parsing (``read_json``); guest sessions
are rate-limited per client address (after ``proxy.ForwardedHeaders`` has
put the real client in the scope) before the body is read at all.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from randomchat import auth, proxy, static
from randomchat.config import Settings
from randomchat.core.ratelimit import Limit, RateLimiter
from randomchat.core.requests import clean_text
from randomchat.errors import AuthError
from randomchat.metrics import Metrics
from randomchat.store import Store

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A session request is {"username": <32 characters>}: a few dozen bytes.
SESSION_BODY_LIMIT = 4096
# Addresses the session limiter remembers; past this, new addresses share one bucket.
MAX_LIMITED_ADDRESSES = 100_000
OVERFLOW_KEY = "overflow"
PRUNE_SECONDS = 10.0

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>randomchat</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>randomchat is running</h1>
<p>The signaling server is up, but the web client has not been built yet.
Run <code>make run</code> from the repository (it builds <code>web/</code>), or point
<code>--web-dir</code> at a built client.</p>
<p>Clients connect to the Socket.IO namespace <code>/random-chat</code>.</p>
</body></html>
"""


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str) -> str:
        # What chat text keeps (ZWJ emoji, ZWNJ, direction marks) a name may hold too;
        # what chat text loses (controls, bidi overrides) is refused, not silently dropped.
        if clean_text(value) != value:
            raise ValueError("must contain printable characters only")
        return value


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class BodyError(Exception):
    """A request body refused before or while it was read; ``response`` says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def response(self) -> JSONResponse:
        # After a refused body the rest of it may still be on its way: close the
        # connection rather than read and drop it.
        return _problem(self.status, self.detail, {"Connection": "close"})


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes: refused by Content-Length, then as it streams."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BodyError(400, "Content-Length must be a number")
        if int(declared) > limit:
            raise BodyError(413, f"Body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"Body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int, example: str) -> Any:
    """The body parsed as JSON; ``BodyError`` (413, or 422 naming ``example``) if not."""
    body = await read_body(request, limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BodyError(422, f"Body must be JSON like {example}") from None


class AddressLimiter:
    """Token buckets per client network (IPv4 address or IPv6 /64), bounded in memory.

    Full buckets are forgotten every ``PRUNE_SECONDS``; when ``max_keys``
    networks still hold a bucket, new ones share a single bucket (they are
    limited together rather than not at all, and memory stays bounded).
    """

    def __init__(self, limit: Limit, max_keys: int = MAX_LIMITED_ADDRESSES) -> None:
        self._limiter = RateLimiter(limit)
        self._max_keys = max_keys
        self._pruned_at = -math.inf
        self._known: set[str] = set()

    def take(self, address: str, now: float) -> float:
        """0.0 if allowed, else seconds to wait."""
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._limiter.prune(now)
            self._pruned_at = now
        key = proxy.network_of(address)
        if len(self._limiter) >= self._max_keys:
            self._limiter.prune(now)
            self._pruned_at = now
            if len(self._limiter) >= self._max_keys:
                key = OVERFLOW_KEY
        return self._limiter.take(key, now)

    def __len__(self) -> int:
        return len(self._limiter)


def metrics_allowed(request: Request, token: str | None) -> bool:
    """With ``--metrics-token``: that bearer token; without: local clients only."""
    if token is None:
        return proxy.is_local(request.scope)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def routes(settings: Settings, store: Store, metrics: Metrics) -> list[BaseRoute]:
    sessions = AddressLimiter(
        Limit(rate=settings.sessions_per_minute / 60, burst=settings.session_burst)
    )

    async def create_session(request: Request) -> Response:
        if not settings.guest_sessions:
            return _problem(403, "Guest sessions are disabled on this server")
        wait = sessions.take(request.client.host if request.client else "", time.monotonic())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return _problem(
                429,
                f"Too many new sessions from your address; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        try:
            body: Any = await read_json(request, SESSION_BODY_LIMIT, '{"username": "Alice"}')
        except BodyError as exc:
            return exc.response
        try:
            req = SessionRequest.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "body"
            return _problem(422, f"{where}: {err['msg']}")
        token, identity, expires = auth.issue(
            settings.secret, req.username, settings.token_ttl_hours * 3600
        )
        payload = {
            "token": token,
            "userId": identity.user_id,
            "username": identity.username,
            "expiresAt": expires,
        }
        return JSONResponse(payload, status_code=201)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ice_servers(request: Request) -> Response:
        """The STUN/TURN configuration for the bearer of a valid token (fresh credentials)."""
        try:
            token = auth.token_from_handshake(None, request.headers.get("authorization"))
            identity = auth.verify(token, settings.secret)
        except AuthError as exc:
            return _problem(401, exc.detail, {"WWW-Authenticate": 'Bearer realm="randomchat"'})
        ice = settings.ice
        payload = {
            "iceServers": ice.servers(identity.user_id, time.time(), identity.expires_at),
            "iceTransportPolicy": ice.policy,
        }
        return JSONResponse(payload, headers={"Cache-Control": "no-store"})

    async def prometheus(request: Request) -> Response:
        if not metrics_allowed(request, settings.metrics_token):
            if settings.metrics_token is None:
                return _problem(
                    403, "Metrics are served to this machine only (see --metrics-token)"
                )
            return _problem(
                401, "Metrics need the bearer token", {"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
        body = metrics.render(await store.counts())
        return Response(body, media_type=PROMETHEUS_TYPE)

    async def placeholder(request: Request) -> Response:
        return HTMLResponse(PLACEHOLDER)

    result: list[BaseRoute] = [
        Route("/api/session", create_session, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/ice-servers", ice_servers, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if (settings.web_dir / "index.html").is_file():
        result.append(Mount("/", app=static.web_app(settings.web_dir)))
    else:
        result.append(Route("/", placeholder, methods=["GET"]))
    return result
