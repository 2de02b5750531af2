"""Pending resumes of a cluster on a real redis-server (``store.redis_resume``).

Two stores with two clients stand for two nodes, with their heartbeat keys set by
hand; the lobby's side is in tests/core/test_resume.py, the nodes' in
tests/cluster/test_shared_resume.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from randomchat.core.state import Phase
from randomchat.store.base import Member
from randomchat.store.redis import RedisStore
from randomchat.store.redis_resume import GONE, WAITING, RedisResumes
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process

WINDOW = 30.0


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[list[tuple[RedisStore, RedisResumes]]]:
    clients = [Redis.from_url(redis_server.url) for _ in range(2)]
    pairs = []
    for name, redis in zip(("n1", "n2"), clients, strict=True):
        await redis.set(f"rc:{{lobby}}:node:{name}", "1", px=60_000)  # beating
        store = RedisStore(redis, name)
        pairs.append((store, RedisResumes(redis, store)))
    yield pairs
    for redis in clients:
        await redis.aclose()


async def joined(store: RedisStore, sid: str, user: str) -> Member:
    member = Member(sid, user, user.upper())
    await store.join(member)
    return member


async def test_the_second_side_pairs_with_the_first_on_another_node(
    nodes: list[tuple[RedisStore, RedisResumes]],
) -> None:
    (one, resumes_one), (two, resumes_two) = nodes
    old = await joined(one, "n1.a", "ua")
    new = await joined(one, "n1.a2", "ua")
    bob = await joined(two, "n2.b", "ub")
    assert await resumes_one.offer("call", old, WINDOW) == WAITING
    assert await resumes_one.offer("call", new, WINDOW) == WAITING  # the same user's newer
    assert await resumes_two.offer("call", bob, WINDOW) == new
    assert await one.partner_of("n1.a2") == "n2.b" and await two.partner_of("n2.b") == "n1.a2"
    assert (await one.counts()).pairs == 1
    # Node one did not write the pair, yet its leave finds it and names the partner.
    assert await one.leave("n1.a2") == Member("n2.b", "ub", "UB")
    assert (await two.counts()).pairs == 0
    assert await one.redis.exists("rc:{lobby}:rs:call") == 0


async def test_a_side_on_a_dead_node_or_withdrawn_is_not_paired_with(
    nodes: list[tuple[RedisStore, RedisResumes]],
) -> None:
    (one, resumes_one), (two, resumes_two) = nodes
    carol = await joined(one, "n1.c", "uc")
    dave = await joined(two, "n2.d", "ud")
    assert await resumes_one.offer("c1", carol, WINDOW) == WAITING
    await one.redis.delete("rc:{lobby}:node:n1")  # node one stopped beating
    assert await resumes_two.offer("c1", dave, WINDOW) == GONE
    assert await two.phase_of("n2.d") is Phase.IDLE and (await two.counts()).pairs == 0
    await one.redis.set("rc:{lobby}:node:n1", "1", px=60_000)
    assert await resumes_one.offer("c2", carol, WINDOW) == WAITING
    assert 0 < await one.redis.pttl("rc:{lobby}:rs:c2") <= WINDOW * 1000  # the window
    await resumes_one.withdraw([("c2", "n1.other")])  # not its entry: kept
    assert await one.redis.exists("rc:{lobby}:rs:c2") == 1
    await resumes_one.withdraw([("c2", "n1.c")])
    assert await one.redis.exists("rc:{lobby}:rs:c2") == 0
    assert await one.redis.exists("rc:{lobby}:rs:c1") == 0  # taken by Dave, though gone
