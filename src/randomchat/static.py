"""The built page served like a real site: compressed, cached by name, behind a strict CSP.

Vite names every file under ``assets/`` after a hash of its content, so a
browser may keep those for a year without asking again (``immutable``); every
other file (``index.html``, the manifest, the icons) keeps its name across
releases and is revalidated on each use (``no-cache`` plus the ETag that
``StaticFiles`` already sends), so a new release is picked up on the next load.

Compression is ``starlette-compress`` (zstd, brotli or gzip, chosen from
``Accept-Encoding``) around these files only: the JSON API answers are a few
hundred bytes, and its token and TURN credentials are better kept out of a
compressor that also sees request-chosen text. The Socket.IO layer is routed
before Starlette (``sio/asgi.py``), so neither its long-polling nor its
WebSocket traffic ever reaches this module.

Production builds carry no source maps (``web/vite.config.ts``); a stale
``.map`` left in a web directory is not served either.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import ASGIApp, Scope
from starlette_compress import CompressMiddleware

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED_DIR = "assets"  # Vite's build.assetsDir

# A Host header fit to be written into the CSP: a name or an IPv6 literal, and a port.
_SANE_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate CSP frame-ancestors
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(host: str | None) -> str:
    """The page's CSP: its own scripts and styles only, no inline code, no framing.

    ``connect-src 'self'`` covers same-origin WebSockets in CSP level 3; the
    explicit ``ws:``/``wss:`` origins are for browsers that read level 2 only.
    """
    connect = ["'self'"]
    if host and _SANE_HOST.fullmatch(host):
        connect += [f"ws://{host}", f"wss://{host}"]
    return "; ".join(
        [
            "default-src 'self'",
            # 'wasm-unsafe-eval': WebAssembly compilation only (the nudity classifier's
            # TensorFlow.js backend, our own hashed .wasm assets), never eval of JS.
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "connect-src " + " ".join(connect),
            "font-src 'self'",
            "manifest-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def cache_control(relative_path: str) -> str:
    """``immutable`` for content-hashed files under ``assets/``, ``no-cache`` for the rest."""
    first = Path(relative_path).parts[:1]
    return IMMUTABLE if first == (HASHED_DIR,) else REVALIDATE


class WebFiles(StaticFiles):
    """``StaticFiles`` with cache headers by name and the security headers on every file."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(".map"):
            return PlainTextResponse("Not Found", status_code=404)
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        relative = os.path.relpath(full_path, self.directory) if self.directory else ""
        response.headers["Cache-Control"] = (
            cache_control(relative) if status_code == 200 else REVALIDATE
        )
        response.headers.update(SECURITY_HEADERS)
        host = Headers(scope=scope).get("host")
        response.headers["Content-Security-Policy"] = content_security_policy(host)
        return response


def web_app(directory: Path) -> ASGIApp:
    """The built page in ``directory``, compressed and with its headers."""
    return CompressMiddleware(WebFiles(directory=directory, html=True))


def default_web_dir() -> Path:
    """The page this install serves when ``--web-dir`` is not given, from any directory.

    A wheel carries its page inside the package (``setup.py`` copies it there); an
    editable install from the repository serves ``web/dist``, which ``make web`` builds.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "web"
    if (packaged / "index.html").is_file():
        return packaged
    return here.parents[1] / "web" / "dist"
