"""Issue 24 in a real Chromium: "Hide my IP (relay only)" is offered only where a TURN
server can keep the promise, and "IP hidden" shows only when getStats() says the call
really goes through TURN on both sides."""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    LOCAL,
    browser,
    chromium,
    contexts,
    open_and_join,
    start_call,
    wait_remote_playing,
    web_dist,
)
from tests.e2e.test_page_quality import AXE, assert_accessible
from tests.turn.coturn import running_coturn

pytestmark = pytest.mark.browser

# A visitor who ticked "Hide my IP" on an earlier visit, in the key used before choices.v1:
# the page migrates it (web/src/lib/choices.ts), so this also proves the migration in a browser.
REMEMBERED_PRIVACY = "localStorage.setItem('privacy', 'relay')"


def visitor(
    browser: Browser, contexts: list[BrowserContext], url: str, name: str, *, remembered: bool
) -> Page:
    ctx = browser.new_context(
        viewport={"width": 1000, "height": 720}, permissions=["camera", "microphone"]
    )
    contexts.append(ctx)
    if remembered:
        ctx.add_init_script(REMEMBERED_PRIVACY)
    ctx.add_init_script(path=str(AXE))
    page = open_and_join(ctx, url, name)
    page.wait_for_function(f"() => {LOCAL}?.srcObject && {LOCAL}.videoWidth > 0", timeout=10_000)
    return page


def test_without_turn_the_box_is_disabled_with_its_reason(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """The default install (no TURN): the box cannot be ticked and says why; a choice
    remembered from before is dropped, so the search is not refused and the call is an
    ordinary one, without the "IP hidden" badge."""
    alice = visitor(browser, contexts, server.url, "Alice", remembered=True)
    box = alice.get_by_test_id("privacy")
    expect(box).to_be_disabled()
    expect(box).not_to_be_checked()
    reason = alice.get_by_test_id("privacy-reason")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("no relay (TURN) server")
    expect(reason).to_contain_text("can learn your IP address")
    # the reason is the box's description for assistive technology
    described = box.get_attribute("aria-describedby")
    assert described and alice.locator(f"[id='{described}']").inner_text() == reason.inner_text()
    assert_accessible(alice, "privacy unavailable")
    bob = visitor(browser, contexts, server.url, "Bob", remembered=False)
    start_call(alice, bob, "Alice", "Bob")
    wait_remote_playing(alice, deadline=time.monotonic() + 15)
    time.sleep(1.5)  # past the first getStats() reading
    expect(alice.get_by_test_id("relay-badge")).to_have_count(0)
    expect(bob.get_by_test_id("relay-badge")).to_have_count(0)


def test_with_turn_the_box_is_offered_and_the_relayed_call_is_badged(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    with running_coturn(tmp_path) as turn:
        server = server_factory(turn_url=[turn.udp_url], turn_secret=[turn.secret])
        alice = visitor(browser, contexts, server.url, "Alice", remembered=False)
        bob = visitor(browser, contexts, server.url, "Bob", remembered=False)
        box = alice.get_by_test_id("privacy")
        expect(box).to_be_enabled()
        expect(alice.get_by_test_id("privacy-reason")).to_have_count(0)
        box.check()
        start_call(alice, bob, "Alice", "Bob")
        wait_remote_playing(alice, deadline=time.monotonic() + 20)
        for page in (alice, bob):  # one side asked: the call is relay-only for both
            expect(page.get_by_test_id("relay-badge")).to_be_visible(timeout=10_000)
        assert_accessible(alice, "relayed call")
