"""A calm phone screen (issue 24) in real Chromium at 390 x 844: between calls one
primary action and a settings sheet that holds every other choice; nothing clipped
and everything reachable at 200 % text size; no flash on Next; and in a call the
camera and microphone pickers one tap away, switching the live call's tracks.

The browser here has three fake cameras and Chromium's three fake microphones
(``device-count=3``; 5 frames a second to keep the CPU low), so the pickers have
something to pick. The second fake camera gives Y16 (a depth format no encoder takes:
a call switched to it sends nothing, as it would with a real depth camera); the
test switches to the third (MJPEG). 200 % text size is the browser's text-size setting: the root
font size doubled (what Chrome's and Firefox's font-size settings and iOS's larger
text do to a page that sizes text in rem and em), at the same 390 px viewport;
page zoom would instead shrink the viewport to 195 CSS px, a reflow test, not this.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM_ARGS,
    ROOT,
    chromium,
    contexts,
    expect_partner,
    join,
    open_and_join,
    start_call,
    wait_remote_playing,
    web_dist,
)
from tests.e2e.test_page_quality import AXE, PHONE, assert_accessible

pytestmark = pytest.mark.browser

FAKE_DEVICES = "--use-fake-device-for-media-stream=device-count=3,fps=5"

# The page's last peer connection, to read what it sends and receives.
PEEK = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__calmPc = this; }
  };
  window.__calm = {
    sent: () => (window.__calmPc?.getSenders() ?? []).filter((s) => s.track).map((s) => ({
      kind: s.track.kind, label: s.track.label, readyState: s.track.readyState,
      deviceId: s.track.getSettings().deviceId,
    })),
    received: async () => {
      const got = { video: 0, audio: 0 };
      const pc = window.__calmPc;
      if (!pc) return got;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') got.video += s.framesDecoded || 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') got.audio += s.packetsReceived || 0;
      });
      return got;
    },
  };
})();
"""

# Visible controls outside the sheet, and the primary buttons among them.
CONTROLS_OUTSIDE_SHEET = """
() => {
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const all = [...document.querySelectorAll('button, input, select, textarea, summary')]
    .filter((e) => !e.closest('dialog') && shown(e));
  return {
    controls: all.map((e) => e.dataset.testid || e.getAttribute('aria-label') || e.textContent),
    fields: all.filter((e) => e.matches('input, select, textarea')).length,
    primary: all.filter((e) => e.classList.contains('primary')).map((e) => e.dataset.testid),
  };
}
"""

# For each element: does its content fit its box, and is the box inside the viewport's width?
CLIPPED = """
(selectors) => selectors.flatMap((sel) => [...document.querySelectorAll(sel)]
  .filter((e) => e.getClientRects().length > 0)
  .map((e) => {
    const r = e.getBoundingClientRect();
    return { sel, text: e.textContent.trim().slice(0, 30), sw: e.scrollWidth, cw: e.clientWidth,
             sh: e.scrollHeight, ch: e.clientHeight, left: r.left, right: r.right };
  })
  .filter((m) => m.sw > m.cw + 1 || m.sh > m.ch + 1 || m.left < -1 || m.right > innerWidth + 1))
"""

BETWEEN_CALLS = ["[data-testid=status]", "[data-testid=start]", "[data-testid=stop]",
                 "[data-testid=mute]", "[data-testid=camera]", "[data-testid=sheet-open]",
                 ".online-count", ".notice", ".last-call button"]  # fmt: skip
IN_SHEET = ["[data-testid=settings-sheet] :is(button, select, label, legend, summary, input, p)"]
IN_CALL = ["[data-testid=status]", "[data-testid=next]", "[data-testid=stop]",
           "[data-testid=mute]", "[data-testid=camera]", "[data-testid=sheet-open]",
           "[data-testid=camera-switch]", "[data-testid=chat-input]", "[data-testid=chat-send]",
           "[data-testid=report]", "[data-testid=block]"]  # fmt: skip


@pytest.fixture(scope="module")
def browser(chromium: Path, web_dist: Path) -> Iterator[Browser]:
    """Chromium with three fake cameras (the shared fixture has one, from a file)."""
    args = [FAKE_DEVICES if a.startswith("--use-fake-device") else a for a in CHROMIUM_ARGS]
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


def phone(browser: Browser, contexts: list[BrowserContext], url: str, name: str) -> Page:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in web/ (axe-core is a dev dependency)")
    ctx = browser.new_context(
        viewport={"width": PHONE["width"], "height": PHONE["height"]},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        permissions=["camera", "microphone"],
    )
    contexts.append(ctx)
    ctx.add_init_script(path=str(AXE))
    ctx.add_init_script(PEEK)
    page = open_and_join(ctx, url, name)
    page.wait_for_function("() => document.querySelector('[data-testid=local-video]')?.srcObject")
    return page


def desk(browser: Browser, contexts: list[BrowserContext], url: str, name: str) -> Page:
    page = join(browser, contexts, url, name)
    page.context.add_init_script(PEEK)
    page.reload()
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    return page


def large_text(page: Page) -> None:
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")


def assert_reachable(page: Page, selectors: list[str], where: str) -> int:
    """Every matching element fits its box, lies within the width, and can be scrolled
    into view; returns how many were checked."""
    clipped = page.evaluate(CLIPPED, selectors)
    assert clipped == [], f"{where}: clipped {clipped}"
    checked = 0
    for sel in selectors:
        for item in page.locator(sel).all():
            if not item.is_visible():
                continue
            item.scroll_into_view_if_needed()
            expect(item).to_be_in_viewport()
            checked += 1
    return checked


def open_sheet(page: Page) -> None:
    page.get_by_test_id("sheet-open").tap()
    expect(page.get_by_test_id("settings-sheet")).to_be_visible()


def test_between_calls_one_primary_action_and_a_settings_sheet(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = phone(browser, contexts, server.url, "Calm")
    seen = page.evaluate(CONTROLS_OUTSIDE_SHEET)
    print(f"between calls, outside the sheet: {seen['controls']}")
    assert seen["primary"] == ["start"]
    assert seen["fields"] == 0, seen  # no form: every choice is in the sheet
    status = page.get_by_test_id("status")
    assert page.evaluate(CLIPPED, ["[data-testid=status]"]) == []

    sheet = page.get_by_test_id("settings-sheet")
    expect(sheet).to_be_hidden()
    open_sheet(page)
    expect(sheet).to_have_accessible_name("Settings")
    for test_id in ("interests", "strict", "mode-video", "mode-text", "auto-search", "privacy",
                    "safe-view", "camera-select", "microphone-select", "camera-switch",
                    "notify-sound", "connect-timeout", "language"):  # fmt: skip
        expect(sheet.get_by_test_id(test_id)).to_be_attached()
    expect(sheet.get_by_test_id("camera-select").locator("option")).to_have_count(3)
    assert page.evaluate("() => !!document.activeElement?.closest('dialog[open]')")
    assert_accessible(page, "the settings sheet on a phone")
    # The modal keeps focus in the sheet: forward through all of it and past its end.
    for _ in range(30):
        page.keyboard.press("Tab")
        where = page.evaluate("() => document.activeElement?.closest('dialog') ? 'sheet' : "
                              "document.activeElement?.tagName")  # fmt: skip
        assert where in ("sheet", "BODY"), where  # BODY: the browser's own UI, between laps

    sheet.get_by_test_id("interests").fill("chess")
    sheet.get_by_test_id("interests").press("Enter")
    sheet.get_by_test_id("auto-search").uncheck()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page.get_by_test_id("sheet-open")).to_be_focused()
    # Escape closed the sheet and did not also Stop: the camera is still on
    assert page.evaluate("() => !!document.querySelector('[data-testid=local-video]').srcObject")
    expect(status).to_have_attribute("data-phase", "idle")
    open_sheet(page)  # the choices stayed
    expect(page.get_by_test_id("interest-chip").locator(".chip-text")).to_have_text(["chess"])
    expect(page.get_by_test_id("auto-search")).not_to_be_checked()
    page.get_by_test_id("sheet-close").tap()
    expect(sheet).to_be_hidden()

    page.get_by_test_id("start").tap()
    expect(status).to_have_attribute("data-phase", "searching")
    expect(status).to_have_text("Looking for someone…")
    assert page.evaluate(CLIPPED, ["[data-testid=status]"]) == []
    # "Looking for someone…" on the stage overlaps nothing drawn at the bottom
    overlaps = page.evaluate("""() => {
      const range = document.createRange();
      range.selectNodeContents(document.querySelector('.placeholder'));
      const p = range.getBoundingClientRect();
      const over = '.call-column > :not(.stage), .room > :not(.call-column)';
      return [...document.querySelectorAll(over)]
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => e.getBoundingClientRect())
        .filter((r) => r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom)
        .length;
    }""")
    assert overlaps == 0
    assert_accessible(page, "searching on a phone")


def test_200_percent_text_nothing_clipped_everything_reachable(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(find_rate_limit_ms=0)
    page = phone(browser, contexts, srv.url, "Large")
    other = desk(browser, contexts, srv.url, "Other")
    large_text(page)
    checked = assert_reachable(page, BETWEEN_CALLS, "between calls at 200 %")
    open_sheet(page)
    checked += assert_reachable(page, IN_SHEET, "the settings sheet at 200 %")
    assert_accessible(page, "the settings sheet at 200 %")
    page.keyboard.press("Escape")

    start_call(page, other, "Large", "Other")
    wait_remote_playing(page, deadline=time.monotonic() + 20)
    checked += assert_reachable(page, IN_CALL, "in a call at 200 %")
    page.get_by_test_id("sheet-open").tap()  # the pickers, one tap away
    checked += assert_reachable(page, IN_SHEET, "the device sheet at 200 %")
    assert_accessible(page, "the device sheet in a call at 200 %")
    page.keyboard.press("Escape")
    other.get_by_test_id("next").click()  # the partner skips: the last call is offered
    expect(page.get_by_test_id("last-call")).to_be_visible(timeout=10_000)
    checked += assert_reachable(page, BETWEEN_CALLS, "after a call at 200 %")
    assert_accessible(page, "between calls at 200 %")
    print(f"200 % text: {checked} controls checked, none clipped, all scrolled into view")


def test_pickers_switch_camera_and_microphone_and_the_call_goes_on(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = phone(browser, contexts, server.url, "Picky")
    other = desk(browser, contexts, server.url, "Watcher")
    start_call(page, other, "Picky", "Watcher")
    wait_remote_playing(other, deadline=time.monotonic() + 20)
    sent = page.evaluate("() => window.__calm.sent()")
    first_cam = next(t["deviceId"] for t in sent if t["kind"] == "video")

    open_sheet(page)  # one tap
    expect(page.get_by_test_id("settings-sheet")).to_have_accessible_name("Camera and microphone")
    cams = page.get_by_test_id("camera-select").locator("option")
    mics = page.get_by_test_id("microphone-select").locator("option")
    expect(cams).to_have_text(["fake_device_0", "fake_device_1", "fake_device_2"])
    expect(mics).to_have_count(3)
    assert "Fake Audio Input 2" in mics.all_inner_texts()
    assert_accessible(page, "the device pickers in a call")

    page.get_by_test_id("camera-select").select_option(label="fake_device_2")
    page.wait_for_function(
        "d => window.__calm.sent().some((t) => t.kind === 'video' && t.deviceId !== d "
        "&& t.readyState === 'live')",
        arg=first_cam,
    )
    assert_still_receiving(other, "video", "after the camera picker")

    page.get_by_test_id("microphone-select").select_option(label="Fake Audio Input 2")
    page.wait_for_function(
        "() => window.__calm.sent().some((t) => t.kind === 'audio' "
        "&& t.label === 'Fake Audio Input 2' && t.readyState === 'live')"
    )
    assert_still_receiving(other, "audio", "after the microphone picker")
    expect(page.get_by_test_id("microphone-select")).to_have_value(
        page.evaluate("() => window.__calm.sent().find((t) => t.kind === 'audio').deviceId")
    )
    page.keyboard.press("Escape")

    # The front/back switch floats over the video: one tap, the other camera
    before = page.evaluate("() => window.__calm.sent().find((t) => t.kind === 'video').deviceId")
    page.get_by_test_id("camera-switch").tap()
    page.wait_for_function(
        "d => window.__calm.sent().some((t) => t.kind === 'video' && t.deviceId !== d)", arg=before
    )
    assert_still_receiving(other, "video", "after the flip")
    expect_partner(page, "Watcher")  # the same call all along: no renegotiation, no new match
    assert page.evaluate("() => window.__test.created()") == 1


def assert_still_receiving(page: Page, kind: str, when: str) -> None:
    """The partner's count of decoded frames (video) or packets (audio) keeps growing."""
    start = page.evaluate("async () => await window.__calm.received()")[kind]
    deadline = time.monotonic() + 10
    while page.evaluate("async () => await window.__calm.received()")[kind] < start + 10:
        assert time.monotonic() < deadline, f"{when}: the partner stopped receiving {kind}"
        page.wait_for_timeout(200)


# Samples on every animation frame what the room shows: the sheet, visible fields
# outside it (the chat's own aside), the button row's place.
SAMPLE = """
() => {
  window.__frames = [];
  const tick = () => {
    const row = document.querySelector('.controls').getBoundingClientRect();
    const fields = [...document.querySelectorAll('input, select, textarea')].filter(
      (e) => !e.closest('dialog') && !e.closest('.chat') && e.getClientRects().length > 0).length;
    window.__frames.push({ phase: document.querySelector('[data-testid=status]').dataset.phase,
      top: Math.round(row.top), height: Math.round(row.height), fields,
      sheet: !!document.querySelector('dialog[open]') });
    if (window.__frames.length < 2000) window.__sampling = requestAnimationFrame(tick);
  };
  tick();
}
"""


def test_next_does_not_flash_the_between_calls_panel(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(find_rate_limit_ms=0)
    page = phone(browser, contexts, srv.url, "Skipper")
    first = desk(browser, contexts, srv.url, "First")
    start_call(page, first, "Skipper", "First")
    third = desk(browser, contexts, srv.url, "Third")
    third.get_by_test_id("start").click()
    expect(third.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    page.evaluate(SAMPLE)
    page.get_by_test_id("next").tap()
    expect_partner(page, "Third")
    page.wait_for_timeout(300)  # a few frames in the new call
    frames: list[dict[str, Any]] = page.evaluate(
        "() => { cancelAnimationFrame(window.__sampling); return window.__frames; }"
    )
    searching = [f for f in frames if f["phase"] == "searching"]
    print(f"Next: {len(frames)} frames sampled, {len(searching)} of them searching")
    assert searching, "the search between the two calls was not seen"
    assert all(f["fields"] == 0 and not f["sheet"] for f in frames), frames
    bottoms = {f["top"] + f["height"] for f in frames}
    heights = {f["height"] for f in frames}
    assert max(bottoms) - min(bottoms) <= 1 and max(heights) - min(heights) <= 1, frames
    if os.environ.get("RANDOMCHAT_SCREENSHOT"):  # `make screenshot`: the between-calls phone
        third.get_by_test_id("stop").click()  # left: the last call is offered while searching
        expect(page.get_by_test_id("last-call")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(ROOT / "docs" / "screenshot-phone-between.png"))
