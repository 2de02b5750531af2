"""One suite for the store seam, run unchanged against every implementation.

``redis`` is one node on a real redis-server; ``redis-2-nodes`` puts every
other socket on a second node over the same Redis, so each rule below also
holds between users of different nodes; ``cluster-2-nodes`` does the same on a
real Redis Cluster of three masters (every script's keys in one slot).
"""

import itertools
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster

from randomchat.core.matching import INTERESTS, LANGUAGES, Seeker
from randomchat.core.state import Phase
from randomchat.errors import IllegalMove
from randomchat.protocol import SearchOptions
from randomchat.store import Counts, Matched, Member, MemoryStore, Queued, Store
from randomchat.store.redis import RedisStore
from tests.matchers import WIDE, make_seeker
from tests.rediscluster import RedisCluster3
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process

WAITS = {INTERESTS: 5.0}

_prefixes = itertools.count()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cluster = RedisCluster3(Path(tmp_path_factory.mktemp("redis-cluster")))
    cluster.start()
    yield cluster.url
    cluster.stop()


class TwoNodes:
    """Two nodes' stores over one Redis: a socket belongs to the node it joined."""

    def __init__(self, a: RedisStore, b: RedisStore) -> None:
        self.nodes = (a, b)
        self.home: dict[str, RedisStore] = {}
        self._turn = itertools.cycle(self.nodes)

    def __getattr__(self, name: str) -> object:
        return getattr(self.nodes[0], name)  # counts: any node sees the same

    def _of(self, sid: str) -> RedisStore:
        return self.home.get(sid, self.nodes[0])

    async def join(self, member: Member) -> None:
        self.home[member.sid] = next(self._turn)
        await self.home[member.sid].join(member)

    async def search(self, seeker: Seeker, now: float) -> object:
        return await self._of(seeker.sid).search(seeker, now)

    async def widen(self, seeker: Seeker, now: float) -> object:
        return await self._of(seeker.sid).widen(seeker, now)

    async def due_to_widen(
        self, now: float, waits: Mapping[str, float]
    ) -> list[tuple[str, frozenset[str]]]:
        return [due for node in self.nodes for due in await node.due_to_widen(now, waits)]

    async def leave(self, sid: str) -> object:
        return await self._of(sid).leave(sid)

    async def part(self, sid: str) -> object:
        return await self._of(sid).part(sid)

    async def phase_of(self, sid: str) -> Phase | None:
        # Asked of the node that holds the socket, as the lobby does: only it knows an
        # idle socket (one with no record in Redis) is connected.
        return await self._of(sid).phase_of(sid)

    async def counts(self) -> Counts:
        # Each node counts its own sockets (the others' come from their heartbeats,
        # which these bare stores do not send).
        counts = await self.nodes[0].counts()
        connected = sum(node.local_count() for node in self.nodes)
        return Counts(connected, counts.waiting, counts.pairs)


@pytest.fixture(params=["memory", "redis", "redis-2-nodes", "cluster-2-nodes"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    redis: Redis
    if request.param == "cluster-2-nodes":
        redis = RedisCluster.from_url(request.getfixturevalue("cluster_url"))  # type: ignore[assignment]
    else:
        redis = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"t{next(_prefixes)}:"
    one = RedisStore(redis, "n1", prefix)
    if request.param == "redis":
        yield one
    else:
        yield TwoNodes(one, RedisStore(redis, "n2", prefix))  # type: ignore[misc]
    await redis.aclose()


def S(sid: str, user: str | None = None, **kw: object) -> Seeker:
    return make_seeker(sid, user or "u-" + sid, **kw)  # type: ignore[arg-type]


async def join(store: Store, *names: str, user: str | None = None) -> None:
    for name in names:
        await store.join(Member(name, user or "u-" + name, name.upper()))


async def test_search_queues_then_pairs_fifo(store: Store) -> None:
    await join(store, "a", "b", "c")
    assert await store.search(S("a"), 1.0) == Queued(1)
    assert await store.search(S("b"), 2.0) == Matched(Member("a", "u-a", "A"), 1.0)
    assert await store.partner_of("a") == "b" and await store.partner_of("b") == "a"
    assert await store.search(S("c"), 3.0) == Queued(1)
    assert await store.counts() == Counts(3, 1, 1)


async def test_search_twice_is_refused(store: Store) -> None:
    await join(store, "a", "b")
    await store.search(S("a"), 0.0)
    with pytest.raises(IllegalMove, match="Already in queue"):
        await store.search(S("a"), 0.0)
    await store.search(S("b"), 0.0)
    with pytest.raises(IllegalMove, match="Already in a match"):
        await store.search(S("b"), 0.0)


async def test_two_tabs_of_one_user_never_meet(store: Store) -> None:
    await join(store, "tab1", "tab2", user="alice")
    await store.search(S("tab1", "alice"), 0.0)
    assert await store.search(S("tab2", "alice"), 1.0) == Queued(2)
    await join(store, "bob")
    result = await store.search(S("bob"), 2.0)
    assert isinstance(result, Matched) and result.partner.sid == "tab1"


async def test_leave_ends_call_for_both(store: Store) -> None:
    await join(store, "a", "b")
    await store.search(S("a"), 0.0)
    await store.search(S("b"), 0.0)
    partner = await store.leave("a")
    assert partner is not None and partner.sid == "b"
    assert await store.phase_of("a") is Phase.IDLE
    assert await store.phase_of("b") is Phase.IDLE
    assert await store.partner_of("b") is None
    assert await store.leave("a") is None  # leaving twice is harmless


async def test_leave_while_waiting_and_position(store: Store) -> None:
    await join(store, "a", "b")
    await store.search(S("a"), 0.0)
    assert await store.position_of("a") == 1
    assert await store.leave("a") is None
    assert await store.position_of("a") is None
    assert await store.search(S("b"), 1.0) == Queued(1)


@pytest.mark.parametrize("state", ["idle", "waiting", "matched"])
async def test_part_cleans_everything(store: Store, state: str) -> None:
    await join(store, "a", "b")
    if state != "idle":
        await store.search(S("a"), 0.0)
    if state == "matched":
        await store.search(S("b"), 0.0)
    partner = await store.part("a")
    assert (partner.sid if partner else None) == ("b" if state == "matched" else None)
    await store.part("b")
    assert (await store.counts()).empty
    assert await store.phase_of("a") is None
    assert await store.part("a") is None


async def test_interests_and_widening(store: Store) -> None:
    await join(store, "fan", "plain", "fan2")
    music = frozenset({"music"})
    assert await store.search(S("fan", interests=music), 0.0) == Queued(1)
    assert await store.search(S("plain"), 1.0) == Queued(2)
    assert await store.due_to_widen(4.0, WAITS) == []
    assert await store.due_to_widen(5.0, WAITS) == [("fan", WIDE)]
    result = await store.widen(S("fan", interests=music, widened=True), 5.0)
    assert result == Matched(Member("plain", "u-plain", "PLAIN"), 4.0, {})
    assert await store.widen(S("fan", interests=music, widened=True), 5.0) is None  # gone
    assert await store.search(S("fan2", interests=music), 6.0) == Queued(1)


async def test_widen_without_anyone_keeps_waiting(store: Store) -> None:
    await join(store, "fan")
    await store.search(S("fan", interests=frozenset({"music"})), 0.0)
    assert await store.widen(S("fan", interests={"music"}, widened=True), 5.0) == Queued(1)
    await join(store, "plain")
    result = await store.search(S("plain"), 6.0)
    assert isinstance(result, Matched) and result.partner.sid == "fan"


async def test_spoken_languages_are_matched_shared_and_widened(store: Store) -> None:
    """A spoken language (a preference added to ``core.matching`` with no store edit) is
    matched, shared, kept as the partner's options and widened after its own wait, by
    every store."""
    waits = {INTERESTS: 5.0, LANGUAGES: 2.0}

    def speaks(sid: str, languages: str) -> Seeker:
        return Seeker(sid, "u-" + sid, SearchOptions(languages=frozenset(languages.split())))

    await join(store, "fr", "de", "fr2", "plain")
    assert await store.search(speaks("fr", "fr"), 0.0) == Queued(1)
    assert await store.search(speaks("de", "de"), 1.0) == Queued(2)
    found = await store.search(speaks("fr2", "fr en"), 2.0)
    assert found == Matched(
        Member("fr", "u-fr", "FR"),
        2.0,
        {LANGUAGES: frozenset({"fr"})},
        SearchOptions(languages=frozenset({"fr"})),
    )
    assert await store.due_to_widen(2.9, waits) == []
    assert await store.due_to_widen(3.0, waits) == [("de", frozenset({LANGUAGES}))]
    widened = replace(speaks("de", "de"), widened=frozenset({LANGUAGES}))
    assert await store.widen(widened, 3.0) == Queued(1)
    found = await store.search(speaks("plain", ""), 4.0)
    assert isinstance(found, Matched) and found.partner.sid == "de" and found.shared == {}
