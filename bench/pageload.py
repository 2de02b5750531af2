"""First load of the page on a slow phone profile: bytes on the wire and first paint,
and safe view's first verdict.

Serves the built page (web/dist) with a real ``randomchat serve`` and loads it in
Chromium at 390x844 with Lighthouse's mobile throttling (150 ms round trip,
1.6 Mbit/s down, 750 kbit/s up, CPU slowed 4x): once cold, then again with the
cache warm. Then safe view (issue 24): the throttled phone joins, presses Start
and meets a partner who is already waiting (an unthrottled desktop page, both with
Chromium's fake camera), on a first visit and again on a second visit with the same
HTTP cache; reported is the time from the partner's first frame to the nudity
classifier's first verdict and to the blur lifting by itself. Prints one line per
load and a JSON summary.

    .venv/bin/python bench/pageload.py [--runs 3] [--chromium /usr/bin/chromium]
        [--only page|safe-view]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from math import inf
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
# Lighthouse's "slow 4G" mobile profile (its default for mobile runs).
LATENCY_MS = 150
DOWN_BYTES_PER_S = 1.6e6 / 8
UP_BYTES_PER_S = 750e3 / 8
CPU_SLOWDOWN = 4

MEASURE = """
() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const wire = [nav, ...resources].reduce((sum, e) => sum + (e.transferSize || 0), 0);
  const body = [nav, ...resources].reduce((sum, e) => sum + (e.decodedBodySize || 0), 0);
  return { fcp: paint ? paint.startTime : null, wire, body, files: resources.length + 1 };
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [
        sys.executable, "-m", "randomchat", "serve", "--port", str(port),
        "--jwt-secret", "bench-" + "x" * 40, "--stun-url", "none",
        "--data-dir", str(data_dir), "--web-dir", str(ROOT / "web" / "dist"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANDOMCHAT_")}
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def throttle(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": DOWN_BYTES_PER_S,
            "uploadThroughput": UP_BYTES_PER_S,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


def load(page: Page, url: str) -> dict[str, Any]:
    page.goto(url, wait_until="load")
    page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length")
    return dict(page.evaluate(MEASURE))


# When the partner's first frame was shown and when the blur went (bench/safeview_moments.js,
# shared with the browser test), and the classifier's own figures (window.__rcSafety,
# classifier.ts).
MOMENTS = (Path(__file__).parent / "safeview_moments.js").read_text()
VERDICT = """
() => {
  const s = window.__rcSafety?.classifierStats?.();
  if (!s || s.firstVerdictMs === null) return null;
  const w = window.__rcSafety.warmth();
  const m = window.__moments;
  const verdictAt = performance.now() - s.runningMs + s.firstVerdictMs;
  // lifted: null when the blur stayed (a first verdict of nudity, or auto-lift off)
  const lifted = m.unveiled === null ? null : m.unveiled - m.firstFrame;
  return { verdict: verdictAt - m.firstFrame, lifted,
           askedBeforeFirstFrame: m.firstFrame - w.requestedAt, nudity: s.lastVerdict.nudity };
}
"""
# The classifier's files: its worker, the model's two chunks and the .wasm.
CLASSIFIER_FILES = ("classifier.worker", "group1-shard", "model.min", ".wasm")


def join(page: Page, url: str, name: str) -> None:
    page.goto(url, timeout=120_000)
    page.locator("[data-testid=start], [data-testid=rules-accept]").first.wait_for(timeout=120_000)
    if page.get_by_test_id("rules-accept").count():  # a returning visitor is already in
        page.get_by_test_id("nickname").fill(name)
        page.get_by_test_id("rules-accept").check()
        page.get_by_test_id("join").click()
    page.get_by_test_id("start").wait_for(timeout=60_000)


def safe_view_call(browser: Browser, phone: BrowserContext, url: str) -> dict[str, Any]:
    """The phone joins and meets a waiting partner; figures of its first verdict.

    A new partner each time: the server does not pair two users who just met again.
    """
    wire: list[int] = []
    phone.on(
        "requestfinished",
        lambda r: (
            # from the HTTP cache no body crossed the network (Playwright says -1)
            wire.append(max(0, r.sizes()["responseBodySize"]))
            if any(f in r.url for f in CLASSIFIER_FILES)
            else None
        ),
    )
    other = browser.new_context(permissions=["camera", "microphone"])
    partner = other.new_page()
    join(partner, url, "Partner")
    partner.get_by_test_id("start").click()
    partner.wait_for_selector("[data-testid=status][data-phase=searching]", timeout=30_000)
    page = phone.new_page()
    throttle(page)
    page.add_init_script(MOMENTS)
    join(page, url, "Phone")
    page.get_by_test_id("start").click()
    page.wait_for_function(VERDICT, timeout=300_000)
    page.wait_for_timeout(500)  # the blur goes on the render after the verdict
    figures: dict[str, Any] = page.evaluate(VERDICT)
    figures["classifier_bytes_on_the_wire"] = sum(wire)
    page.close()
    other.close()
    return figures


def safe_view(browser: Browser, url: str, runs: int) -> dict[str, Any]:
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for run in range(runs):
        phone = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            permissions=["camera", "microphone"],
        )
        first.append(safe_view_call(browser, phone, url))
        second.append(safe_view_call(browser, phone, url))  # same context: the cache is warm
        print(f"safe view run {run + 1}: first visit {first[-1]}, second visit {second[-1]}")
        phone.close()

    def summary(calls: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "first_frame_to_first_verdict_ms": round(
                statistics.median(c["verdict"] for c in calls)
            ),
            "first_frame_to_blur_lifted_ms": round(
                statistics.median(c["lifted"] if c["lifted"] is not None else inf for c in calls)
            ),
            "model_asked_before_first_frame_ms": round(
                statistics.median(c["askedBeforeFirstFrame"] for c in calls)
            ),
            "classifier_bytes_on_the_wire": round(
                statistics.median(c["classifier_bytes_on_the_wire"] for c in calls)
            ),
        }

    return {"first_visit": summary(first), "second_visit": summary(second)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--only", choices=("page", "safe-view"))
    opts = parser.parse_args()
    if not (ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the page first: cd web && npm run build")
    cold: list[dict[str, Any]] = []
    warm: list[dict[str, Any]] = []
    safe: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        process, url = serve(Path(tmp))
        try:
            with sync_playwright() as pw:
                args = ["--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream"]
                browser = pw.chromium.launch(executable_path=opts.chromium, args=args)
                for run in range(opts.runs if opts.only != "safe-view" else 0):
                    ctx = browser.new_context(
                        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
                    )
                    page = ctx.new_page()
                    throttle(page)
                    cold.append(load(page, url))
                    warm.append(load(page, url))  # same context: the HTTP cache is warm
                    print(f"run {run + 1}: cold {cold[-1]}, warm {warm[-1]}")
                    ctx.close()
                if opts.only != "page":
                    safe = safe_view(browser, url, opts.runs)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)

    def summary(loads: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "first_contentful_paint_ms": round(statistics.median(x["fcp"] for x in loads)),
            "bytes_on_the_wire": round(statistics.median(x["wire"] for x in loads)),
            "bytes_decoded": round(statistics.median(x["body"] for x in loads)),
            "files": loads[0]["files"],
        }

    profile = f"{LATENCY_MS} ms RTT, 1.6/0.75 Mbit/s, CPU /{CPU_SLOWDOWN}, 390x844"
    result: dict[str, Any] = {"profile": profile}
    if cold:
        result |= {"cold": summary(cold), "warm": summary(warm)}
    if safe:
        result["safe_view"] = safe
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
