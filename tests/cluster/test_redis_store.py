"""The Redis store under concurrency: many seekers on two nodes at once, and a dead node."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from randomchat.core.matching import INTERESTS, LANGUAGES, Seeker
from randomchat.store import Matched, Member, Queued, Taken, options_codec
from randomchat.store.redis import RedisStore
from randomchat.store.redis_base import text
from tests.matchers import WIDE, make_seeker
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    # Two clients, as two processes have: their commands interleave in Redis.
    a, b = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    yield RedisStore(a, "n1"), RedisStore(b, "n2")
    await a.aclose()
    await b.aclose()


async def test_simultaneous_searches_on_two_nodes_pair_everyone_once(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    rng = random.Random(7)
    users = [f"n{1 + i % 2}.s{i}" for i in range(200)]
    home = {sid: nodes[i % 2] for i, sid in enumerate(users)}
    for sid in users:
        await home[sid].join(Member(sid, "u-" + sid, sid))
    tags = ["music", "games", "art"]

    def seeker(sid: str) -> Seeker:
        return make_seeker(sid, "u-" + sid, frozenset(rng.sample(tags, rng.randint(0, 1))))

    results = await asyncio.gather(*(home[sid].search(seeker(sid), 1.0) for sid in users))
    partners = {
        sid: r.partner.sid for sid, r in zip(users, results, strict=True) if isinstance(r, Matched)
    }
    # Everyone the store says is paired is paired both ways, once, never with themselves.
    pair_of = {sid: await home[sid].partner_of(sid) for sid in users}
    for sid, partner in partners.items():
        assert partner != sid
        assert pair_of[sid] == partner and pair_of[partner] == sid
    paired = {sid for sid, p in pair_of.items() if p is not None}
    assert len(paired) % 2 == 0
    # Each pairing is reported by the one search that made it: its node tells both
    # sides; a second report would send each a second match-found.
    assert len(partners) * 2 == len(paired)
    counts = await nodes[0].counts()
    assert counts.pairs * 2 == len(paired)
    assert counts.waiting + len(paired) == len(users)
    # Nobody left waiting could have been paired with another waiting user: at most
    # one waiting user per interest list that accepts anyone.
    waiting = [sid for sid in users if pair_of[sid] is None]
    assert counts.waiting == len(waiting) <= len(tags) + 1


async def test_a_waiting_seeker_paired_by_the_other_sides_claim_is_not_paired_twice(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    """Both queued at once, each looks again and finds the other: one claim pairs them,
    the other finds its seeker taken (a retry of the same claim gets its answer again)."""
    one, two = nodes
    await one.join(Member("n1.s", "u-s", "S"))
    await two.join(Member("n2.t", "u-t", "T"))
    s, t = make_seeker("n1.s", "u-s"), make_seeker("n2.t", "u-t")
    assert await one.search(s, 0.0) == Queued(1)
    await two._queue(t, 0.5, None)  # T queued without looking: it has not seen S yet
    seq_s = await one.redis.hget("rc:{lobby}:m:n1.s", "seq")
    seq_t = await two.redis.hget("rc:{lobby}:m:n2.t", "seq")
    claim_by_s = [
        "rc:{lobby}:",
        "n1.s",
        "w",
        "token-s",
        -1,
        "u-s",
        "S",
        "n1",
        "",
        "n2.t",
        text(seq_t),
    ]
    first = await one._claim(args=claim_by_s)
    assert [text(x) for x in first[:2]] == ["1", "n2.t"]
    assert [text(x) for x in (await one._claim(args=claim_by_s))[:2]] == ["1", "n2.t"]
    by_t = await two._claim(
        args=["rc:{lobby}:", "n2.t", "w", "token-t", -1, "u-t", "T", "n2", "", "n1.s", text(seq_s)]
    )
    assert [text(x) for x in by_t] == ["-1", "m"]
    assert await two._look_again(t, 1.0, None) == Taken()
    assert await one.partner_of("n2.t") == "n1.s"


async def test_a_seeker_that_read_before_another_queued_reads_again_instead_of_waiting(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    """Claim or enqueue: S read an empty queue; T queued before S's enqueue ran. S does
    not queue (both would wait, unseen), it reads again and meets T."""
    one, two = nodes
    await one.join(Member("n1.s", "u-s", "S"))
    await two.join(Member("n2.t", "u-t", "T"))
    s = make_seeker("n1.s", "u-s")
    matched, read_at = await one._pair(s, "i", 0.0)
    assert matched is None
    assert await two.search(make_seeker("n2.t", "u-t"), 0.5) == Queued(1)
    assert await one._queue(s, 1.0, read_at) is None  # refused: something arrived
    assert await one.phase_of("n1.s") is not None and (await one.counts()).waiting == 1
    found = await one.search(s, 1.0)
    assert isinstance(found, Matched) and found.partner.sid == "n2.t"


async def test_a_user_waiting_on_a_node_that_stopped_beating_is_passed_over(
    nodes: tuple[RedisStore, RedisStore], redis_server: RedisServer
) -> None:
    one, _ = nodes
    beating = RedisStore(one.redis, "n1", node_timeout=10.0)
    redis = one.redis
    for sid, node in [("n1.a", "n1"), ("n2.b", "n2"), ("n3.c", "n3")]:
        await RedisStore(redis, node).join(Member(sid, "u-" + sid, sid))
    # b and c cannot meet each other (strict, different interests); a would take either.
    x, y, xy = frozenset({"x"}), frozenset({"y"}), frozenset({"x", "y"})
    await RedisStore(redis, "n2").search(make_seeker("n2.b", "u-b", x, True), 0.0)  # n2: silent
    await redis.set("rc:{lobby}:node:n3", "x", px=10_000)  # n3 beat just now
    await RedisStore(redis, "n3").search(make_seeker("n3.c", "u-c", y, True), 1.0)
    a = make_seeker("n1.a", "u-a", xy, True)
    found = await beating.search(a, 2.0)
    assert isinstance(found, Matched) and found.partner.sid == "n3.c"  # though b came first
    await beating.leave("n1.a")
    await RedisStore(redis, "n3").leave("n3.c")
    await redis.set("rc:{lobby}:node:n2", "x", px=6_000)  # beat 4 s ago (10 s timeout): stale too
    assert await beating.search(a, 3.0) == Queued(2)
    await redis.set("rc:{lobby}:node:n2", "x", px=9_000)  # a beat a second ago
    await beating.leave("n1.a")
    found = await beating.search(a, 4.0)
    assert isinstance(found, Matched) and found.partner.sid == "n2.b"


async def test_a_retried_claim_answers_as_the_first_did_privacy_included(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    one, two = nodes
    await one.join(Member("n1.p", "u-p", "P"))
    await two.join(Member("n2.q", "u-q", "Q"))
    assert await one.search(make_seeker("n1.p", "u-p", privacy=True), 0.0) == Queued(1)
    seq = text(await one.redis.hget("rc:{lobby}:m:n1.p", "seq"))
    claim = ["rc:{lobby}:", "n2.q", "i", "token-q", -1, "u-q", "Q", "n2", "", "n1.p", seq]
    first = [text(x) for x in await two._claim(args=claim)]
    again = [text(x) for x in await two._claim(args=claim)]  # its reply was lost
    assert first[:2] == again[:2] == ["1", "n1.p"]
    assert first[-1] == again[-1]  # P's options, kept with the claim's token
    assert options_codec.decode(first[-1]).privacy  # P asked for a relay-only call


async def test_evicting_a_dead_node_frees_its_queue_and_its_partners(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    alive, dead = nodes
    for sid, node in [("n1.a", alive), ("n2.b", dead), ("n2.c", dead)]:
        await node.join(Member(sid, "u-" + sid, sid))
    await dead.search(make_seeker("n2.b", "u-b"), 0.0)
    matched = await alive.search(make_seeker("n1.a", "u-a"), 1.0)
    assert isinstance(matched, Matched) and matched.partner.sid == "n2.b"
    await dead.search(make_seeker("n2.c", "u-c"), 2.0)  # left waiting
    partners = await alive.evict_node("n2")
    assert [(gone, p.sid) for gone, p in partners] == [("n2.b", "n1.a")]
    assert await alive.partner_of("n1.a") is None
    counts = await alive.counts()
    assert (counts.connected, counts.waiting, counts.pairs) == (1, 0, 0)
    assert await alive.sids_of("n2") == set()


def test_an_event_sent_again_after_a_failed_write_is_delivered_once() -> None:
    from randomchat.inbox import Inbox

    reader = Inbox.__new__(Inbox)  # only its duplicate filter
    reader._seen = {}

    assert reader._first_time("n1:a", 1)
    assert reader._first_time("n1:a", 2)
    assert not reader._first_time("n1:a", 2)  # the batch was stored, then resent
    assert reader._first_time("n2:b", 1)  # another sender counts on its own
    assert reader._first_time("n1:c", 1)  # the same node, restarted


async def test_looking_again_keeps_what_the_user_widened_while_waiting(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    """A waiting user whose interests widened looks again (its node's beat came late and a
    newcomer on the other node queued rather than claim it): it takes the newcomer, though
    the lobby's seeker says nothing of the widening (the record does)."""
    one, two = nodes
    await one.join(Member("n1.a", "u-a", "A"))
    await two.join(Member("n2.b", "u-b", "B"))
    fan = make_seeker("n1.a", "u-a", interests=["chess"])
    assert await one.search(fan, 0.0) == Queued(1)
    assert await one.due_to_widen(5.0, {INTERESTS: 5.0, LANGUAGES: 5.0}) == [("n1.a", WIDE)]
    assert await one.widen(replace(fan, widened=WIDE), 5.0) == Queued(1)
    await two._queue(make_seeker("n2.b", "u-b"), 5.5, None)  # B queued without seeing A
    found = await one.look_again(fan, 6.0)
    assert isinstance(found, Matched) and found.partner.sid == "n2.b"


async def test_a_widening_read_before_the_user_searched_again_widens_nothing(
    nodes: tuple[RedisStore, RedisStore],
) -> None:
    """The widening job read a waiting entry, then its user left and searched again
    before the job's widen ran: the new search waits out its own wait."""
    one, _ = nodes
    await one.join(Member("n1.a", "u-a", "A"))
    fan = make_seeker("n1.a", "u-a", interests=["chess"])
    assert await one.search(fan, 0.0) == Queued(1)
    assert await one.due_to_widen(5.0, {INTERESTS: 5.0, LANGUAGES: 5.0}) == [("n1.a", WIDE)]
    await one.leave("n1.a")
    assert await one.search(fan, 5.1) == Queued(1)
    assert await one.widen(replace(fan, widened=WIDE), 5.2) is None
    assert await one.due_to_widen(9.0, {INTERESTS: 5.0, LANGUAGES: 5.0}) == []
