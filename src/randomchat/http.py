"""HTTP routes on the same port as Socket.IO: guest sessions, health, metrics, the page."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from randomchat import auth
from randomchat.config import Settings
from randomchat.metrics import Metrics
from randomchat.store import Store

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


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must contain printable characters only")
        return value


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def routes(settings: Settings, store: Store, metrics: Metrics) -> list[BaseRoute]:
    async def create_session(request: Request) -> Response:
        if not settings.guest_sessions:
            return _problem(403, "Guest sessions are disabled on this server")
        try:
            body: Any = await request.json()
        except ValueError:
            return _problem(422, 'Body must be JSON like {"username": "Alice"}')
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

    async def prometheus(request: Request) -> Response:
        body = metrics.render(await store.counts())
        return Response(body, media_type=PROMETHEUS_TYPE)

    async def placeholder(request: Request) -> Response:
        return HTMLResponse(PLACEHOLDER)

    result: list[BaseRoute] = [
        Route("/api/session", create_session, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if (settings.web_dir / "index.html").is_file():
        result.append(Mount("/", app=StaticFiles(directory=settings.web_dir, html=True)))
    else:
        result.append(Route("/", placeholder, methods=["GET"]))
    return result
