"""The echo bot answers a real Chromium page (fake camera): the page sees its own video
come back, with the bot badge, directly and relay-only through a real coturn.

The bot runs as the real command (``randomchat echo-bot --count 1``) in a subprocess.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    LOCAL,
    REMOTE,
    accept_rules_and_join,
    browser,
    chromium,
    contexts,
    expect_partner,
    wait_async,
    wait_remote_playing,
    web_dist,
)
from tests.turn.coturn import running_coturn

pytestmark = pytest.mark.browser

# The type of the local candidate of the selected pair of the page's latest peer connection.
LAST_PC = """
(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__lastPc = this; }
  };
})();
"""
SELECTED_LOCAL_TYPE = """
async () => {
  const pc = window.__lastPc;
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = stats.get(s.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  const type = (id) => stats.get(id)?.candidateType;
  return [type(pair.localCandidateId), type(pair.remoteCandidateId)];
}
"""


SIZES = (
    f"() => [{LOCAL}.videoWidth, {LOCAL}.videoHeight, {REMOTE}.videoWidth, {REMOTE}.videoHeight]"
)


@contextmanager
def echo_bot(url: str) -> Iterator[subprocess.Popen[str]]:
    bot = subprocess.Popen(
        [sys.executable, "-m", "randomchat", "echo-bot", "--url", url, "--count", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert bot.stdout is not None
        assert "is waiting" in bot.stdout.readline()  # printed once it has joined
        time.sleep(0.5)  # usually queued before the page searches (either order works)
        yield bot
    finally:
        if bot.poll() is None:
            bot.kill()
        bot.wait()


def visit(browser: Browser, contexts: list[BrowserContext], url: str, *, privacy: bool) -> Page:
    ctx = browser.new_context(
        viewport={"width": 1000, "height": 720}, permissions=["camera", "microphone"]
    )
    contexts.append(ctx)
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)
    page.add_init_script(LAST_PC)
    page.goto(url)
    accept_rules_and_join(page, "Alone")
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    page.wait_for_function(f"() => {LOCAL}?.srcObject && {LOCAL}.videoWidth > 0", timeout=10_000)
    if privacy:
        page.get_by_test_id("privacy").check()
    return page


def see_myself(page: Page, bot: subprocess.Popen[str]) -> list[str]:
    """Start, meet the echo bot, see the camera come back; Stop; return the pair types."""
    page.get_by_test_id("start").click()
    expect_partner(page, "Echo (bot)")
    expect(page.get_by_test_id("bot-badge")).to_be_visible()
    wait_remote_playing(page, time.monotonic() + 20)
    # our own camera, sent back: the shape of the local preview (the browser's sender may
    # scale it down at first, so not its size)
    local_w, local_h, remote_w, remote_h = page.evaluate(SIZES)
    assert abs(local_w / local_h - remote_w / remote_h) < 0.02, (
        local_w,
        local_h,
        remote_w,
        remote_h,
    )
    wait_async(page, SELECTED_LOCAL_TYPE, timeout=10_000)
    pair: list[str] = page.evaluate(SELECTED_LOCAL_TYPE)
    page.get_by_test_id("stop").click()
    out, _ = bot.communicate(timeout=20)  # --count 1: the bot reports the call and exits
    assert bot.returncode == 0, out
    assert "Alone [" in out and "received 0 video" not in out, out
    return pair


def test_echo_bot_sends_the_page_its_own_camera(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = visit(browser, contexts, server.url, privacy=False)
    with echo_bot(server.url) as bot:
        pair = see_myself(page, bot)
    assert pair[0] in ("host", "prflx", "srflx"), pair


def test_echo_bot_over_turn_when_the_page_hides_its_ip(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    with running_coturn(tmp_path) as turn:
        server = server_factory(turn_url=[turn.udp_url], turn_secret=[turn.secret])
        page = visit(browser, contexts, server.url, privacy=True)
        with echo_bot(server.url) as bot:
            pair = see_myself(page, bot)
        expect(page.get_by_test_id("privacy")).to_be_checked()
    assert pair == ["relay", "relay"], pair
