"""``cancel_and_wait``: background tasks end for certain, and their caller stays cancellable."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from randomchat.tasks import cancel_and_wait

pytestmark = pytest.mark.pure


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def stubborn() -> None:  # as a loop around a redis-py command may behave
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed == 2:
                    raise
                swallowed += 1

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task, task]), 10)
    assert task.cancelled()
    assert swallowed == 2


async def test_the_caller_can_still_be_cancelled() -> None:
    stop = asyncio.Event()

    async def deaf() -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    task = asyncio.create_task(deaf())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cancel_and_wait([task]))
    await asyncio.sleep(0.3)  # a few rounds of cancelling again
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    stop.set()
    task.cancel()
    await asyncio.wait([task])


async def test_a_task_that_had_failed_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    await asyncio.wait([task])
    with caplog.at_level(logging.ERROR, "randomchat.tasks"):
        await cancel_and_wait([task])
    assert [r.exc_info[1] for r in caplog.records if r.exc_info] == [task.exception()]
