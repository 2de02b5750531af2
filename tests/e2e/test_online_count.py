"""The screen between calls shows how many people are online and searching (GET /api/online),
on a phone, from a real server counting real connections."""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    browser,
    chromium,
    contexts,
    web_dist,
)
from tests.e2e.test_page_quality import assert_accessible, join_phone
from tests.server.harness import Peer

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def crowd(server: Any, searching: int, idle: int) -> Iterator[None]:
    """``searching + idle`` Socket.IO users on their own event loop (the test is sync):
    the searchers cannot pair (strict, each its own interest), so they all wait."""
    ready, done = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def run() -> None:
        peers: list[Peer] = []
        try:
            for i in range(searching + idle):
                peer = await Peer(f"crowd{i}").connect(server.url, token=server.token(f"crowd{i}"))
                peers.append(peer)
                await peer.expect("connection-quality")
                if i < searching:
                    await peer.emit("find-partner", {"interests": [f"topic{i}"], "strict": True})
                    await peer.expect("waiting-for-partner")
        except BaseException as exc:
            failed.append(exc)
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, done.wait)
        await asyncio.gather(*(p.close() for p in peers))

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    ready.wait(30)
    try:
        assert ready.is_set() and not failed, f"the crowd did not connect: {failed}"
        yield
    finally:
        done.set()
        thread.join(30)


def test_phone_shows_people_online_between_calls(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    # Connected before the page asks (the server keeps a count for 5 s): 10 searching,
    # 1 idle, and the phone itself make 12 online, shown as 10+.
    with crowd(server, searching=10, idle=1):
        phone = join_phone(browser, contexts, server.url, "Phone")
        figure = phone.get_by_test_id("online-count")
        expect(figure).to_have_text("Online now: 10+ · looking for someone: 10+", timeout=10_000)
        expect(figure).to_have_attribute("role", "status")
        expect(figure).to_be_in_viewport()
        assert_accessible(phone, "idle, with the people online")
