"""First load of the page on a slow phone profile: bytes on the wire and first paint.

Serves the built page (web/dist) with a real ``randomchat serve`` and loads it in
Chromium at 390x844 with Lighthouse's mobile throttling (150 ms round trip,
1.6 Mbit/s down, 750 kbit/s up, CPU slowed 4x): once cold, then again with the
cache warm. Prints one line per load and a JSON summary.

    .venv/bin/python bench/pageload.py [--runs 3] [--chromium /usr/bin/chromium]
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
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    opts = parser.parse_args()
    if not (ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the page first: cd web && npm run build")
    cold: list[dict[str, Any]] = []
    warm: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        process, url = serve(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=opts.chromium, args=["--no-sandbox", "--disable-gpu"]
                )
                for run in range(opts.runs):
                    ctx = browser.new_context(
                        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
                    )
                    page = ctx.new_page()
                    throttle(page)
                    cold.append(load(page, url))
                    warm.append(load(page, url))  # same context: the HTTP cache is warm
                    print(f"run {run + 1}: cold {cold[-1]}, warm {warm[-1]}")
                    ctx.close()
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
    result = {"profile": profile, "cold": summary(cold), "warm": summary(warm)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
