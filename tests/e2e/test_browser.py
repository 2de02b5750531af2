"""The web client in a real browser: Debian's Chromium driven by Playwright,
with fake camera/microphone devices, against a real ``randomchat serve``.

Two strangers see each other's camera, Next moves a caller to a new partner,
Stop releases the camera, and 30 Nexts in a row leave no peer connection open
and no growing JS heap. Strangers chat in text (with a typing indicator), one
reports the other, who is banned and refused again after a reload; users who
share an interest are paired and see it.

The page is instrumented only from the outside (an init script that wraps
``RTCPeerConnection`` and ``getUserMedia``), so the counts checked here do not
depend on the page's own bookkeeping; the page's ``window.__rc`` is checked too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshot.png"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Background pages must not be throttled: several "users" share one browser.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

# Counts peer connections and camera tracks from outside the app.
INSTRUMENT = """
(() => {
  const Native = window.RTCPeerConnection;
  const peers = [];
  if (Native) {
    class CountedPeerConnection extends Native {
      constructor(...args) { super(...args); peers.push(new WeakRef(this)); }
    }
    window.RTCPeerConnection = CountedPeerConnection;
  }
  const tracks = [];
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = async (constraints) => {
      const stream = await gum(constraints);
      for (const t of stream.getTracks()) tracks.push(t);
      return stream;
    };
  }
  // Anything the page's Content-Security-Policy refused (checked after every test).
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    const where = `${e.sourceFile}:${e.lineNumber}`;
    violations.push(`${e.effectiveDirective} refused ${e.blockedURI || 'inline'} (${where})`);
  });
  const live = () =>
    peers.map((r) => r.deref()).filter((pc) => pc && pc.signalingState !== 'closed');
  window.__test = {
    created: () => peers.length,
    openPeers: () => live().length,
    latestState: () => {
      const pc = peers.length ? peers[peers.length - 1].deref() : null;
      return pc ? pc.connectionState : null;
    },
    inboundVideoFrames: async () => {
      const open = live();
      if (open.length !== 1) return -1;
      let frames = 0;
      (await open[0].getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
      });
      return frames;
    },
    cameraTracks: () => tracks.map((t) => ({ kind: t.kind, readyState: t.readyState })),
    cspViolations: () => violations,
  };
})();
"""

# Number of call-stats reports in /metrics (time-to-media histogram count and
# the candidate-type counter) are both at least n.
CALL_STATS_COUNTED = r"""
async (n) => {
  const text = await (await fetch('/metrics')).text();
  const count = (re) => [...text.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
  const ttm = count(/^randomchat_call_time_to_media_seconds_count(?:\{[^}]*\})? (\S+)$/gm);
  const types = count(/^randomchat_calls_by_candidate_type_total\{[^}]*\} (\S+)$/gm);
  return ttm >= n && types >= n;
}
"""

# A server on which one report bans (all reporters here share 127.0.0.1 and are fresh guests).
ONE_REPORT_BANS = {
    "report_threshold": 1,
    "report_min_addresses": 1,
    "report_full_weight_minutes": 0,
}

REMOTE = "document.querySelector('[data-testid=remote-video]')"
LOCAL = "document.querySelector('[data-testid=local-video]')"


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium, installed through apt where missing (no browser download)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def web_dist() -> Path:
    """The built client; built here when a fresh clone has not built it yet."""
    index = WEB / "dist" / "index.html"
    if not index.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("web/dist is not built and npm is not installed")
        if not (WEB / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return index.parent


# The fake camera's picture: width, height, frames per second, frames in its loop.
FAKE_CAMERA = (320, 240, 5, 10)


def write_fake_camera(path: Path) -> Path:
    """A small looping picture for Chromium's fake camera, as a Y4M file: a bright bar
    sweeps across a gradient, so that every frame differs from the one before.

    Without a file, Chromium's fake camera gives the page the 1280x720 it asks for, and
    every call in these tests encodes, decodes and composites that at 20 frames a second
    in software. A call between two pages of one browser took 1.7 cores that way, 1.2
    with this picture; the frame rate is what counts (160x120 at 10 frames a second
    still took 1.6). Browser tests are most of the suite's CPU, and the suite is
    CPU-bound on this project's 2-core machines."""
    width, height, fps, count = FAKE_CAMERA
    chroma = bytes([128]) * (width * height // 2)  # U and V planes of 4:2:0, grey
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in range(count):
            bar = frame * width // count
            luma = bytes(
                235 if bar <= x < bar + width // count else 40 + (x + y) % 120
                for y in range(height)
                for x in range(width)
            )
            out.write(b"FRAME\n" + luma + chroma)
    return path


@pytest.fixture(scope="module")
def browser(
    chromium: Path, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    camera = write_fake_camera(tmp_path_factory.mktemp("camera") / "camera.y4m")
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"]
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    refused = [csp_violations(page) for ctx in made for page in ctx.pages]
    for ctx in made:
        ctx.close()
    assert not any(refused), f"the page broke its Content-Security-Policy: {refused}"


def csp_violations(page: Page) -> list[str]:
    """What the page's CSP refused since the last load (INSTRUMENT listens)."""
    found = page.evaluate("() => window.__test?.cspViolations?.() ?? []")
    return [str(v) for v in found]


def open_and_join(ctx: BrowserContext, url: str, name: str) -> Page:
    """Open the page (instrumented) in ``ctx`` and join with a nickname."""
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)
    page.goto(url)
    accept_rules_and_join(page, name)
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    return page


def accept_rules_and_join(page: Page, name: str) -> None:
    """The first screen: accept the rules (18+) once they loaded, give a nickname, Join."""
    page.get_by_test_id("rules-accept").check()
    page.get_by_test_id("nickname").fill(name)
    page.get_by_test_id("join").click()


def join(browser: Browser, contexts: list[BrowserContext], url: str, name: str) -> Page:
    """A new visitor (own context, own localStorage) who joins with a nickname."""
    ctx = browser.new_context(
        viewport={"width": 1000, "height": 720},
        permissions=["camera", "microphone"],
    )
    contexts.append(ctx)
    page = open_and_join(ctx, url, name)
    # the local preview shows the (fake) camera
    page.wait_for_function(f"() => {LOCAL}?.srcObject && {LOCAL}.videoWidth > 0", timeout=10_000)
    return page


def wait_async(page: Page, predicate: str, arg: Any = None, timeout: float = 10_000) -> None:
    """Like page.wait_for_function, for an async predicate (whose promise
    wait_for_function would take as truthy): evaluate until it resolves true."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(predicate, arg)
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} ms waiting for {predicate.strip()[:200]}: {value!r}"
            )
        page.wait_for_timeout(100)  # poll interval of the condition


def wait_remote_playing(page: Page, deadline: float) -> None:
    """remote-video shows real frames: a size, advancing time, decoded RTP frames."""

    def left() -> float:
        return max(100.0, (deadline - time.monotonic()) * 1000)

    page.wait_for_function(
        f"() => {{ const v = {REMOTE}; return !!v && !!v.srcObject && v.videoWidth > 0"
        " && v.readyState >= 2 && !v.paused; }",
        timeout=left(),
    )
    t0 = page.evaluate(f"() => {REMOTE}.currentTime")
    page.wait_for_function(f"t0 => {REMOTE}.currentTime > t0 + 0.2", arg=t0, timeout=left())
    # wait_for_function takes a promise as truthy at once: poll the count here instead.
    while page.evaluate("async () => await window.__test.inboundVideoFrames()") <= 5:
        assert time.monotonic() < deadline, "no more than 5 video frames decoded in time"
        page.wait_for_timeout(100)


def expect_partner(page: Page, name: str) -> None:
    expect(page.get_by_test_id("partner-name")).to_have_text(name, timeout=10_000)
    expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "connected")


def open_peers(page: Page) -> tuple[int, int]:
    """(open RTCPeerConnections counted by the test, counted by the page's window.__rc)"""
    a, b = page.evaluate("() => [window.__test.openPeers(), window.__rc.peerConnectionsOpen()]")
    return int(a), int(b)


def camera_released(page: Page) -> bool:
    tracks: list[dict[str, Any]] = page.evaluate("() => window.__test.cameraTracks()")
    return bool(tracks) and all(t["readyState"] == "ended" for t in tracks)


def test_two_strangers_see_each_other_next_and_stop(
    server: Any, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    alice = join(browser, contexts, server.url, "Alice")
    bob = join(browser, contexts, server.url, "Bob")

    alice.get_by_test_id("start").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    started = time.monotonic()
    bob.get_by_test_id("start").click()

    expect_partner(alice, "Bob")
    expect_partner(bob, "Alice")
    deadline = started + 10
    wait_remote_playing(alice, deadline)
    wait_remote_playing(bob, deadline)
    assert time.monotonic() - started < 10
    assert open_peers(alice) == (1, 1)
    assert open_peers(bob) == (1, 1)
    expect(alice.get_by_test_id("peer-state")).to_have_attribute(
        "data-connection-state", "connected"
    )
    # Both pages reported call-stats, and the server accepted them into /metrics.
    wait_async(alice, CALL_STATS_COUNTED, arg=2, timeout=10_000)

    shot = tmp_path / "connected-call.png"
    alice.screenshot(path=str(shot))
    print(f"screenshot of a connected call: {shot}")
    if os.environ.get("RANDOMCHAT_SCREENSHOT"):  # `make screenshot`: the README's picture
        alice.screenshot(path=str(SCREENSHOT))

    # A third stranger waits; Alice presses Next and meets her.
    carol = join(browser, contexts, server.url, "Carol")
    carol.get_by_test_id("start").click()
    expect(carol.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    next_pressed = time.monotonic()
    alice.get_by_test_id("next").click()

    expect_partner(alice, "Carol")
    expect_partner(carol, "Alice")
    deadline = next_pressed + 10
    wait_remote_playing(alice, deadline)
    wait_remote_playing(carol, deadline)
    # Bob was told and searches again by himself.
    expect(bob.get_by_test_id("notice")).to_contain_text("Stranger", timeout=10_000)
    expect(bob.get_by_test_id("status")).to_have_attribute(
        "data-phase", "searching", timeout=10_000
    )
    for page in (alice, bob, carol):
        page.wait_for_function(
            "() => window.__test.openPeers() <= 1 && window.__rc.peerConnectionsOpen() <= 1"
        )
    assert open_peers(alice) == (1, 1)
    assert open_peers(bob) == (0, 0)

    # Stop (keyboard shortcut Escape) ends the call and releases the camera.
    alice.locator("body").press("Escape")
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    alice.wait_for_function(
        "() => window.__test.cameraTracks().every((t) => t.readyState === 'ended')"
    )
    assert camera_released(alice)
    assert open_peers(alice) == (0, 0)
    # Carol's partner left: she is told and searches again, and meets Bob.
    expect_partner(carol, "Bob")
    expect_partner(bob, "Carol")

    # Stop button: same for Bob.
    bob.get_by_test_id("stop").click()
    expect(bob.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    bob.wait_for_function(
        "() => window.__test.cameraTracks().every((t) => t.readyState === 'ended')"
    )
    assert camera_released(bob)
    assert open_peers(bob) == (0, 0)


def heap_used(page: Page) -> int:
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.enable")
        for _ in range(3):
            cdp.send("HeapProfiler.collectGarbage")
        usage = cdp.send("Runtime.getHeapUsage")
        return int(usage["usedSize"])
    finally:
        cdp.detach()


@pytest.mark.timeout(300)
@pytest.mark.timeout(240)  # thirty calls: 116 s in one CI run on a busy 2-core machine
def test_soak_thirty_nexts(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    # repeat window 0: with two partners, every Next meets one of them again
    srv = server_factory(find_rate_limit_ms=0, repeat_window_minutes=0)
    main = join(browser, contexts, srv.url, "Soak")
    partners = [join(browser, contexts, srv.url, f"Partner{i}") for i in (1, 2)]
    # main waits, Partner1 meets main, Partner2 waits for main's first Next
    main.get_by_test_id("start").click()
    expect(main.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    partners[0].get_by_test_id("start").click()
    expect_partner(partners[0], "Soak")
    partners[1].get_by_test_id("start").click()
    expect(partners[1].get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    def wait_call(n: int) -> None:
        """The n-th peer connection of the main page is connected."""
        main.wait_for_function(
            "n => window.__test.created() >= n && window.__test.latestState() === 'connected'",
            arg=n,
            timeout=15_000,
        )
        expect(main.get_by_test_id("status")).to_have_attribute("data-phase", "connected")

    wait_call(1)
    names = set()
    samples: dict[int, int] = {}
    presses = 30
    for i in range(1, presses + 1):
        names.add(main.get_by_test_id("partner-name").inner_text())
        if i % 2:
            main.get_by_test_id("next").click()
        else:
            main.locator("body").press("n")  # the keyboard shortcut
        wait_call(i + 1)
        main.wait_for_function(
            "() => window.__test.openPeers() <= 1 && window.__rc.peerConnectionsOpen() <= 1"
        )
        if i in (5, presses):
            samples[i] = heap_used(main)

    assert names == {"Partner1", "Partner2"}
    assert main.evaluate("() => window.__test.created()") == presses + 1
    assert open_peers(main) == (1, 1)
    for p in partners:
        p.wait_for_function(
            "() => window.__test.openPeers() <= 1 && window.__rc.peerConnectionsOpen() <= 1"
        )

    warm, end = samples[5], samples[presses]
    print(f"JS heap after warm-up {warm / 1e6:.2f} MB, after {presses} nexts {end / 1e6:.2f} MB")
    # 25 more calls; a leak of the peer connections, streams or handlers
    # would add far more than this.
    assert end < warm * 1.25 + 3_000_000, (warm, end)

    main.get_by_test_id("stop").click()
    expect(main.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    main.wait_for_function(
        "() => window.__test.openPeers() === 0 && window.__rc.peerConnectionsOpen() === 0"
    )
    assert camera_released(main)


def test_rate_limited_search_is_retried(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Start, Stop, Start within the server's 1 s limit: a toast with the retry
    time, then the page searches again by itself and gets matched."""
    dana = join(browser, contexts, server.url, "Dana")
    dana.get_by_test_id("start").click()
    expect(dana.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    dana.get_by_test_id("stop").click()
    expect(dana.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    dana.get_by_test_id("start").click()
    expect(dana.get_by_test_id("error")).to_contain_text("Retrying in", timeout=5_000)
    expect(dana.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    eve = join(browser, contexts, server.url, "Eve")
    eve.get_by_test_id("start").click()
    expect_partner(dana, "Eve")
    expect_partner(eve, "Dana")


def test_refused_token_returns_to_join_form(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """A token handed in through localStorage that the server refuses: the
    page says why and offers the nickname form again."""
    ctx = browser.new_context(permissions=["camera", "microphone"])
    contexts.append(ctx)
    ctx.add_init_script("window.localStorage.setItem('token', 'not-a-valid-token')")
    page = ctx.new_page()
    page.goto(server.url)
    expect(page.get_by_test_id("error")).to_contain_text("Authentication failed", timeout=10_000)
    expect(page.get_by_test_id("nickname")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('token')") is None


# The text of each message in a page's chat log, oldest first (own and partner
# lines, no system lines).
MESSAGES = "[data-testid=chat-log] li:is([data-kind=own], [data-kind=partner]) .chat-text"


def start_call(first: Page, second: Page, first_name: str, second_name: str) -> None:
    """``first`` waits, ``second`` joins them: they are partners."""
    first.get_by_test_id("start").click()
    expect(first.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    second.get_by_test_id("start").click()
    expect_partner(first, second_name)
    expect_partner(second, first_name)


def say(page: Page, text: str) -> None:
    """Type a chat message key by key (as a user does) and send it with Enter."""
    box = page.get_by_test_id("chat-input")
    expect(box).to_be_enabled()
    box.press_sequentially(text)
    box.press("Enter")
    expect(box).to_have_value("")


def test_chat_typing_report_and_ban(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Chat both ways in order, the typing indicator, then Report through the
    dialog: with a threshold of one report the reported user is cooled down at once
    (what reports alone may do: 10 minutes), sees the banned screen, and is refused
    again after reloading."""
    srv = server_factory(**ONE_REPORT_BANS, find_rate_limit_ms=0)
    alice = join(browser, contexts, srv.url, "Alice")
    bob = join(browser, contexts, srv.url, "Bob")
    start_call(alice, bob, "Alice", "Bob")

    # Bob types: Alice sees it, then the message, and the indicator goes away.
    expect(bob.get_by_test_id("chat-input")).to_be_enabled()
    bob.get_by_test_id("chat-input").press_sequentially("hello Alice")
    expect(alice.get_by_test_id("typing")).to_contain_text("Bob is typing", timeout=5_000)
    bob.get_by_test_id("chat-input").press("Enter")
    expect(alice.locator(MESSAGES)).to_have_text(["hello Alice"])
    expect(alice.get_by_test_id("typing")).to_have_text("")

    say(alice, "hi Bob")
    say(alice, "how are you?")
    expect(bob.locator(MESSAGES)).to_have_text(["hello Alice", "hi Bob", "how are you?"])
    say(bob, "fine, thanks")
    conversation = ["hello Alice", "hi Bob", "how are you?", "fine, thanks"]
    for page in (alice, bob):
        expect(page.locator(MESSAGES)).to_have_text(conversation)
        log = page.get_by_test_id("chat-log")
        # two of each side's own, both acknowledged by the server, and two of the partner's
        expect(log.locator("li[data-kind=own][data-status=sent]")).to_have_count(2)
        expect(log.locator("li[data-kind=partner]")).to_have_count(2)

    # Alice reports Bob through the dialog.
    alice.get_by_test_id("report").click()
    dialog = alice.get_by_test_id("report-dialog")
    expect(dialog).to_be_visible()
    alice.get_by_test_id("report-reason").select_option("harassment")
    alice.get_by_test_id("report-note").fill("rude to me")
    alice.get_by_test_id("report-submit").click()
    expect(dialog).to_be_hidden()
    # Alice is thanked (a notice shown for 5 s: checked now, before Bob's screen is).
    expect(alice.get_by_test_id("error")).to_contain_text("Report sent", timeout=5_000)

    # Bob is cooled down at once: the banned screen with the reason and a running clock.
    banned = bob.get_by_test_id("banned")
    expect(banned).to_be_visible(timeout=10_000)
    expect(bob.get_by_test_id("banned-reason")).to_contain_text("reported")
    left = bob.get_by_test_id("banned-time-left")
    expect(left).to_have_text(re.compile(r"^(10|\d) min \d\d s$"))
    shown = left.inner_text()
    bob.wait_for_function(
        "t => document.querySelector('[data-testid=banned-time-left]').textContent !== t",
        arg=shown,
        timeout=5_000,
    )
    expect(bob.get_by_test_id("start")).to_have_count(0)
    bob.wait_for_function(
        "() => window.__test.cameraTracks().every((t) => t.readyState === 'ended')"
    )
    assert open_peers(bob) == (0, 0)

    # Alice searches again by herself (auto-search is on).
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    expect(alice.get_by_test_id("chat-log")).to_contain_text("You reported Bob")

    # The report reached the server with its reason, note and the chat lines.
    admin = srv.token("Admin", sub="u-admin", role="admin")
    answer = httpx.get(
        srv.url + "/api/admin/reports", headers={"Authorization": f"Bearer {admin}"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    (report,) = answer.json()["reports"]
    assert (report["reason"], report["note"]) == ("harassment", "rude to me")
    assert [line["text"] for line in report["chat"]] == conversation

    # Reloading does not help: refused at connect, the banned screen again.
    bob.reload()
    expect(bob.get_by_test_id("banned")).to_be_visible(timeout=10_000)
    expect(bob.get_by_test_id("banned-reason")).to_contain_text("reported")
    expect(bob.get_by_test_id("nickname")).to_have_count(0)
    expect(bob.get_by_test_id("start")).to_have_count(0)


def add_interests(page: Page, *tags: str) -> None:
    box = page.get_by_test_id("interests")
    for tag in tags:
        box.fill(tag)
        box.press("Enter")


def test_common_interest_is_paired_and_shown(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Someone who waits without interests is passed over for a user who shares
    an interest; both pages show the common interest next to the partner name."""
    srv = server_factory(find_rate_limit_ms=0)
    early = join(browser, contexts, srv.url, "Early")
    early.get_by_test_id("start").click()
    expect(early.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    fan = join(browser, contexts, srv.url, "Fan")
    add_interests(fan, " Jazz", "chess", "tmp")
    chips = fan.locator("[data-testid=interest-chip] .chip-text")
    expect(chips).to_have_text(["jazz", "chess", "tmp"])
    fan.get_by_role("button", name="Remove interest tmp").click()
    expect(chips).to_have_count(2)
    fan.get_by_test_id("strict").check()  # only people who share an interest
    fan.get_by_test_id("start").click()
    expect(fan.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    newcomer = join(browser, contexts, srv.url, "Newbie")
    add_interests(newcomer, "JAZZ", "cooking")
    newcomer.get_by_test_id("start").click()

    expect_partner(newcomer, "Fan")
    expect_partner(fan, "Newbie")
    for page in (newcomer, fan):
        expect(page.get_by_test_id("common-interests")).to_contain_text("jazz")
        expect(page.get_by_test_id("common-interests")).not_to_contain_text("chess")
        expect(page.get_by_test_id("chat-log")).to_contain_text("You both like jazz")
    expect(early.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
