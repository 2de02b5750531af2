"""HTTP side of joining: a guest token from ``POST /api/session``, ICE servers from
``GET /api/ice-servers``. No WebRTC import here."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


class JoinError(Exception):
    """The deployment refused or failed a step of joining; ``str`` says which and why."""


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    user_id: str
    username: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class IceSettings:
    """What ``match-found`` or ``/api/ice-servers`` carry: RTCIceServer dicts and the policy."""

    servers: tuple[dict[str, Any], ...] = ()
    policy: str = "all"

    @classmethod
    def from_payload(cls, payload: Any) -> IceSettings:
        """Read ``{iceServers, iceTransportPolicy}``; absent or malformed parts fall back."""
        if not isinstance(payload, dict):
            return cls()
        raw = payload.get("iceServers")
        servers = tuple(s for s in raw if isinstance(s, dict)) if isinstance(raw, list) else ()
        policy = payload.get("iceTransportPolicy")
        return cls(servers, policy if policy in ("all", "relay") else "all")

    def urls(self, *schemes: str) -> list[tuple[str, dict[str, Any]]]:
        """Each URL whose scheme is one of ``schemes``, with the server entry it came from."""
        found = []
        for server in self.servers:
            urls = server.get("urls")
            for url in [urls] if isinstance(urls, str) else urls or []:
                if isinstance(url, str) and url.split(":", 1)[0] in schemes:
                    found.append((url, server))
        return found


async def guest_session(url: str, username: str) -> Session:
    """A guest token from ``POST /api/session``; ``JoinError`` when refused or unreachable.

    A bot accepts the rules of the deployment it joins on behalf of its operator
    (the version from ``GET /api/rules``) and solves the proof of work when the
    server asks for one (``GET /api/altcha``).
    """
    base = url.rstrip("/")
    try:
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            body: dict[str, Any] = {"username": username}
            async with http.get(f"{base}/api/rules") as resp:
                if resp.status == 200:  # an older server has no rules gate
                    body["rulesVersion"] = (await resp.json()).get("version")
            status, answer = await _post_session(http, base, body)
            if status == 403 and isinstance(answer, dict) and answer.get("code") == "pow-required":
                body["altcha"] = await _solve(http, base)
                status, answer = await _post_session(http, base, body)
            if status != 201:
                raise JoinError(f"POST /api/session answered {status}: {str(answer)[:200]}")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise JoinError(f"POST /api/session failed: {exc or type(exc).__name__}") from exc
    try:
        return Session(
            str(answer["token"]),
            str(answer["userId"]),
            str(answer["username"]),
            float(answer["expiresAt"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise JoinError(f"POST /api/session answered an unexpected body: {exc!r}") from exc


async def _post_session(
    http: aiohttp.ClientSession, base: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(f"{base}/api/session", json=body) as resp:
        try:
            return resp.status, await resp.json(content_type=None)
        except ValueError:
            return resp.status, (await resp.text())[:200]


async def _solve(http: aiohttp.ClientSession, base: str) -> str:
    """Solve an ALTCHA (v1) challenge of the server's; the base64 payload."""
    from altcha import v1

    async with http.get(f"{base}/api/altcha") as resp:
        challenge = await resp.json()
    solution = await asyncio.to_thread(
        v1.solve_challenge,
        challenge["challenge"],
        challenge["salt"],
        challenge["algorithm"],
        int(challenge["maxNumber"]),
    )
    if solution is None:
        raise JoinError("GET /api/altcha gave a challenge without a solution")
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def fetch_ice_settings(url: str, token: str) -> IceSettings | None:
    """``GET /api/ice-servers`` with the token; ``None`` where the route does not exist."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
            http.get(f"{url.rstrip('/')}/api/ice-servers", headers=headers) as resp,
        ):
            if resp.status == 404:
                return None
            if resp.status != 200:
                raise JoinError(f"GET /api/ice-servers answered {resp.status}")
            return IceSettings.from_payload(await resp.json())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise JoinError(f"GET /api/ice-servers failed: {exc or type(exc).__name__}") from exc
