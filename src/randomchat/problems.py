"""JSON problems and request bodies read within a bound, for every HTTP route.

Hostile input first: a body is refused by its declared length, then by the
bytes that actually arrive, before any parsing (``read_json``). Refusals are
JSON ``{"detail", ...}``; those the page acts on carry a ``code`` too (``problem``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from randomchat.db import Ban


def plain_problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
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
        return plain_problem(self.status, self.detail, {"Connection": "close"})


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


def rate_limited(wait: float, what: str = "new sessions from your address") -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return problem(
        429,
        "rate-limited",
        f"Too many {what}; try again in {seconds} s",
        {"Retry-After": str(seconds)},
        retryAfter=seconds,
    )
