"""The cluster's connection caps and guest-session limiter on a real redis-server.

Two clients stand for two nodes; time is passed in, so leases and buckets are
checked without waiting. The session limiter must answer as the in-memory
``AddressLimiter`` does, request for request.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from randomchat.core.ratelimit import Limit
from randomchat.store.address_limits import AddressLimiter
from randomchat.store.redis_caps import RedisCaps
from randomchat.store.redis_sessions import RedisAddressLimits
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process

LEASE = 10.0
V6 = ("2001:db8:1:1::", "2001:db8:1:2::", "2001:db8:1:3::")  # three /64s of one /48


@pytest.fixture
async def redis_pair(redis_server: RedisServer) -> AsyncIterator[tuple[Redis, Redis]]:
    a, b = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_caps_count_both_nodes_and_a_lease_not_renewed_runs_out(
    redis_pair: tuple[Redis, Redis],
) -> None:
    one, two = (RedisCaps(r, per_user=2, per_address=3, lease=LEASE) for r in redis_pair)
    assert await one.admit("n1.a", "u", ["10.0.0.1"], now=0.0) is None
    assert await two.admit("n2.b", "u", ["10.0.0.1"], now=1.0) is None
    assert await two.admit("n2.c", "u", ["10.0.0.1"], now=2.0) == "user"
    assert await two.admit("n2.c", "v", ["10.0.0.1"], now=2.0) is None
    assert await one.admit("n1.d", "w", ["10.0.0.1"], now=2.0) == "address"
    assert await one.admit("n1.a", "u", ["10.0.0.1"], now=3.0) is None  # counted once
    # Node two keeps renewing; node one stops (it died) after its admission at 3.0.
    await two.refresh([("n2.b", "u", ("10.0.0.1",)), ("n2.c", "v", ("10.0.0.1",))], now=9.0)
    assert await two.admit("n2.e", "u", ["10.0.0.2"], now=12.0) == "user"
    assert await two.admit("n2.e", "u", ["10.0.0.2"], now=13.5) is None  # a's lease is over
    await two.release("n2.b", "u", ["10.0.0.1"])
    assert await one.admit("n1.f", "u", ["10.0.0.3"], now=14.0) is None
    redis = redis_pair[0]
    for key in ("rc:{caps}:u:u", "rc:{caps}:a:10.0.0.1"):
        assert 0 < await redis.pttl(key) <= (LEASE + 60) * 1000  # every key expires
    assert await redis.zcard("rc:{caps}:u:u") == 2  # at most the cap: e and f


async def test_an_ipv6_client_is_capped_in_its_64_56_and_48(
    redis_pair: tuple[Redis, Redis],
) -> None:
    caps = RedisCaps(redis_pair[0], per_user=100, per_address=2, lease=LEASE)
    units = [[f"{a}/64", "2001:db8:1::/56", "2001:db8:1::/48"] for a in V6]
    assert await caps.admit("n.1", "u1", units[0], now=0.0) is None
    assert await caps.admit("n.2", "u2", units[1], now=0.0) is None
    assert await caps.admit("n.3", "u3", units[2], now=0.0) == "address"  # the /48 is full
    assert await redis_pair[0].zcard("rc:{caps}:u:u3") == 0  # refused: nothing added


async def test_the_session_limiter_answers_as_the_memory_one(
    redis_pair: tuple[Redis, Redis],
) -> None:
    limit = Limit(rate=0.5, burst=3)
    memory = AddressLimiter(limit)
    one, two = (RedisAddressLimits(r, "sessions", limit) for r in redis_pair)
    rng = random.Random(23)
    addresses = ["192.0.2.1", "192.0.2.2", *V6]
    now = 1000.0
    for _ in range(300):
        now += rng.choice((0.0, 0.1, 0.5, 2.0))
        address = rng.choice(addresses)
        expected = memory.take(address, now)
        got = await rng.choice((one, two)).take(address, now)
        assert got == pytest.approx(expected, abs=1e-9), (address, now)
    assert len(one) + len(two) > 0


async def test_past_its_bound_a_node_limits_new_addresses_together(
    redis_pair: tuple[Redis, Redis],
) -> None:
    limiter = RedisAddressLimits(redis_pair[0], "sessions", Limit(rate=1.0, burst=1), max_keys=2)
    assert await limiter.take("192.0.2.1", 0.0) == 0.0
    assert await limiter.take("192.0.2.2", 0.0) == 0.0
    assert await limiter.take("192.0.2.3", 0.0) == 0.0  # the shared overflow bucket
    assert await limiter.take("192.0.2.4", 0.0) > 0  # the same bucket, empty now
    assert await limiter.take("192.0.2.4", 2.0) == 0.0  # full again: its own bucket
    assert len(limiter) <= 2
