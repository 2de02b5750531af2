"""HTTP side of joining: a guest token from ``POST /api/session``, ICE servers from
``GET /api/ice-servers``. No WebRTC import here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

NAMESPACE = "/random-chat"
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
    """A guest token from ``POST /api/session``; ``JoinError`` when refused or unreachable."""
    try:
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
            http.post(f"{url.rstrip('/')}/api/session", json={"username": username}) as resp,
        ):
            if resp.status != 201:
                detail = (await resp.text())[:200]
                raise JoinError(f"POST /api/session answered {resp.status}: {detail}")
            body = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise JoinError(f"POST /api/session failed: {exc or type(exc).__name__}") from exc
    try:
        return Session(
            str(body["token"]),
            str(body["userId"]),
            str(body["username"]),
            float(body["expiresAt"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise JoinError(f"POST /api/session answered an unexpected body: {exc!r}") from exc


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
