"""What a request's ASGI scope says: the environ handlers get, a header, the origin check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]

OriginCheck = Callable[[str | None, dict[str, Any]], bool]
"""``(Origin header or None, environ)``: whether a request from there is served."""

Origins = OriginCheck | str | list[str] | tuple[str, ...] | None


def environ_from_scope(scope: Scope) -> dict[str, Any]:
    """A WSGI-style environ for handlers (``HTTP_*`` headers, scheme, query)."""
    scheme = scope.get("scheme", "http")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", ""),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "wsgi.url_scheme": "https" if scheme in ("https", "wss") else "http",
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        key = "HTTP_" + raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if "HTTP_CONTENT_TYPE" in environ:
        environ["CONTENT_TYPE"] = environ["HTTP_CONTENT_TYPE"]
    return environ


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def origin_check(origins: Origins) -> OriginCheck | None:
    """The check for ``origins``: None (anyone) for "*" or None; a request without an
    Origin header (not a browser's cross-site request) always passes a list."""
    if origins is None or callable(origins):
        return origins
    if origins == "*":
        return None
    allowed = {origins} if isinstance(origins, str) else set(origins)
    return lambda origin, environ: origin is None or origin in allowed
