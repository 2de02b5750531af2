"""A sequence fuzz of two nodes' stores on one real Redis: whatever the order of joins,
searches, leaves, disconnects, widening, late beats and a node's eviction, Redis stays
consistent, and once everyone has gone it holds nothing.

Consistent means, after every step: every pair is mutual; every record in a phase is
where that phase says (a waiting one in its mode's queue and lists, a paired one in no
queue); every queue entry has a waiting record; the pair count is the number of pairs;
each node's list of sids is exactly the records of its sockets. The gateway-level fuzz
(tests/server/test_sequence_fuzz.py) covers one server's sockets and timers; this one
covers what two nodes do to the shared state, the part a second node adds.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from redis.asyncio import Redis

from randomchat.core.matching import EMPTY, Seeker, Waiting, entry_lists
from randomchat.store import Member, options_codec
from randomchat.store.redis import RedisStore
from tests.matchers import make_seeker
from tests.redisserver import RedisServer

pytestmark = pytest.mark.process

SOCKETS = 6  # three per node
TAGS = ["chess", "music"]
_prefixes = itertools.count()


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TwoNodes(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    redis: Redis  # one client for every run: each run has its own key prefix

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"f{next(_prefixes)}:"
        self.nodes = [RedisStore(self.redis, f"n{i}", self.prefix) for i in (1, 2)]
        self.connected: set[str] = set()
        self.options: dict[str, tuple[frozenset[str], bool]] = {}  # of the last search
        self.now = 0.0

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def node(self, sid: str) -> RedisStore:
        return self.nodes[0] if sid.startswith("n1.") else self.nodes[1]

    def seeker(self, sid: str) -> Seeker:
        """``sid`` searching again with the options of its last search (as the lobby's)."""
        return make_seeker(sid, "u-" + sid, *self.options.get(sid, (EMPTY, False)))

    sids = st.sampled_from([f"n{1 + i % 2}.s{i}" for i in range(SOCKETS)])

    @rule(sid=sids)
    def join(self, sid: str) -> None:
        if sid not in self.connected:
            self.run(self.node(sid).join(Member(sid, "u-" + sid, sid)))
            self.connected.add(sid)

    @rule(sid=sids, tags=st.sets(st.sampled_from(TAGS), max_size=2), strict=st.booleans())
    def search(self, sid: str, tags: set[str], strict: bool) -> None:
        if sid in self.connected:
            self.now += 1.0
            self.options[sid] = (frozenset(tags), strict and bool(tags))
            seeker = make_seeker(sid, "u-" + sid, *self.options[sid])
            try:
                self.run(self.node(sid).search(seeker, self.now))
            except Exception as exc:  # already waiting or paired: refused, nothing changes
                assert type(exc).__name__ == "IllegalMove", exc

    @rule(sids=st.lists(sids, min_size=2, max_size=4, unique=True))
    def search_at_once(self, sids: list[str]) -> None:
        """Several nodes' searches interleaved in Redis, as concurrent requests are."""
        self.now += 1.0

        async def one(sid: str) -> None:
            self.options[sid] = (EMPTY, False)
            try:
                await self.node(sid).search(make_seeker(sid, "u-" + sid), self.now)
            except Exception as exc:
                assert type(exc).__name__ == "IllegalMove", exc

        async def all_of() -> None:
            await asyncio.gather(*(one(sid) for sid in sids if sid in self.connected))

        self.run(all_of())

    @rule(sid=sids)
    def leave(self, sid: str) -> None:
        if sid in self.connected:
            self.run(self.node(sid).leave(sid))

    @rule(sid=sids)
    def disconnect(self, sid: str) -> None:
        if sid in self.connected:
            self.run(self.node(sid).part(sid))
            self.connected.discard(sid)

    @rule()
    def widen(self) -> None:
        self.now += 10.0
        for node in self.nodes:
            for sid, widened in self.run(node.due_to_widen(self.now, {"interests": 5.0})):
                seeker = replace(self.seeker(sid), widened=widened)
                self.run(node.widen(seeker, self.now))

    @rule(sid=sids)
    def look_again(self, sid: str) -> None:
        if sid in self.connected:
            self.run(self.node(sid).look_again(self.seeker(sid), self.now))

    @rule(index=st.sampled_from([0, 1]))
    def evict(self, index: int) -> None:
        """The node died: the other evicts it; its sockets are gone with it."""
        node = self.nodes[index]
        self.run(self.nodes[1 - index].evict_node(node.node))
        self.connected = {sid for sid in self.connected if self.node(sid) is not node}
        self.nodes[index] = RedisStore(self.redis, node.node, self.prefix)  # restarted

    @invariant()
    def consistent(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        p = self.prefix + "{lobby}:"
        records: dict[str, dict[str, str]] = {}
        async for key in self.redis.scan_iter(match=f"{p}m:*"):
            sid = text(key)[len(f"{p}m:") :]
            records[sid] = {text(k): text(v) for k, v in (await self.redis.hgetall(key)).items()}
        pairs = 0
        for sid, record in records.items():
            assert sid in self.connected, f"{sid} has gone but its record stayed"
            phase = record["ph"]
            assert phase in ("w", "m"), f"{sid}: an idle socket keeps no record ({phase})"
            if phase == "m":
                other = records.get(record["pt"])
                assert other is not None and other["ph"] == "m" and other["pt"] == sid, sid
                pairs += 1
            in_queue = await self.redis.zscore(f"{p}q:video", sid) is not None
            assert in_queue == (phase == "w"), f"{sid}: phase {phase}, queued {in_queue}"
            if phase == "w":  # on exactly the lists its options and widening name
                entry = Waiting(
                    sid,
                    record["u"],
                    float(record["since"]),
                    options_codec.decode(record["op"]),
                    frozenset(n for n in record["wd"].split("\x1f") if n),
                )
                lists = [f"{p}ql:video:{name}" for name in entry_lists(entry)]
                assert record["ix"].split("\x1f") == [f"{p}q:video", *lists], record
                for key in lists:
                    assert await self.redis.zscore(key, sid) is not None, (sid, key)
        index_keys = [text(k) async for k in self.redis.scan_iter(match=f"{p}ql:*")]
        for key in [f"{p}q:video", *index_keys]:
            for sid in await self.redis.zrange(key, 0, -1):
                assert records.get(text(sid), {}).get("ph") == "w", f"{sid!r} in {key}"
        assert int(await self.redis.hget(f"{p}stats", "pairs") or 0) * 2 == pairs
        for node in self.nodes:
            listed = {text(s) for s in await self.redis.smembers(f"{p}sids:{node.node}")}
            mine = {sid for sid in records if self.node(sid).node == node.node}
            assert listed == mine, (node.node, listed, mine)

    def teardown(self) -> None:
        for sid in sorted(self.connected):
            self.run(self.node(sid).part(sid))
        self.connected.clear()
        self.run(self._check())
        left = self.run(self._keys())
        assert not left, left

    async def _keys(self) -> list[str]:
        keys = [text(k) async for k in self.redis.scan_iter(match=f"{self.prefix}*")]
        # The arrival counter and the pair count (back at 0) stay: counters, not state.
        return [k for k in keys if not k.endswith((":seq", ":stats"))]


@pytest.fixture
def fuzz_redis(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, Redis]]:
    server = RedisServer(tmp_path)
    server.start()
    loop = asyncio.new_event_loop()
    redis = Redis.from_url(server.url)
    try:
        yield loop, redis
    finally:
        loop.run_until_complete(redis.aclose())
        loop.close()
        server.stop()


def test_two_nodes_leave_redis_consistent_and_then_empty(
    fuzz_redis: tuple[asyncio.AbstractEventLoop, Redis],
) -> None:
    TwoNodes.loop, TwoNodes.redis = fuzz_redis
    run_state_machine_as_test(
        TwoNodes,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
