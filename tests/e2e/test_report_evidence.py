"""Issue 24's evidence for moderators, end to end in real Chromium with fake cameras
against a real ``randomchat serve``: the report dialog takes a still of the partner's
video, shows it blurred and attaches it (ticked by default for nudity); the console shows
it blurred until clicked; dismissing the report deletes it. axe-core finds no violations
in the dialog with its picture nor in the console showing one.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    REMOTE,
    browser,
    chromium,
    contexts,
    open_and_join,
    start_call,
    web_dist,
)
from tests.e2e.test_console import (  # noqa: F401 (fixture)
    add_account,
    console_built,
    open_console,
    sign_in,
)
from tests.e2e.test_page_quality import assert_accessible
from tests.e2e.test_safety_page import visitor

pytestmark = pytest.mark.browser

PICTURE = """
async (path) => {
  const r = await fetch(path, { credentials: 'same-origin' });
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, type: r.headers.get('content-type'),
           cache: r.headers.get('cache-control'), size: bytes.length,
           jpeg: bytes[0] === 0xff && bytes[1] === 0xd8 };
}
"""
FILTER = "(img) => getComputedStyle(img).filter"
LOADED = "(img) => img.complete && img.naturalWidth"


def picture(page: Page, report_id: int) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(PICTURE, f"/api/console/reports/{report_id}/picture")
    return found


def test_a_still_of_the_partner_goes_with_the_report_into_the_console_and_out_on_dismiss(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(find_rate_limit_ms=0)
    add_account(srv, "mod", "moderator")
    alice = open_and_join(visitor(browser, contexts), srv.url, "Alice")
    bob = open_and_join(visitor(browser, contexts), srv.url, "Bob")
    start_call(alice, bob, "Alice", "Bob")
    alice.wait_for_function(f"() => {REMOTE}?.videoWidth > 0", timeout=10_000)

    # The dialog offers the still, blurred; nudity ticks it, until the user chooses.
    alice.get_by_test_id("report").click()
    dialog = alice.get_by_test_id("report-dialog")
    expect(dialog).to_be_visible()
    still = alice.get_by_test_id("report-picture")
    expect(still).to_be_visible()
    assert "blur" in still.evaluate(FILTER)
    attach = alice.get_by_test_id("report-attach")
    expect(attach).not_to_be_checked()
    alice.get_by_test_id("report-reason").select_option("harassment")
    expect(attach).not_to_be_checked()
    alice.get_by_test_id("report-reason").select_option("nudity")
    expect(attach).to_be_checked()
    assert_accessible(alice, "report dialog with a picture")
    alice.get_by_test_id("report-submit").click()
    expect(dialog).to_be_hidden()
    expect(alice.get_by_test_id("notice")).to_contain_text("You reported Bob")

    # The console: blurred until clicked, then shown; served only to the session.
    console = open_console(browser, contexts, srv.url)
    sign_in(console, "mod")
    expect(console.get_by_test_id("report-row")).to_have_count(1, timeout=10_000)
    expect(console.get_by_test_id("report-detail")).to_contain_text("nudity")
    img = console.get_by_test_id("report-picture-img")
    expect(img).to_have_attribute("data-revealed", "false")
    console.wait_for_function(f"() => ({LOADED})(document.querySelector('{IMG}'))")
    assert "blur" in img.evaluate(FILTER)
    width = int(img.evaluate("(img) => img.naturalWidth"))
    assert 0 < width <= 640
    assert_accessible(console, "console report with a blurred picture")
    console.get_by_test_id("picture-reveal").click()
    expect(img).to_have_attribute("data-revealed", "true")
    assert img.evaluate(FILTER) == "none"
    expect(console.get_by_test_id("picture-reveal")).to_have_attribute("aria-pressed", "true")
    source = img.get_attribute("src") or ""
    match = re.fullmatch(r"/api/console/reports/(\d+)/picture", source)
    assert match, source
    report_id = int(match[1])
    served = picture(console, report_id)
    assert served["status"] == 200 and served["jpeg"] and served["cache"] == "no-store"
    assert served["type"] == "image/jpeg" and served["size"] <= 100_000
    # Another browser without a console session gets nothing.
    outsider = picture(bob, report_id)
    assert outsider["status"] == 401 and not outsider["jpeg"]

    # Dismissed (after the undo window): the picture is deleted.
    console.get_by_test_id("action-dismiss").click()
    expect(console.get_by_test_id("console-message")).to_have_text(
        f"Dismissed report #{report_id}", timeout=15_000
    )
    assert picture(console, report_id)["status"] == 404
    print(f"\nreport picture: {served['size']} bytes, {width} px wide")


IMG = "[data-testid=report-picture-img]"
