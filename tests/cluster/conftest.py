"""Fixtures of the scale-out tests: a real redis-server and real node processes on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import RunningServer
from tests.redisserver import RedisServer, redis_server  # noqa: F401 (fixture)

NODE_TIMEOUT = 2.0  # short, so that the dead-node tests do not wait 10 s

Cluster = Callable[..., list[RunningServer]]


@pytest.fixture
def cluster(server_factory: Any, redis_server: RedisServer, tmp_path: Path) -> Cluster:  # noqa: F811
    def start(count: int, **overrides: Any) -> list[RunningServer]:
        overrides.setdefault("node_timeout", NODE_TIMEOUT)
        return [
            server_factory(
                redis_url=redis_server.url,
                node_name=f"n{i + 1}",
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
                **overrides,
            )
            for i in range(count)
        ]

    return start


async def redis_counts(url: str) -> tuple[int, int, int]:
    """Connected sockets, waiting users and pairs, as Redis holds them for the cluster."""
    redis = Redis.from_url(url)
    try:
        connected, pairs = await redis.hmget("rc:{lobby}:stats", "connected", "pairs")
        waiting = await redis.zcard("rc:{lobby}:q:video") + await redis.zcard("rc:{lobby}:q:text")
        return int(connected or 0), int(waiting), int(pairs or 0)
    finally:
        await redis.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def empty(url: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await redis_counts(url) == (0, 0, 0)

    return check
