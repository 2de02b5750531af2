"""HTTP routes on the same port as Socket.IO: guest sessions, health, metrics, the page.

Hostile input first: a body is refused by its declared length, then by the
bytes that actually arrive, before any parsing (``read_json``); guest sessions
are rate-limited per client address (after ``proxy.ForwardedHeaders`` has
put the real client in the scope) and refused to a banned address before the
body is read at all.

A guest session (``POST /api/session``) is given, in this order of checks:
to an address within its rate (``--sessions-per-minute``; past it, with
``--pow auto``, only with a solved proof of work, up to ``POW_RATE_FACTOR``
times the rate), not banned, that accepted the current rules version
(``GET /api/rules``), with a nickname the word filter allows (unless
``--nicknames off``), and with a solved ALTCHA challenge (``GET /api/altcha``)
when ``--pow always`` or past the rate. Refusals are JSON problems
``{"detail", "code", ...}`` (``problem``).
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from randomchat import auth, devices, guests, privacy, proxy, static
from randomchat.config import Settings
from randomchat.core.moderation import address_hash
from randomchat.core.powcost import Pressure
from randomchat.core.ratelimit import Limit
from randomchat.core.replay import SharedReplay
from randomchat.core.requests import clean_text
from randomchat.db import Ban
from randomchat.errors import AuthError, StorageError
from randomchat.metrics import Metrics
from randomchat.store import Store
from randomchat.store.address_limits import SharedFactory, limiter
from randomchat.turn import IceConfig, ice_request_rate

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A session request is {"username": <32 characters>}: a few dozen bytes.
SESSION_BODY_LIMIT = 4096
# With --pow auto, an address past its session rate may go on with a solved proof of
# work, up to this many times the rate (then 429 again).
POW_RATE_FACTOR = 5

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
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    # Optional only with --nicknames off (everyone is "Stranger" then).
    username: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None
    ) = None
    rules_version: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, alias="rulesVersion"
    )
    altcha: Annotated[str, StringConstraints(max_length=guests.MAX_POW_PAYLOAD)] | None = None
    # The device key this browser was given before (randomchat.devices); a missing or
    # invalid one gets a new key, as a browser with cleared storage would.
    device: Annotated[str, StringConstraints(max_length=devices.MAX_KEY)] | None = None

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # What chat text keeps (ZWJ emoji, ZWNJ, direction marks) a name may hold too;
        # what chat text loses (controls, bidi overrides) is refused, not silently dropped.
        if value is not None and clean_text(value) != value:
            raise ValueError("must contain printable characters only")
        return value


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A refusal the page acts on: ``detail`` for people, ``code`` for the page."""
    return JSONResponse(
        {"detail": detail, "code": code, **extra}, status_code=status, headers=headers
    )


def banned_problem(ban: Ban) -> JSONResponse:
    return problem(
        403,
        "banned",
        "You are banned",
        until=int(ban.until * 1000),
        reason=ban.reason,
    )


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


def metrics_allowed(request: Request, token: str | None) -> bool:
    """With ``--metrics-token``: that bearer token; without: local clients only."""
    if token is None:
        return proxy.is_local(request.scope)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _rate_limited(wait: float, what: str = "new sessions from your address") -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return problem(
        429,
        "rate-limited",
        f"Too many {what}; try again in {seconds} s",
        {"Retry-After": str(seconds)},
        retryAfter=seconds,
    )


def routes(
    settings: Settings,
    store: Store,
    metrics: Metrics,
    address_ban: Callable[[str], Ban | None] | None = None,
    draining: Callable[[], bool] = lambda: False,
    ice: IceConfig | None = None,
    replay: SharedReplay | None = None,
    address_limits: SharedFactory | None = None,
) -> list[BaseRoute]:
    """The HTTP routes; ``address_ban`` finds the ban of a network's keyed hash, if any;
    ``ice`` is the lobby's (one credential cache), ``replay`` a cluster's shared cache,
    ``address_limits`` a cluster's session limiters per address (``store.address_limits``)."""
    rate = settings.sessions_per_minute / 60
    burst = settings.session_burst
    sessions = limiter("sessions", Limit(rate=rate, burst=burst), address_limits)
    with_pow = limiter(
        "pow", Limit(rate=rate * POW_RATE_FACTOR, burst=burst * POW_RATE_FACTOR), address_limits
    )
    rules_doc = guests.RulesDocument.load(settings)
    name_filter = guests.load_name_filter(settings)
    nicknames = settings.nicknames == "on"
    key = guests.address_key(settings)
    device_keys = devices.keys_for(settings.secret)
    pow_ = guests.ProofOfWork(
        settings.secret, settings.pow_max_number, settings.pow_ttl_seconds, shared=replay
    )
    pressure = Pressure(rate, settings.session_burst)  # sessions past the rate (core.powcost)
    ice_config = ice if ice is not None else settings.ice
    ice_requests = ice_request_rate()  # GET /api/ice-servers per user

    async def create_session(request: Request) -> Response:
        if not settings.guest_sessions:
            return _problem(403, "Guest sessions are disabled on this server")
        client = request.client.host if request.client else ""
        now = time.monotonic()
        try:
            wait = await sessions(client)
            need_pow = settings.pow == "always"
            if wait > 0:
                if settings.pow != "auto":
                    return _rate_limited(wait)
                need_pow = True  # past the rate: go on only with a proof of work
                hard = await with_pow(client)
                if hard > 0:
                    return _rate_limited(hard)
        except StorageError:  # a cluster's limiter: Redis out of reach
            return _problem(503, "Sessions are unavailable for a moment; try again")
        if address_ban is not None:
            ban = address_ban(address_hash(key, proxy.network_of(client)))
            if ban is not None:
                return banned_problem(ban)
        try:
            body: Any = await read_json(
                request, SESSION_BODY_LIMIT, '{"username": "Alice", "rulesVersion": "..."}'
            )
        except BodyError as exc:
            return exc.response
        try:
            req = SessionRequest.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "body"
            return _problem(422, f"{where}: {err['msg']}")
        if req.rules_version != rules_doc.version:
            return problem(
                400,
                "rules-not-accepted",
                "Please read and accept the current rules first",
                rulesVersion=rules_doc.version,
            )
        if not nicknames:
            username = auth.DEFAULT_USERNAME
        elif req.username is None:
            return _problem(422, "username: Field required")
        elif not name_filter.allows(req.username):
            return problem(400, "name-refused", "Please choose another nickname")
        else:
            username = req.username
        if need_pow:
            if req.altcha is None:
                return problem(
                    403, "pow-required", "Please solve the challenge from GET /api/altcha"
                )
            # A challenge at least as dear as this address must pay now (a cheaper one,
            # fetched elsewhere or earlier, is refused), used once in the process or cluster.
            network = proxy.network_of(client)
            solved = pow_.solved(req.altcha, time.time(), pressure.level(network, now))
            try:
                fresh = solved is not None and await pow_.use(solved, time.time())
            except StorageError:
                return _problem(503, "Sessions are unavailable for a moment; try again")
            if not fresh:
                return problem(403, "pow-invalid", "The challenge was not solved; try a new one")
            if wait > 0:
                pressure.add(network, now)
        wall = time.time()
        device = device_keys.check(req.device, wall)
        device_key = req.device
        if device is None:
            device, device_key = device_keys.issue(wall)
        token, identity, expires = auth.issue(
            settings.secret,
            username,
            settings.token_ttl_hours * 3600,
            user_id=device.user_id,
            now=wall,
            guest=True,
            rules=rules_doc.version,
            since=device.created,
        )
        payload = {
            "token": token,
            "userId": identity.user_id,
            "username": identity.username,
            "expiresAt": expires,
            "device": device_key,
        }
        return JSONResponse(payload, status_code=201)

    async def rules(request: Request) -> Response:
        payload = {
            "version": rules_doc.version,
            "text": rules_doc.text,
            "minimumAge": rules_doc.minimum_age,
            "nicknames": nicknames,
            "pow": settings.pow,
            "privacy": privacy.privacy_mode(ice_config),  # may "Hide my IP" be offered
        }
        return JSONResponse(payload, headers={"Cache-Control": "no-cache"})

    async def altcha_challenge(request: Request) -> Response:
        network = proxy.network_of(request.client.host if request.client else "")
        challenge = pow_.challenge(time.time(), pressure.level(network, time.monotonic()))
        return JSONResponse(challenge, headers={"Cache-Control": "no-store"})

    async def healthz(request: Request) -> Response:
        if draining():  # a load balancer stops sending new clients here
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def ice_servers(request: Request) -> Response:
        """The STUN/TURN configuration for the bearer of a valid token: its user's TURN
        credential (reused while it lasts, ``turn``), at a rate per user."""
        try:
            token = auth.token_from_handshake(None, request.headers.get("authorization"))
            identity = auth.verify(token, settings.secret)
        except AuthError as exc:
            return _problem(401, exc.detail, {"WWW-Authenticate": 'Bearer realm="randomchat"'})
        wait = ice_requests.take(identity.user_id, time.monotonic())
        if wait > 0:
            return _rate_limited(wait, "ICE server requests")
        payload = {
            "iceServers": ice_config.servers(identity.user_id, time.time(), identity.expires_at),
            "iceTransportPolicy": ice_config.policy,
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
        Route("/api/rules", rules, methods=["GET"]),
        Route("/api/altcha", altcha_challenge, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/ice-servers", ice_servers, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if (settings.web_dir / "index.html").is_file():
        result.append(Mount("/", app=static.web_app(settings.web_dir)))
    else:
        result.append(Route("/", placeholder, methods=["GET"]))
    return result
