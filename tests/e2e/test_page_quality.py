"""The page as a real site in real Chromium: it keeps its own Content-Security-Policy
through a whole call, it is installable (manifest, icons, favicon), text in any
script arrives intact and takes its own direction, and axe-core finds no
accessibility violations in the idle, searching, in-call, dialog and banned states.

axe-core is the npm package in web/node_modules (a dev dependency of the page);
it is loaded as a Playwright init script, which the page's CSP does not govern.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    MESSAGES,
    ONE_REPORT_BANS,
    ROOT,
    WEB,
    browser,
    chromium,
    contexts,
    csp_violations,
    expect_partner,
    join,
    open_and_join,
    start_call,
    wait_remote_playing,
    web_dist,
)

pytestmark = pytest.mark.browser

AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"

# Every rule axe runs by default (WCAG 2.x A and AA, best practices), and the
# experimental check that a control's accessible name contains its visible label.
AXE_RUN = """
async () => {
  const result = await axe.run(document, {
    rules: { 'label-content-name-mismatch': { enabled: true } },
  });
  return result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary),
  }));
}
"""


def assert_accessible(page: Page, state: str) -> None:
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    assert violations == [], f"axe-core in the {state} state:\n" + json.dumps(violations, indent=1)


def visit_with_axe(browser: Browser, contexts: list[BrowserContext], url: str, name: str) -> Page:
    """Like ``join``, with axe-core loaded into the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in web/ (axe-core is a dev dependency)")
    page = join(browser, contexts, url, name)
    # init scripts run on the next load: reload once so the page has axe
    page.context.add_init_script(path=str(AXE))
    page.reload()
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    return page


def test_page_keeps_its_csp_through_a_call_and_is_installable(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Video, WebSocket, styles and chat under the served CSP (the ``contexts``
    fixture fails the test on any violation); manifest and icons load."""
    alice = join(browser, contexts, server.url, "Alice")
    bob = join(browser, contexts, server.url, "Bob")
    start_call(alice, bob, "Alice", "Bob")
    wait_remote_playing(alice, deadline=time.monotonic() + 15)
    alice.get_by_test_id("chat-input").fill("hello")
    alice.get_by_test_id("chat-input").press("Enter")
    expect(bob.locator(MESSAGES)).to_have_text(["hello"])
    for page in (alice, bob):
        assert csp_violations(page) == []

    manifest = alice.evaluate(
        """async () => {
          const link = document.querySelector('link[rel=manifest]');
          const body = await (await fetch(link.href)).json();
          const icons = [];
          for (const icon of body.icons) {
            const r = await fetch(icon.src);
            icons.push({ ...icon, status: r.status, type: r.headers.get('content-type') });
          }
          const favicon = await fetch(document.querySelector('link[rel=icon]').href);
          return { ...body, icons, favicon: favicon.status };
        }"""
    )
    assert manifest["name"] and manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["favicon"] == 200
    sizes = {i["sizes"] for i in manifest["icons"] if i["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    assert all(i["status"] == 200 for i in manifest["icons"])
    # no source map is built or served
    assert not list(Path(WEB / "dist").rglob("*.map"))


# A ZWJ sequence (woman technologist), Hebrew with a final question mark, and a
# Persian word held together by a ZWNJ.
CODER = "\U0001f469\u200d\U0001f4bb"
HEBREW = "שלום, מה שלומך?"
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want"


def test_zwj_emoji_and_rtl_text_arrive_intact_and_take_their_direction(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    coder_name, hebrew_name = f"{CODER} Ada", "\u05d3\u05e0\u05d4"  # names in any script too
    alice = join(browser, contexts, server.url, coder_name)
    bob = join(browser, contexts, server.url, hebrew_name)
    start_call(alice, bob, coder_name, hebrew_name)  # partner-name shows each exactly
    box = alice.get_by_test_id("chat-input")
    for text in (f"I am a {CODER}", HEBREW, PERSIAN):
        box.fill(text)  # an IME or a paste: the whole text at once
        box.press("Enter")
        expect(box).to_have_value("")
    sent = [f"I am a {CODER}", HEBREW, PERSIAN]
    for page in (bob, alice):
        expect(page.locator(MESSAGES)).to_have_count(3)
        got = page.eval_on_selector_all(
            "[data-testid=chat-log] li:is([data-kind=own], [data-kind=partner]) .chat-text",
            "els => els.map((e) => [e.textContent, e.dir, getComputedStyle(e).direction])",
        )
        assert [g[0] for g in got] == sent  # code points intact, ZWJ and ZWNJ included
        assert [g[1] for g in got] == ["auto"] * 3
        assert [g[2] for g in got] == ["ltr", "rtl", "rtl"]
    # The question mark of the Hebrew line sits at its left end, as Hebrew readers expect:
    # the rendered line starts (on the left) with the punctuation.
    box_of = bob.locator(MESSAGES).nth(1)
    first_glyph_x = box_of.evaluate(
        """e => {
          const range = document.createRange();
          const text = e.firstChild;
          range.setStart(text, text.length - 1); range.setEnd(text, text.length);
          const mark = range.getBoundingClientRect().left;
          range.setStart(text, 0); range.setEnd(text, 1);
          return mark < range.getBoundingClientRect().left;
        }"""
    )
    assert first_glyph_x is True
    expect(bob.get_by_test_id("partner-name")).to_have_attribute("dir", "auto")
    direction = "e => getComputedStyle(e).direction"
    assert alice.get_by_test_id("partner-name").evaluate(direction) == "rtl"


def test_no_axe_violations_idle_searching_in_call_dialog_and_banned(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(**ONE_REPORT_BANS, find_rate_limit_ms=0)
    alice = visit_with_axe(browser, contexts, srv.url, "Alice")
    assert_accessible(alice, "idle")

    alice.get_by_test_id("start").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    assert_accessible(alice, "searching")

    bob = visit_with_axe(browser, contexts, srv.url, "Bob")
    bob.get_by_test_id("start").click()
    expect_partner(alice, "Bob")
    expect_partner(bob, "Alice")
    bob.get_by_test_id("chat-input").fill("hi")
    bob.get_by_test_id("chat-input").press("Enter")
    expect(alice.locator(MESSAGES)).to_have_text(["hi"])
    alice.get_by_test_id("chat-input").fill("hello")
    alice.get_by_test_id("chat-input").press("Enter")
    expect(alice.locator("[data-testid=chat-log] li[data-status=sent]")).to_have_count(1)
    assert_accessible(alice, "in-call")

    # The dialog, and focus back on the button that opened it when it closes.
    report = alice.get_by_test_id("report")
    report.focus()
    report.press("Enter")
    expect(alice.get_by_test_id("report-dialog")).to_be_visible()
    assert_accessible(alice, "dialog")
    alice.get_by_test_id("report-cancel").click()
    expect(alice.get_by_test_id("report-dialog")).to_have_count(0)
    expect(report).to_be_focused()

    report.click()
    alice.get_by_test_id("report-reason").select_option("spam")
    alice.get_by_test_id("report-submit").click()
    expect(bob.get_by_test_id("banned")).to_be_visible(timeout=10_000)
    assert_accessible(bob, "banned")
    # focus did not fall to <body> after the dialog went away with the call
    assert alice.evaluate("() => document.activeElement !== document.body")


PHONE = {"width": 390, "height": 844}

# How much of the partner's video is on screen and not covered by anything laid
# over it (the top bar, and every part of the room but the stage), sampled on a
# grid of points; and how much of it the chat sheet alone covers.
VIDEO_COVERAGE = """
() => {
  const rect = (e) => e.getBoundingClientRect();
  const video = rect(document.querySelector('[data-testid=remote-video]'));
  const shown = (e) => getComputedStyle(e).display !== 'none' && rect(e).height > 0;
  const covers = [
    document.querySelector('.topbar'),
    ...document.querySelectorAll('.room > :not(.call-column), .call-column > :not(.stage)'),
  ].filter(shown).map(rect);
  const chat = rect(document.querySelector('.card.chat'));
  const inside = (r, x, y) => x >= r.left && x < r.right && y >= r.top && y < r.bottom;
  let total = 0, free = 0, underChat = 0;
  const steps = 60;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      const x = video.left + ((i + 0.5) * video.width) / steps;
      const y = video.top + ((j + 0.5) * video.height) / steps;
      total++;
      if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
      if (inside(chat, x, y)) underChat++;
      if (!covers.some((r) => inside(r, x, y))) free++;
    }
  }
  return {
    visible: free / total,
    chat: underChat / total,
    videoArea: (video.width * video.height) / (innerWidth * innerHeight),
    scrolled: document.scrollingElement.scrollTop,
  };
}
"""


def join_phone(browser: Browser, contexts: list[BrowserContext], url: str, name: str) -> Page:
    """A visitor on a 390x844 phone (touch, mobile viewport) who joins with a nickname."""
    ctx = browser.new_context(
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        permissions=["camera", "microphone"],
    )
    contexts.append(ctx)
    ctx.add_init_script(path=str(AXE))
    return open_and_join(ctx, url, name)


def test_phone_keeps_the_partner_in_view_while_typing(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """390x844: the partner's video fills the screen, the own camera is a small
    picture, and with the message field focused after a few messages at least
    60 % of the partner's video is uncovered (the chat sheet alone covers < 40 %)."""
    phone = join_phone(browser, contexts, server.url, "Phone")
    desk = join(browser, contexts, server.url, "Desk")
    start_call(phone, desk, "Phone", "Desk")
    wait_remote_playing(phone, deadline=time.monotonic() + 15)
    for i in range(3):
        say_quickly(desk, f"message {i} from the desk, long enough to wrap on a phone screen")
        say_quickly(phone, f"reply {i}")
    expect(phone.locator(MESSAGES)).to_have_count(6)

    box = phone.get_by_test_id("chat-input")
    box.tap()
    box.press_sequentially("typing now")
    expect(box).to_be_focused()
    box_rect = box.bounding_box()
    assert box_rect is not None and box_rect["y"] + box_rect["height"] <= PHONE["height"]

    measured = phone.evaluate(VIDEO_COVERAGE)
    assert_accessible(phone, "in-call on a phone")
    print(f"phone layout while typing: {measured}")
    if os.environ.get("RANDOMCHAT_SCREENSHOT"):  # `make screenshot`: the README's phone picture
        phone.screenshot(path=str(ROOT / "docs" / "screenshot-phone.png"))
    assert measured["scrolled"] == 0
    assert measured["videoArea"] >= 0.95  # full screen
    assert measured["visible"] >= 0.60, measured
    assert measured["chat"] < 0.40, measured
    local = phone.get_by_test_id("local-video").bounding_box()
    assert local is not None and local["width"] * local["height"] <= 0.1 * 390 * 844
    # every control of the call is on screen and reachable
    for test_id in ("next", "stop", "mute", "camera", "report", "block", "chat-send"):
        found = phone.get_by_test_id(test_id).bounding_box()
        assert found is not None, test_id
        assert 0 <= found["y"] <= found["y"] + found["height"] <= PHONE["height"], test_id
    expect(phone.get_by_test_id("partner-name")).to_be_in_viewport()

    # A left swipe across the partner's video is Next: a third stranger waits and is met.
    third = join(browser, contexts, server.url, "Third")
    third.get_by_test_id("start").click()
    expect(third.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    swipe(phone, (320, 420), (120, 430))
    expect_partner(phone, "Third")
    expect_partner(third, "Phone")


def swipe(page: Page, start: tuple[int, int], end: tuple[int, int], steps: int = 6) -> None:
    """One finger from ``start`` to ``end`` through real touch events (CDP Input)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point(start)]})
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i // steps
            y = start[1] + (end[1] - start[1]) * i // steps
            cdp.send(
                "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point((x, y))]}
            )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def point(xy: tuple[int, int]) -> dict[str, int]:
    return {"x": xy[0], "y": xy[1], "id": 1}


def say_quickly(page: Page, text: str) -> None:
    box = page.get_by_test_id("chat-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")
