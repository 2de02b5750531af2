"""Stopping background tasks for certain, even when a library swallows the cancellation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

RECANCEL = 0.1  # seconds before a task still running is cancelled again


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and return once every one has ended.

    A cancellation that lands inside a redis-py command can be swallowed: the command
    returns as if nothing had happened (redis/redis-py#2028; with redis-py 8.1 here,
    about half of the cancellations that hit a command). A loop task then runs on, and
    awaiting it hangs the node's shutdown. So a task still running is cancelled again
    every ``RECANCEL`` seconds until it ends. Unlike ``suppress(CancelledError)``
    around ``await task``, this never swallows the cancellation of its caller.
    """
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
