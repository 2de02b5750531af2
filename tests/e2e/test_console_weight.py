"""The console explains a report's weight where it shows it: "counts 0.1" in the queue with
the explanation on hover, and in the detail the bare number with the explanation beside it."""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    browser,
    chromium,
    contexts,
    web_dist,
)
from tests.e2e.test_console import (  # noqa: F401 (fixtures)
    add_account,
    console_built,
    open_console,
    sign_in,
)
from tests.e2e.test_page_quality import assert_accessible
from tests.server.harness import Peer

pytestmark = pytest.mark.browser

HELP = re.compile(r"^How much this report counts towards an automatic cool-down: from 0\.01 ")


async def file_report(server: Any) -> None:
    """Two Socket.IO users meet and one reports the other (no pages needed for that)."""
    reporter = await Peer("Rita").connect(server.url, token=server.token("Rita"))
    reported = await Peer("Rex").connect(server.url, token=server.token("Rex"))
    for peer in (reporter, reported):
        await peer.expect("connection-quality")
    await reported.emit("find-partner")
    await reported.expect("waiting-for-partner")
    await reporter.emit("find-partner")
    await reporter.expect("match-found")
    await reporter.emit("report-partner", {"reason": "spam", "note": "links"})
    await reporter.expect("report-partner-ack")
    await asyncio.gather(reporter.close(), reported.close())


def test_console_says_what_a_report_weight_means(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    add_account(server, "root", "admin")
    # On a thread of its own: Playwright's sync API keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, file_report(server)).result(timeout=30)
    console = open_console(browser, contexts, server.url)
    sign_in(console, "root")
    row = console.get_by_test_id("report-row")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text(re.compile(r"counts \d+(\.\d+)?"))
    expect(row).not_to_contain_text("weight")
    expect(row.get_by_title(HELP)).to_have_count(1)
    # the number stays bare (test_console reads it as one); the help line is beside it
    expect(console.get_by_test_id("detail-weight")).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    expect(console.get_by_test_id("detail-weight-help")).to_have_text(HELP)
    expect(console.get_by_test_id("detail-weight-help")).to_be_visible()
    assert_accessible(console, "console report with its weight explained")
