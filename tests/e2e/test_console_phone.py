"""The console on a 390 x 844 phone in real Chromium (issue 24): nicknames beside ids,
undo after dismiss and ban, a compact header, tables as cards, no horizontal scroll.

One user is reported twice under two names (the second looks like markup, and must
show as text); the console shows each report's name, the other as an earlier name,
and the user's names in their history. ``d`` then Undo keeps the report open and
sends nothing; a dismissal left alone is sent after the 5 s window; a ban is in force
at once and Undo lifts it on the server. Every view fits the screen and axe-core
finds nothing. Figures (header height, widest page) are printed, not asserted on
times.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    browser,
    chromium,
    contexts,
    web_dist,
)
from tests.e2e.test_console import (  # noqa: F401 (fixtures)
    add_account,
    console_built,
    sign_in,
)
from tests.e2e.test_page_quality import AXE, assert_accessible
from tests.server.harness import Peer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
REX = "u-rex"
FIRST, SECOND = "Rex", "<i>Rexy</i>"  # the second would be markup if not escaped
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
STATUS_COUNT = """async (status) => {
  const r = await fetch('/api/console/reports?status=' + status);
  return (await r.json()).reports.length;
}"""
ACTIVE_BANS = "async () => (await (await fetch('/api/console/bans')).json()).bans.length"
BAN = """async (userId) => (await fetch('/api/console/bans', {
  method: 'POST',
  headers: { 'X-Requested-With': 'randomchat-console', 'Content-Type': 'application/json' },
  body: JSON.stringify({ userId, hours: 1, reason: 'a long reason that has to wrap on a phone' }),
})).status"""


async def report_rex(server: Any, reporter: str, shown_as: str) -> None:
    """``reporter`` meets Rex (the same user id, under ``shown_as``) and reports him."""
    rex = await Peer(shown_as).connect(server.url, token=server.token(shown_as, sub=REX))
    them = await Peer(reporter).connect(server.url, token=server.token(reporter))
    for peer in (rex, them):
        await peer.expect("connection-quality")
    await rex.emit("find-partner")
    await rex.expect("waiting-for-partner")
    await them.emit("find-partner")
    await them.expect("match-found")
    await them.emit("report-partner", {"reason": "spam", "note": "links"})
    await them.expect("report-partner-ack")
    await asyncio.gather(rex.close(), them.close())


def file_reports(server: Any) -> None:
    async def both() -> None:
        await report_rex(server, "Rita", FIRST)
        await report_rex(server, "Rosa", SECOND)

    # On a thread of its own: Playwright's sync API keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, both()).result(timeout=60)


def open_phone_console(browser: Browser, contexts: list[BrowserContext], url: str) -> Page:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in web/ (axe-core is a dev dependency)")
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3)
    contexts.append(ctx)
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)  # records CSP violations (checked by ``contexts``)
    page.add_init_script(path=str(AXE))
    page.goto(url + "/admin")
    expect(page.get_by_test_id("signin-name")).to_be_visible(timeout=10_000)
    return page


def fits(page: Page, view: str) -> None:
    """Nothing wider than the screen, and no accessibility violation, in ``view``."""
    page.wait_for_timeout(100)  # let layout settle after a tab switch
    overflow = int(page.evaluate(OVERFLOW))
    print(f"console phone {view}: {overflow} px wider than the screen")
    assert overflow <= 0, f"{view}: the page is {overflow} px wider than 390"
    assert_accessible(page, f"console on a phone: {view}")


def test_console_on_a_phone_names_undo_and_no_sideways_scroll(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    server = server_factory(find_rate_limit_ms=0)  # Rex searches twice within a second
    add_account(server, "root", "admin")
    file_reports(server)
    console = open_phone_console(browser, contexts, server.url)
    fits(console, "sign-in")
    sign_in(console, "root")
    expect(console.get_by_test_id("signed-in-as")).to_contain_text("root (admin)")

    # A compact header: the brand, who and sign-out on one line, the tabs on the next.
    header = console.locator(".console-top").bounding_box()
    assert header is not None
    print(f"console phone header: {header['height']:.0f} px of 844")
    assert header["height"] < 844 / 8, header

    # Names beside ids, as given: the markup-like name is text, the other is "earlier".
    rows = console.get_by_test_id("report-row")
    expect(rows).to_have_count(2, timeout=10_000)
    expect(rows.nth(0).get_by_test_id("row-name")).to_have_text(SECOND)
    expect(rows.nth(0)).to_contain_text(REX)
    expect(rows.nth(0)).to_contain_text(f"also {FIRST}")
    expect(rows.nth(1).get_by_test_id("row-name")).to_have_text(FIRST)
    expect(rows.nth(1)).to_contain_text(f"also {SECOND}")
    assert console.locator(".queue i").count() == 0  # no element came out of a name
    expect(console.get_by_test_id("detail-reported-name")).to_have_text(SECOND)
    expect(console.get_by_test_id("detail-reported")).to_have_text(REX)
    expect(console.get_by_test_id("detail-earlier-names")).to_have_text(f"also {FIRST}")
    expect(console.get_by_test_id("history-reported-names")).to_have_text(
        f"Names: {SECOND}, {FIRST}"
    )
    fits(console, "report queue")

    # d, then Undo: the report leaves the queue for the window and comes back; nothing sent.
    rows.nth(0).click()
    console.keyboard.press("d")
    toast = console.get_by_test_id("undo-toast")
    expect(toast).to_be_visible()
    expect(rows).to_have_count(1)
    fits(console, "undo toast")
    console.get_by_test_id("undo").click()
    expect(toast).to_be_hidden()
    expect(rows).to_have_count(2)
    expect(console.get_by_test_id("console-message")).to_contain_text("Kept report")
    console.wait_for_timeout(5_500)  # past the window: an undone dismissal never goes out
    assert console.evaluate(STATUS_COUNT, "dismissed") == 0
    assert console.evaluate(STATUS_COUNT, "open") == 2

    # A dismissal left alone is sent when the window closes.
    console.get_by_test_id("action-dismiss").click()
    expect(toast).to_be_visible()
    expect(toast).to_be_hidden(timeout=10_000)
    expect(console.get_by_test_id("console-message")).to_contain_text("Dismissed report")
    assert console.evaluate(STATUS_COUNT, "dismissed") == 1

    # A ban holds at once; Undo lifts it on the server and the report is open again.
    expect(rows).to_have_count(1)
    console.get_by_test_id("action-ban").click()
    console.get_by_test_id("ban-reason").fill("spam links")
    fits(console, "ban form")
    console.get_by_test_id("ban-confirm").click()
    expect(toast).to_be_visible()
    expect(console.get_by_test_id("queue-empty")).to_be_visible()
    assert console.evaluate(ACTIVE_BANS) == 1
    console.get_by_test_id("undo").click()
    expect(console.get_by_test_id("console-message")).to_contain_text("Ban undone")
    expect(rows).to_have_count(1)
    assert console.evaluate(ACTIVE_BANS) == 0

    # The other views, as cards: nothing sideways, the audit log says what happened.
    console.get_by_test_id("tab-audit").click()
    audit = console.get_by_test_id("audit-row")
    expect(audit.first).to_be_visible()
    expect(console.locator("[data-testid=audit-row][data-action=unban]")).to_contain_text(
        "undone by the moderator"
    )
    fits(console, "audit log")
    # A ban with a 64-character id, so that the bans view has a card to lay out.
    assert console.evaluate(BAN, "g-" + "f" * 62) == 201
    for tab in ("bans", "now", "accounts"):
        console.get_by_test_id(f"tab-{tab}").click()
        fits(console, tab)
