"""What every Redis-backed piece shares: failures as ``StorageError``, replies as text."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import RedisError

from randomchat.errors import StorageError

P = ParamSpec("P")
T = TypeVar("T")


def unavailable(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis failures become ``StorageError`` (the client gets ``code: unavailable``)."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise StorageError(f"shared state unavailable: {type(exc).__name__}") from exc

    return run


def lobby(prefix: str) -> str:
    """The prefix of every key pairing touches: one hash tag, so one slot of a Redis Cluster
    (a script may only touch keys of one slot). See docs/scaling.md, "Beyond one shard"."""
    return f"{prefix}{{lobby}}:"


def text(value: Any) -> str:
    """A reply as ``str`` (the client returns bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
