"""The cluster's proof-of-work replay cache on a real redis-server: the pure rule, shared.

Two clients stand for two nodes. The script must answer as ``core.replay.ReplayCache``
does, step for step, and keep Redis bounded.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from randomchat.core.replay import ReplayCache
from randomchat.store.redis_replay import RedisReplay
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process


@pytest.fixture
async def redis_pair(redis_server: RedisServer) -> AsyncIterator[tuple[Redis, Redis]]:
    a, b = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_a_solution_is_spent_once_across_nodes_and_a_full_cache_takes_a_fresh_one(
    redis_pair: tuple[Redis, Redis],
) -> None:
    one, two = (RedisReplay(r, max_entries=3) for r in redis_pair)
    assert await one.claim("c1", expires=300.0, now=10.0)
    assert not await two.claim("c1", expires=300.0, now=10.5)  # the other node
    assert await two.claim("c2", expires=300.0, now=11.0)
    assert await one.claim("c3", expires=300.0, now=11.0)
    assert await two.claim("fresh", expires=301.0, now=12.0)  # full: room made, not refused
    for key, expires in (("c1", 300.0), ("c2", 300.0), ("other-as-old", 300.0)):
        assert not await one.claim(key, expires=expires, now=13.0)
    assert await redis_pair[0].zcard("rc:{pow}:used") == 3
    assert await redis_pair[0].ttl("rc:{pow}:floor") > 0  # the floor goes by itself too


async def test_the_script_answers_as_the_pure_rule(redis_pair: tuple[Redis, Redis]) -> None:
    rng = random.Random(22)
    pure = ReplayCache(max_entries=5)
    shared = [RedisReplay(r, prefix="rp:", max_entries=5) for r in redis_pair]
    now = 1000.0
    for step in range(400):
        now += rng.choice((0.0, 0.5, 1.0, 7.0))
        key = f"c{rng.randrange(40)}"
        expires = float(int(now) + rng.randrange(1, 30))
        want = pure.claim(key, expires, now)
        got = await shared[step % 2].claim(key, expires, now)
        assert got == want, (step, key, expires, now)
    assert await redis_pair[0].zcard("rp:{pow}:used") == len(pure)
