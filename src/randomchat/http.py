"""HTTP routes on the same port as Socket.IO: guest sessions, health, metrics, the page.

Each endpoint is a module-level function ``(deps, request)``; ``routes`` builds the
one ``Deps`` value and lists the routes. Guest sessions (``POST /api/session``) are
``guest_session.py``; problems and bounded bodies, ``problems.py``. Sessions are
rate-limited per client address after ``proxy.ForwardedHeaders`` has put the real
client in the scope.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from randomchat import auth, guest_session, privacy, proxy, static
from randomchat.config import Settings
from randomchat.core.ratelimit import RateLimiter
from randomchat.core.replay import SharedReplay
from randomchat.db import Ban
from randomchat.errors import AuthError
from randomchat.guest_session import Guests
from randomchat.metrics import Metrics
from randomchat.problems import plain_problem, rate_limited
from randomchat.store import Store
from randomchat.store.address_limits import SharedFactory
from randomchat.turn import IceConfig, ice_request_rate

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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


def metrics_allowed(request: Request, token: str | None) -> bool:
    """With ``--metrics-token``: that bearer token; without: local clients only."""
    if token is None:
        return proxy.is_local(request.scope)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@dataclass(frozen=True, slots=True)
class Deps:
    """What the endpoints below take, built once by ``routes``."""

    settings: Settings
    store: Store
    metrics: Metrics
    draining: Callable[[], bool]
    ice: IceConfig
    ice_requests: RateLimiter  # GET /api/ice-servers per user
    guests: Guests  # POST /api/session's (guest_session)


async def rules(deps: Deps, request: Request) -> Response:
    payload = {
        "version": deps.guests.rules.version,
        "text": deps.guests.rules.text,
        "minimumAge": deps.guests.rules.minimum_age,
        "nicknames": deps.guests.nicknames,
        "pow": deps.settings.pow,
        "privacy": privacy.privacy_mode(deps.ice),  # may "Hide my IP" be offered
    }
    return JSONResponse(payload, headers={"Cache-Control": "no-cache"})


async def altcha_challenge(deps: Deps, request: Request) -> Response:
    network = proxy.network_of(request.client.host if request.client else "")
    challenge = deps.guests.pow.challenge(
        time.time(), deps.guests.pressure.level(network, time.monotonic())
    )
    return JSONResponse(challenge, headers={"Cache-Control": "no-store"})


async def healthz(deps: Deps, request: Request) -> Response:
    if deps.draining():  # a load balancer stops sending new clients here
        return JSONResponse({"status": "draining"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def ice_servers(deps: Deps, request: Request) -> Response:
    """The STUN/TURN configuration for the bearer of a valid token: its user's TURN
    credential (reused while it lasts, ``turn``), at a rate per user."""
    try:
        token = auth.token_from_handshake(None, request.headers.get("authorization"))
        identity = auth.verify(token, deps.settings.secret)
    except AuthError as exc:
        return plain_problem(401, exc.detail, {"WWW-Authenticate": 'Bearer realm="randomchat"'})
    wait = deps.ice_requests.take(identity.user_id, time.monotonic())
    if wait > 0:
        return rate_limited(wait, "ICE server requests")
    payload = {
        "iceServers": deps.ice.servers(identity.user_id, time.time(), identity.expires_at),
        "iceTransportPolicy": deps.ice.policy,
    }
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})


async def prometheus(deps: Deps, request: Request) -> Response:
    token = deps.settings.metrics_token
    if not metrics_allowed(request, token):
        if token is None:
            return plain_problem(
                403, "Metrics are served to this machine only (see --metrics-token)"
            )
        return plain_problem(
            401, "Metrics need the bearer token", {"WWW-Authenticate": 'Bearer realm="metrics"'}
        )
    body = deps.metrics.render(await deps.store.counts())
    return Response(body, media_type=PROMETHEUS_TYPE)


async def placeholder(request: Request) -> Response:
    return HTMLResponse(PLACEHOLDER)


Endpoint = Callable[[Deps, Request], Awaitable[Response]]


async def create_session(deps: Deps, request: Request) -> Response:
    return await guest_session.create_session(deps.guests, request)


def bind(deps: Deps, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def bound(request: Request) -> Response:
        return await endpoint(deps, request)

    return bound


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
    guests = Guests.build(settings, address_ban, replay, address_limits)
    ice = ice if ice is not None else settings.ice
    deps = Deps(settings, store, metrics, draining, ice, ice_request_rate(), guests)
    result: list[BaseRoute] = [
        Route("/api/session", bind(deps, create_session), methods=["POST"]),
        Route("/api/rules", bind(deps, rules), methods=["GET"]),
        Route("/api/altcha", bind(deps, altcha_challenge), methods=["GET"]),
        Route("/healthz", bind(deps, healthz), methods=["GET"]),
        Route("/api/ice-servers", bind(deps, ice_servers), methods=["GET"]),
        Route("/metrics", bind(deps, prometheus), methods=["GET"]),
    ]
    if (settings.web_dir / "index.html").is_file():
        result.append(Mount("/", app=static.web_app(settings.web_dir)))
    else:
        result.append(Route("/", placeholder, methods=["GET"]))
    return result
