"""Issue 24 on the page, in real Chromium with fake cameras against a real server: a
partner who skipped is reported, or blocked, from the between-calls screen ("Your last
call"), on a 390x844 phone and on a desktop, with no axe-core violations there.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    MESSAGES,
    browser,
    chromium,
    contexts,
    open_and_join,
    say,
    start_call,
    web_dist,
)
from tests.e2e.test_page_quality import assert_accessible
from tests.e2e.test_resilience import CHOOSE_CONNECT_TIMEOUT
from tests.e2e.test_safety_page import visitor

pytestmark = pytest.mark.browser

SIZES = pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])


def joined(
    browser: Browser, contexts: list[BrowserContext], url: str, name: str, phone: bool
) -> Page:
    page = open_and_join(visitor(browser, contexts, phone=phone), url, name)
    # Instant auto-search would pair the two again at once where the repeat window is 0.
    if phone:  # a phone keeps the search choices in the settings sheet
        page.get_by_test_id("sheet-open").click()
    page.get_by_test_id("auto-search").uncheck()
    if phone:
        page.keyboard.press("Escape")
    return page


def reports(srv: Any, at_least: int = 1) -> list[dict[str, Any]]:
    """The stored reports, once there are ``at_least`` (the page tells the user at once;
    the server's answer comes a moment later): up to 10 s."""
    admin = srv.token("Admin", sub="u-admin", role="admin")
    deadline = time.monotonic() + 10
    while True:
        answer = httpx.get(
            srv.url + "/api/admin/reports", headers={"Authorization": f"Bearer {admin}"}, timeout=5
        )
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["reports"]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@SIZES
def test_a_partner_who_skipped_is_reported_from_the_between_calls_screen(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext], phone: bool
) -> None:
    srv = server_factory(find_rate_limit_ms=0)
    alice = joined(browser, contexts, srv.url, "Alice", phone)
    bob = joined(browser, contexts, srv.url, "Bob", False)
    start_call(alice, bob, "Alice", "Bob")
    expect(alice.get_by_test_id("last-call")).to_have_count(0)  # in the call: the chat's buttons
    say(bob, "look at this")
    say(alice, "no thanks")
    expect(alice.locator(MESSAGES)).to_have_text(["look at this", "no thanks"])

    bob.get_by_test_id("next").click()  # flashed and skipped
    last = alice.get_by_test_id("last-call")
    expect(last).to_be_visible(timeout=10_000)
    expect(last).to_be_in_viewport()
    expect(alice.get_by_test_id("last-call-name")).to_have_text("Bob")
    assert_accessible(alice, "between calls with the last call")

    alice.get_by_test_id("last-call-report").click()
    dialog = alice.get_by_test_id("report-dialog")
    expect(dialog).to_be_visible()
    alice.get_by_test_id("report-reason").select_option("nudity")
    alice.get_by_test_id("report-submit").click()
    expect(dialog).to_be_hidden()
    expect(alice.get_by_test_id("notice")).to_contain_text("You reported Bob")
    expect(last).to_have_count(0)  # reported: nothing left to do about that call

    (report,) = reports(srv)
    assert report["reason"] == "nudity"
    assert [line["text"] for line in report["chat"]] == ["look at this", "no thanks"]
    assert_accessible(alice, "between calls after a late report")


@SIZES
def test_a_block_after_a_skip_keeps_the_two_apart(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext], phone: bool
) -> None:
    # No repeat window: without the block the two would be paired again at once.
    srv = server_factory(find_rate_limit_ms=0, repeat_window_minutes=0)
    alice = joined(browser, contexts, srv.url, "Alice", phone)
    bob = joined(browser, contexts, srv.url, "Bob", False)
    start_call(alice, bob, "Alice", "Bob")
    bob.get_by_test_id("next").click()  # Bob skips and waits for someone new
    expect(bob.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    expect(alice.get_by_test_id("last-call-name")).to_have_text("Bob", timeout=10_000)
    alice.get_by_test_id("last-call-block").click()
    expect(alice.get_by_test_id("notice")).to_contain_text("You blocked Bob")
    expect(alice.get_by_test_id("last-call")).to_have_count(0)
    alice.get_by_test_id("start").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    # The server answers a search in milliseconds: had the block not held, they would be
    # partners by now (the same test without the block pairs them: the window is 0).
    alice.wait_for_timeout(1500)
    for page in (alice, bob):
        expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
        expect(page.get_by_test_id("partner-name")).to_have_count(0)


def test_a_call_that_never_connected_is_not_called_paused_nor_a_skip(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Alice's page can make no ICE path and gives up at her connect timeout: Bob, whose
    side was still connecting, reads neither "Video paused" nor that Alice skipped him,
    and can still report her from "Your last call"."""
    srv = server_factory(find_rate_limit_ms=0)
    alice = open_and_join(visitor(browser, contexts), srv.url, "Alice")
    alice.add_init_script("window.__rcTest = { dropIce: true };")
    bob = open_and_join(visitor(browser, contexts, phone=True), srv.url, "Bob")
    # Alice gives up first (10 s); Bob would wait a minute.
    for page, seconds in ((alice, 10), (bob, 60)):
        page.evaluate(CHOOSE_CONNECT_TIMEOUT, seconds)
        page.reload()
        expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    start_call(alice, bob, "Alice", "Bob")
    state = bob.get_by_test_id("partner-video-state")
    expect(state).to_have_text("Connecting…", timeout=10_000)  # the track came, no media yet
    notice = bob.get_by_test_id("notice")
    expect(notice).to_contain_text("left before the call connected", timeout=20_000)
    assert "skipped" not in notice.inner_text()
    expect(bob.get_by_test_id("last-call-name")).to_have_text("Alice")
    assert_accessible(bob, "after a call that never connected, on a phone")
