"""Issue 15 on the page, in real Chromium with fake devices against a real server:
the rules and 18+ gate before the first search, the proof of work, video users
need a camera (and are told why), text-only users meet each other, the partner's
camera / mic state, safe view (blurred until tapped), the nudity classifier
(a test double that reports nudity, and the real nsfwjs model loaded from our
own origin), and the banned screen for a refused POST /api/session.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    MESSAGES,
    ONE_REPORT_BANS,
    accept_rules_and_join,
    browser,
    chromium,
    contexts,
    expect_partner,
    join,
    open_and_join,
    say,
    start_call,
    wait_remote_playing,
    web_dist,
)
from tests.e2e.test_page_quality import AXE, PHONE, assert_accessible

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1000, "height": 720}

# No camera on this machine: getUserMedia fails as it does without a device.
NO_CAMERA = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException('Requested device not found', 'NotFoundError');
};
"""

# Whether the proof-of-work progress was ever on the page (it may last a moment only).
POW_SEEN = """
new MutationObserver(() => {
  const shown = document.querySelector('[data-testid=pow-progress]');
  if (shown) window.__powSeen = shown.getAttribute('role');
}).observe(document, { childList: true, subtree: true });
"""

# TEST-ONLY classifier double (the page's documented window.__rcTestHooks):
# reports nudity while the test sets window.__nude.
NUDITY_DOUBLE = """
window.__nude = false;
window.__rcTestHooks = { classify: () => ({ nudity: window.__nude === true }) };
"""

# Auto-lift (a clean first verdict unblurs, issue 24) off: these tests are about the tap. Set in
# the key used before choices.v1, which the page migrates (web/src/lib/choices.ts).
AUTO_LIFT_OFF = "localStorage.setItem('safeViewAutoLift', 'off');"


def visitor(
    browser: Browser,
    contexts: list[BrowserContext],
    *,
    phone: bool = False,
    camera: bool = True,
    scripts: tuple[str, ...] = (),
) -> BrowserContext:
    """A fresh visitor's context (own storage), with axe-core loaded in every page."""
    size = PHONE if phone else DESKTOP
    options: dict[str, Any] = {"viewport": size, "permissions": ["camera", "microphone"]}
    if phone:
        options |= {"device_scale_factor": 3, "is_mobile": True, "has_touch": True}
    ctx = browser.new_context(**options)
    contexts.append(ctx)
    ctx.add_init_script(path=str(AXE))
    if not camera:
        ctx.add_init_script(NO_CAMERA)
    for script in scripts:
        ctx.add_init_script(script)
    return ctx


def choose_text(page: Page) -> None:
    gear = page.get_by_test_id("sheet-open")
    phone = gear.is_visible()  # a phone keeps the choices in the settings sheet
    if phone:
        gear.click()
    page.get_by_test_id("mode-text").check()
    expect(page.get_by_test_id("mode-text")).to_be_checked()
    if phone:
        page.keyboard.press("Escape")


def session_requests(page: Page) -> list[dict[str, Any]]:
    """The bodies of the page's POST /api/session, recorded from now on."""
    bodies: list[dict[str, Any]] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/session"):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", seen)
    return bodies


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_rules_gate_blocks_the_first_search_until_accepted(
    server: Any, browser: Browser, contexts: list[BrowserContext], phone: bool
) -> None:
    ctx = visitor(browser, contexts, phone=phone)
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)
    posted = session_requests(page)
    page.goto(server.url)
    rules = httpx.get(server.url + "/api/rules", timeout=5).json()
    text = page.get_by_test_id("rules-text")
    expect(text).to_contain_text("18 years old")
    expect(text).to_have_attribute("data-version", rules["version"])
    expect(page.get_by_test_id("rules-accept")).not_to_be_checked()
    assert_accessible(page, "rules gate")

    # Join without accepting: refused on the page, no session, no room.
    page.get_by_test_id("nickname").fill("Gated")
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("rules-required")).to_contain_text("18 or older")
    expect(page.get_by_test_id("rules-accept")).to_be_focused()
    expect(page.get_by_test_id("start")).to_have_count(0)
    assert posted == []
    assert page.evaluate("() => localStorage.getItem('token')") is None
    assert_accessible(page, "rules gate refused")

    # Accept: the session carries the rules version, and the room opens.
    page.get_by_test_id("rules-accept").check()
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    assert posted == [{"username": "Gated", "rulesVersion": rules["version"]}]
    assert page.evaluate("() => localStorage.getItem('rulesAccepted')") == rules["version"]

    # Acceptance of this version is remembered: after "Change" the box is ticked.
    page.get_by_role("button", name="Change nickname").click()
    expect(page.get_by_test_id("rules-accept")).to_be_checked()

    # A version accepted earlier that the server no longer has is not remembered as accepted.
    page.evaluate("() => localStorage.setItem('rulesAccepted', '000000000000')")
    page.reload()
    expect(page.get_by_test_id("rules-text")).to_be_visible()
    expect(page.get_by_test_id("rules-accept")).not_to_be_checked()


def test_name_refused_and_nicknames_off(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory()
    page = visitor(browser, contexts).new_page()
    page.goto(srv.url)
    accept_rules_and_join(page, "HornyBoy")
    refused = page.get_by_test_id("name-refused")
    expect(refused).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("nickname")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("nickname")).to_be_focused()
    assert_accessible(page, "name refused")
    page.get_by_test_id("nickname").fill("Sam")
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)

    # --nicknames off: no field; everyone is "Stranger".
    anon = server_factory(nicknames="off")
    page = visitor(browser, contexts).new_page()
    page.goto(anon.url)
    expect(page.get_by_test_id("nicknames-off")).to_be_visible()
    expect(page.get_by_test_id("nickname")).to_have_count(0)
    page.get_by_test_id("rules-accept").check()
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)


def test_proof_of_work_is_solved_in_the_page(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """--pow always: the first POST is refused with pow-required, the page fetches a
    challenge from our server, solves it with altcha-lib in a worker, and joins."""
    srv = server_factory(pow="always", pow_max_number=20_000)
    page = visitor(browser, contexts, scripts=(POW_SEEN,)).new_page()
    page.add_init_script(INSTRUMENT)
    posted = session_requests(page)
    page.goto(srv.url)
    accept_rules_and_join(page, "Worker")
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=30_000)
    assert [("altcha" in body) for body in posted] == [False, True]
    # the progress was shown while it ran (however short), as a status for screen readers
    assert page.evaluate("() => window.__powSeen") == "status"


def test_video_needs_a_camera_and_text_users_meet_each_other(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """A visitor without a camera is told why and is not queued in video mode; two
    video users meet each other; two text-only users meet each other (not a waiting
    video user), with no peer connection and no camera, and chat."""
    srv = server_factory(find_rate_limit_ms=0)
    camless = open_and_join(visitor(browser, contexts, camera=False), srv.url, "Camless")
    told = camless.get_by_test_id("camera-required")
    expect(told).to_contain_text("needs your camera")
    expect(told).to_contain_text("No camera or microphone was found")
    assert_accessible(camless, "camera required")

    video = join(browser, contexts, srv.url, "Vid")
    video.get_by_test_id("start").click()
    expect(video.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    camless.get_by_test_id("start").click()
    expect(told).to_be_visible()
    expect(camless.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    # Vid is still free: the next video user (with a camera) is the one who meets Vid.
    other = join(browser, contexts, srv.url, "Cam")
    other.get_by_test_id("start").click()
    expect_partner(video, "Cam")
    expect_partner(other, "Vid")
    expect(camless.get_by_test_id("status")).to_have_attribute("data-phase", "idle")

    # A video user waits again; the camless visitor takes the offered text chat.
    other.get_by_test_id("stop").click()  # Vid searches again by itself
    expect(video.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    camless.get_by_test_id("use-text-mode").click()
    expect(camless.get_by_test_id("mode-text")).to_be_checked()
    expect(told).to_have_count(0)
    expect(camless.get_by_test_id("stage")).to_have_count(0)
    camless.get_by_test_id("start").click()
    expect(camless.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    texter = open_and_join(visitor(browser, contexts, phone=True), srv.url, "Texter")
    choose_text(texter)
    texter.get_by_test_id("start").click()
    expect_partner(texter, "Camless")
    expect_partner(camless, "Texter")
    expect(video.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    for page in (camless, texter):
        assert page.evaluate("() => window.__test.created()") == 0  # no peer connection
        expect(page.get_by_test_id("stage")).to_have_count(0)
        expect(page.get_by_test_id("chat-input")).to_be_visible()
    # text mode released the camera the room had asked for
    assert all(
        t["readyState"] == "ended" for t in texter.evaluate("() => window.__test.cameraTracks()")
    )
    say(texter, "hello from a text chat")
    expect(camless.locator(MESSAGES)).to_have_text(["hello from a text chat"])
    say(camless, "hi!")
    expect(texter.locator(MESSAGES)).to_have_text(["hello from a text chat", "hi!"])
    assert_accessible(camless, "text chat in a call")
    assert_accessible(texter, "text chat in a call on a phone")

    # Next in text mode searches text users again.
    texter.get_by_test_id("next").click()
    expect(texter.get_by_test_id("status")).to_have_attribute("data-phase", "searching")


def test_partner_sees_camera_off_and_muted(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    ann = open_and_join(visitor(browser, contexts), server.url, "Ann")
    ben = open_and_join(visitor(browser, contexts, phone=True), server.url, "Ben")
    start_call(ann, ben, "Ann", "Ben")
    wait_remote_playing(ben, deadline=time.monotonic() + 15)
    state = ben.get_by_test_id("partner-video-state")
    expect(state).to_have_count(0)

    ann.get_by_test_id("camera").click()
    expect(state).to_have_text("Camera off", timeout=10_000)
    expect(ben.get_by_test_id("partner-media-live")).to_have_text("Ann turned the camera off.")
    assert_accessible(ben, "partner camera off")
    ann.get_by_test_id("mute").click()
    expect(ben.get_by_test_id("partner-muted")).to_have_text("Muted", timeout=10_000)
    expect(ben.get_by_test_id("partner-media-live")).to_contain_text("Ann is muted.")

    ann.get_by_test_id("camera").click()
    ann.get_by_test_id("mute").click()
    expect(state).to_have_count(0, timeout=10_000)
    expect(ben.get_by_test_id("partner-muted")).to_have_count(0)

    # The picture stops arriving (Ann's track ends without a word): "Video paused".
    ann.evaluate(
        "() => document.querySelector('[data-testid=local-video]').srcObject"
        ".getVideoTracks().forEach((t) => t.stop())"
    )
    expect(state).to_have_text("Video paused", timeout=15_000)


def test_safe_view_starts_blurred_and_reveals_on_tap(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    cat = open_and_join(
        visitor(browser, contexts, phone=True, scripts=(AUTO_LIFT_OFF,)), server.url, "Cat"
    )
    dan = open_and_join(visitor(browser, contexts), server.url, "Dan")
    start_call(cat, dan, "Cat", "Dan")
    wait_remote_playing(cat, deadline=time.monotonic() + 15)
    remote = cat.get_by_test_id("remote-video")
    expect(remote).to_have_attribute("data-veiled", "true")
    assert "blur" in remote.evaluate("v => getComputedStyle(v).filter")
    assert_accessible(cat, "safe view veiled on a phone")

    cat.get_by_test_id("safe-view-reveal").tap()
    expect(remote).to_have_attribute("data-veiled", "false")
    assert remote.evaluate("v => getComputedStyle(v).filter") == "none"
    expect(cat.get_by_test_id("safe-view-reveal")).to_have_count(0)

    # The next call starts blurred again; turning safe view off is remembered.
    dan.get_by_test_id("safe-view").uncheck()
    expect(dan.get_by_test_id("remote-video")).to_have_attribute("data-veiled", "false")
    assert dan.evaluate("() => JSON.parse(localStorage.getItem('choices.v1')).safeView") is False
    dan.reload()
    expect(dan.get_by_test_id("safe-view")).not_to_be_checked(timeout=10_000)


def test_classifier_double_reporting_nudity_reblurs_and_offers_a_report(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(find_rate_limit_ms=0)
    eve = open_and_join(
        visitor(browser, contexts, scripts=(NUDITY_DOUBLE, AUTO_LIFT_OFF)), srv.url, "Eve"
    )
    fay = open_and_join(visitor(browser, contexts), srv.url, "Fay")
    start_call(eve, fay, "Eve", "Fay")
    wait_remote_playing(eve, deadline=time.monotonic() + 15)
    eve.get_by_test_id("safe-view-reveal").click()
    remote = eve.get_by_test_id("remote-video")
    expect(remote).to_have_attribute("data-veiled", "false")
    expect(eve.get_by_test_id("report-nudity")).to_have_count(0)

    eve.evaluate("() => { window.__nude = true; }")
    expect(remote).to_have_attribute("data-veiled", "true", timeout=10_000)
    veil = eve.get_by_test_id("safe-view-veil")
    expect(veil).to_contain_text("may show nudity")
    assert_accessible(eve, "nudity flagged")
    eve.get_by_test_id("report-nudity").click()
    expect(eve.get_by_test_id("error")).to_contain_text("Report sent", timeout=10_000)
    expect(eve.get_by_test_id("chat-log")).to_contain_text("You reported Fay")

    admin = srv.token("Admin", sub="u-admin", role="admin")
    answer = httpx.get(
        srv.url + "/api/admin/reports", headers={"Authorization": f"Bearer {admin}"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    assert [r["reason"] for r in answer.json()["reports"]] == ["nudity"]


@pytest.mark.timeout(180)  # the model's first load takes tens of seconds on a busy machine
def test_real_model_loads_from_our_origin_and_sees_no_nudity(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """nsfwjs with its bundled MobileNetV2, in the page's worker: every request stays on
    our origin, and the fake camera (a test pattern) is not nude. Prints the cost
    figures that docs/performance.md reports."""
    ctx_a = visitor(browser, contexts)
    requests: list[str] = []
    ctx_a.on("request", lambda r: requests.append(r.url))
    gil = open_and_join(ctx_a, server.url, "Gil")
    hal = open_and_join(visitor(browser, contexts), server.url, "Hal")
    start_call(gil, hal, "Gil", "Hal")
    wait_remote_playing(gil, deadline=time.monotonic() + 15)
    # Two frames: the first verdict (worker, wasm and model loaded) and one in the steady
    # state. On a busy machine a frame takes seconds and the 25 % duty cap waits 3x that,
    # so five frames took more than two minutes in one CI run.
    gil.wait_for_function(
        "() => (window.__rcSafety?.classifierStats()?.frames ?? 0) >= 2", timeout=120_000
    )
    stats: dict[str, Any] = gil.evaluate("() => window.__rcSafety.classifierStats()")
    print(f"classifier in the page: {json.dumps(stats)}")
    assert stats["errors"] == 0, stats["lastError"]
    assert stats["lastVerdict"]["nudity"] is False, stats["lastVerdict"]
    assert stats["lastVerdict"]["scores"], stats
    foreign = [u for u in requests if not u.startswith((server.url, "blob:", "data:"))]
    assert foreign == [], foreign
    assert any("/assets/classifier.worker" in u for u in requests)
    assert any("/assets/group1-shard1of1" in u for u in requests)
    frames, busy = stats["frames"], stats["busyMs"]
    print(
        f"time to first verdict {stats['firstVerdictMs']:.0f} ms, "
        f"{busy / frames:.0f} ms per frame in the worker, "
        f"{frames / (stats['runningMs'] / 1000):.2f} frames/s, "
        f"main thread {stats['grabMs'] / frames:.1f} ms per frame"
    )


def test_banned_guest_in_a_fresh_context_sees_the_banned_screen(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """A report alone cools the reported guest down and leaves their network alone: a
    fresh context (a new guest) from the same address may join. A moderator's ban of
    the report with the address then refuses such a context at POST /api/session with
    403 banned: the banned screen, not the room."""
    srv = server_factory(**ONE_REPORT_BANS, find_rate_limit_ms=0)
    ivy = open_and_join(visitor(browser, contexts), srv.url, "Ivy")
    jon = open_and_join(visitor(browser, contexts), srv.url, "Jon")
    start_call(ivy, jon, "Ivy", "Jon")
    ivy.get_by_test_id("report").click()
    ivy.get_by_test_id("report-reason").select_option("harassment")
    ivy.get_by_test_id("report-submit").click()
    expect(jon.get_by_test_id("banned")).to_be_visible(timeout=10_000)
    expect(jon.get_by_test_id("banned-reason")).to_contain_text("cool-down")

    housemate = visitor(browser, contexts).new_page()
    housemate.goto(srv.url)
    accept_rules_and_join(housemate, "Kim")
    expect(housemate.get_by_test_id("start")).to_be_enabled(timeout=10_000)

    admin = {"Authorization": f"Bearer {srv.token('root', sub='admin-1', role='admin')}"}
    (report,) = httpx.get(srv.url + "/api/admin/reports", headers=admin, timeout=5).json()[
        "reports"
    ]
    body = {"reportId": report["id"], "hours": 24, "reason": "harassment"}
    answer = httpx.post(srv.url + "/api/admin/bans", json=body, headers=admin, timeout=5)
    assert answer.status_code == 201, answer.text
    fresh = visitor(browser, contexts).new_page()
    fresh.goto(srv.url)
    accept_rules_and_join(fresh, "Jon2")
    expect(fresh.get_by_test_id("banned")).to_be_visible(timeout=10_000)
    expect(fresh.get_by_test_id("banned-time-left")).to_be_visible()
    expect(fresh.get_by_test_id("start")).to_have_count(0)
    assert fresh.evaluate("() => localStorage.getItem('token')") is None
    assert_accessible(fresh, "banned at join")
