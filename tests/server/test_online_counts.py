"""``randomchat.online``'s rounding and its cache, without a server."""

from __future__ import annotations

import asyncio

import pytest

from randomchat.online import CachedCounts, payload, rounded_down
from randomchat.store import Counts, Member, MemoryStore

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, 0),
        (1, 0),
        (9, 0),  # under ten says nothing about who is here
        (10, 10),
        (19, 10),  # down, so "10+" stays true
        (99, 90),
        (100, 100),
        (109, 100),
        (1234, 1200),
        (98765, 98000),
    ],
)
def test_rounded_down_to_two_digits_and_nothing_under_ten(n: int, shown: int) -> None:
    assert rounded_down(n) == shown


def test_payload_rounds_connected_and_waiting() -> None:
    assert payload(Counts(connected=57, waiting=8, pairs=20)) == {"online": 50, "searching": 0}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(self.now * 1000)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def counts(self) -> Counts:
        self.calls += 1
        await asyncio.sleep(0)  # a real store awaits (Redis): let concurrent callers pile up
        return await super().counts()


async def test_one_count_serves_every_request_until_it_is_stale() -> None:
    store, clock = CountingStore(), FakeClock()
    cached = CachedCounts(store, clock, ttl=5.0)
    await store.join(Member("s1", "u1", "One"))
    first = await asyncio.gather(*(cached.get() for _ in range(20)))
    assert store.calls == 1 and all(c.connected == 1 for c in first)
    await store.join(Member("s2", "u2", "Two"))
    clock.now += 4.9
    assert (await cached.get()).connected == 1 and store.calls == 1
    clock.now += 0.1
    assert (await cached.get()).connected == 2 and store.calls == 2
