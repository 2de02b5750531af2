"""The real page as peer A of a lab case, run inside a namespace: Chromium (Playwright,
fake camera) joins, meets the echo peer, and prints one JSON line like tests.natlab.peer.

``python -m tests.natlab.page --url URL --tag TAG --camera Y4M --metrics-token T``. It
prints ``ready`` once the page searches, then the report: the selected pair as the
page's own ``getStats`` has it (local -> remote), the time from the page's peer
connection to ``connected``, the words the page shows about the partner connection,
and whether the server counted both call-stats reports (the page's and the echo
peer's) before the page pressed Stop. Chromium makes every path choice itself (its own
ICE, TURN over UDP, TCP or TLS), which is the point of running it behind a router.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTRUMENT,
    LOCAL,
    accept_rules_and_join,
    add_interests,
    wait_async,
    wait_remote_playing,
)
from tests.e2e.test_echo_bot import LAST_PC, SELECTED_LOCAL_TYPE

# When the page's peer connection was made and when it first reached ``connected``,
# read from outside the app (performance.now(), ms).
TIMES = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__lab = { created: null, connected: null };
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__lab.created = performance.now();
      window.__lab.connected = null;
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected' && window.__lab.connected === null) {
          window.__lab.connected = performance.now();
        }
      });
    }
  };
})();
"""

# The number of call-stats reports the server counted by candidate type (the bearer
# token is the lab server's --metrics-token).
COUNTED = r"""
async (token) => {
  const res = await fetch('/metrics', { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  const found = [...text.matchAll(/^randomchat_calls_by_candidate_type_total\{[^}]*\} (\S+)$/gm)];
  return found.reduce((sum, m) => sum + Number(m[1]), 0);
}
"""


def _words(page: Page) -> dict[str, Any]:
    """What the page says about the call: the status and partner-connection pills."""
    state = page.get_by_test_id("peer-state")
    status = page.get_by_test_id("status")
    return {
        "words": state.text_content() if state.count() else None,
        "connection_state": state.get_attribute("data-connection-state") if state.count() else None,
        "status": status.text_content() if status.count() else None,
    }


def call(page: Page, args: argparse.Namespace) -> dict[str, Any]:
    page.goto(args.url)
    accept_rules_and_join(page, "Lab page")
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=15_000)
    page.wait_for_function(f"() => {LOCAL}?.srcObject && {LOCAL}.videoWidth > 0", timeout=15_000)
    add_interests(page, args.tag)  # the echo peer takes only partners with this tag
    page.get_by_test_id("start").click()
    print("ready", flush=True)
    report: dict[str, Any] = {"connect_ms": None, "failure": None}
    try:
        expect(page.get_by_test_id("partner-name")).to_have_text("lab echo", timeout=30_000)
        state = page.get_by_test_id("peer-state")
        timeout = args.within * 1000
        expect(state).to_have_attribute("data-connection-state", "connected", timeout=timeout)
        # the page's own words for it, not only the WebRTC state name
        expect(state).to_have_text("Connected")
        wait_remote_playing(page, time.monotonic() + 15)
        # (wait_remote_playing's frame count is an async predicate, which
        # wait_for_function takes as true at once: count here by polling)
        wait_async(page, "async () => (await window.__test.inboundVideoFrames()) > 5", None, 15_000)
    except (AssertionError, PlaywrightError) as exc:
        report["failure"] = str(exc).splitlines()[0]
        return {**report, **_words(page)}
    times = page.evaluate("() => window.__lab")
    pair = page.evaluate(SELECTED_LOCAL_TYPE) or [None, None]
    frames = page.evaluate("() => window.__test.inboundVideoFrames()")
    # Both call-stats reports reach the server before the call ends (the page sends
    # its own once media flows, retrying while getStats has no selected pair yet).
    deadline = time.monotonic() + 10
    counted = page.evaluate(COUNTED, args.metrics_token)
    while counted < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # poll interval of the server's counter
        counted = page.evaluate(COUNTED, args.metrics_token)
    words = _words(page)
    page.get_by_test_id("stop").click()  # the echo peer is told the call ended
    return {
        **report,
        **words,
        "connect_ms": round(times["connected"] - times["created"]),
        "local_candidate": pair[0],
        "remote_candidate": pair[1],
        "video_frames": frames,
        "stats_counted": counted,
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    chromium_args = [
        *CHROMIUM_ARGS,
        f"--use-file-for-fake-video-capture={args.camera}",
        # The lab serves plain HTTP on a public address: let the camera work there.
        f"--unsafely-treat-insecure-origin-as-secure={args.url}",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=chromium_args
        )
        try:
            context = browser.new_context(permissions=["camera", "microphone"])
            page = context.new_page()
            for script in (INSTRUMENT, LAST_PC, TIMES):
                page.add_init_script(script)
            return call(page, args)
        finally:
            browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--camera", required=True)
    parser.add_argument("--metrics-token", required=True)
    parser.add_argument("--within", type=float, default=20.0)
    print(json.dumps(main(parser.parse_args())), flush=True)
    sys.exit(0)
