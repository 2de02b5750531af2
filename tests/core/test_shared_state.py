"""The shared-state seams (store/shared.py), one suite for every implementation.

Only the in-memory implementations exist today; a shared one (Redis) joins the
``params`` of each fixture and must pass the same tests unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from randomchat.core.ratelimit import Limit
from randomchat.db import ChatLine, Database
from randomchat.store.shared import (
    Blocks,
    CallRecord,
    Calls,
    Limits,
    Meetings,
    MemoryBlocks,
    MemoryCalls,
    MemoryLimits,
    MemoryMeetings,
)


@pytest.fixture(params=["memory"])
def meetings(request: Any) -> Meetings:
    return MemoryMeetings(window=600)


@pytest.fixture(params=["memory"])
def calls(request: Any) -> Calls:
    return MemoryCalls()


@pytest.fixture(params=["memory"])
def limits(request: Any) -> Limits:
    return MemoryLimits({"find": Limit.one_per(1000), "chat": Limit(rate=5, burst=2)})


@pytest.fixture(params=["memory"])
async def blocks(request: Any, tmp_path: Any) -> AsyncIterator[Blocks]:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'blocks.db'}")
    yield MemoryBlocks(db)
    await db.close()


async def test_meetings_window_and_previous(meetings: Meetings) -> None:
    await meetings.record("a", "b", 100.0)
    await meetings.record("a", "c", 200.0)
    assert await meetings.recent("a", 750.0) == {"c"}
    assert await meetings.recent("b", 750.0) == set()
    assert await meetings.previous("a") == "c" and await meetings.previous("b") == "a"
    await meetings.prune(10_000.0)
    assert len(meetings) == 0


async def test_blocks_apply_both_ways_and_survive_a_prune(blocks: Blocks) -> None:
    assert await blocks.excluded("a") == set()
    await blocks.add("a", "b", 0.0)
    assert await blocks.excluded("a") == {"b"} and await blocks.excluded("b") == {"a"}
    await blocks.prune(keep=set())
    assert await blocks.excluded("b") == {"a"}  # the database keeps them


async def test_calls_keep_chat_for_both_sides_and_claim_once(calls: Calls) -> None:
    await calls.start("sa", CallRecord("sb", "ub"))
    await calls.start("sb", CallRecord("sa", "ua"))
    await calls.add_chat(("sa", "sb", "gone"), ChatLine("ua", "hi", 1.0))
    first, second = await calls.get("sa"), await calls.get("sb")
    assert first is not None and second is not None
    assert [line.text for line in first.chat] == [line.text for line in second.chat] == ["hi"]
    assert await calls.claim("sa", "reported") is True
    assert await calls.claim("sa", "reported") is False  # one report per call
    assert await calls.claim("sb", "reported") is True  # each side claims its own
    assert await calls.claim("nobody", "blocked") is False
    await calls.start("sa", CallRecord("sc", "uc"))  # a new call starts clean
    assert await calls.claim("sa", "reported") is True
    await calls.forget("sa")
    assert await calls.get("sa") is None


async def test_limits_per_name_and_key(limits: Limits) -> None:
    assert await limits.take("find", "u", 0.0) == 0.0
    assert await limits.take("find", "u", 0.5) == pytest.approx(0.5)
    assert await limits.take("find", "v", 0.5) == 0.0  # per key
    assert await limits.take("chat", "u", 0.5) == 0.0  # per name
    await limits.prune(100.0)
    assert len(limits) == 0
