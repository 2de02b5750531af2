"""Calls that survive blips and restarts, and calls that cannot connect, in real Chromium.

Against real ``randomchat serve`` processes: a server restarted on the same port
and data directory mid-call (the media keeps flowing peer to peer and the two
pages resume the call with ``resume-call``); a searcher who keeps searching
across a restart; a call whose ICE cannot succeed (the page's test-only
``__rcTest.dropIce``), given up at the connect timeout for someone else; a short
socket outage (the page closes its own transport) recovered by Socket.IO's
connection-state recovery with the same socket id.

Waits are bounded by generous timeouts, never measured; the figures printed
(time to media, resume time) go to docs/performance.md.
"""

# ruff: noqa: F811
# (pytest fixtures imported from test_browser are parameters of the tests)
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import RunningServer, _start, _stop, free_port
from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    browser,
    chromium,
    contexts,
    expect_partner,
    join,
    wait_async,
    wait_remote_playing,
    web_dist,
)

pytestmark = pytest.mark.browser

FRAMES = "async () => await window.__test.inboundVideoFrames()"
# The connect timeout (seconds) written into the page's remembered choices
# (web/src/lib/choices.ts); the page reads it when it loads, so reload after.
CHOOSE_CONNECT_TIMEOUT = (
    "s => localStorage.setItem('choices.v1', JSON.stringify("
    "{...JSON.parse(localStorage.getItem('choices.v1') ?? '{}'), connectTimeout: s}))"
)


class Restartable:
    """A server that can be stopped and started again on the same port and data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.runs = 0
        self.current: RunningServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.runs += 1
        directory = self.root / f"run{self.runs}"
        directory.mkdir()
        self.current = _start(directory, port=self.port, data_dir=self.root / "data")

    def stop(self) -> None:
        if self.current is not None:
            _stop(self.current)
            self.current = None


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path)
    yield server
    server.stop()


def frames(page: Page) -> int:
    return int(page.evaluate(FRAMES))


def in_call(browser: Browser, contexts: list[BrowserContext], url: str) -> tuple[Page, Page]:
    alice = join(browser, contexts, url, "Alice")
    bob = join(browser, contexts, url, "Bob")
    alice.get_by_test_id("start").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    bob.get_by_test_id("start").click()
    expect_partner(alice, "Bob")
    expect_partner(bob, "Alice")
    deadline = time.monotonic() + 20
    wait_remote_playing(alice, deadline)
    wait_remote_playing(bob, deadline)
    return alice, bob


def say(sender: Page, receiver: Page, text: str) -> None:
    """A chat line goes from one to the other: the server pairs them."""
    sender.get_by_test_id("chat-input").fill(text)
    sender.get_by_test_id("chat-send").click()
    log = receiver.get_by_test_id("chat-log")
    expect(log.locator("li[data-kind=partner] .chat-text").last).to_have_text(text, timeout=10_000)


def time_to_media_ms(url: str) -> tuple[float, int]:
    """The pages' own time to media (match-found to first frame): mean ms and count."""
    text = httpx.get(url + "/metrics").text
    total = float(re.search(r"^randomchat_call_time_to_media_seconds_sum (\S+)$", text, re.M)[1])  # type: ignore[index]
    count = int(
        float(re.search(r"^randomchat_call_time_to_media_seconds_count (\S+)$", text, re.M)[1])
    )  # type: ignore[index]
    return (total / count * 1000 if count else 0.0), count


def test_a_server_restart_mid_call_keeps_the_media_and_the_call_resumes(
    restartable: Restartable, browser: Browser, contexts: list[BrowserContext]
) -> None:
    alice, bob = in_call(browser, contexts, restartable.url)
    ttm, reports = time_to_media_ms(restartable.url)
    print(f"time to media (the pages' own figure): {ttm:.0f} ms mean over {reports} reports")
    wait_async(alice, "() => window.__rc.peerConnectionsOpen() === 1")

    restartable.stop()
    for page in (alice, bob):
        expect(page.get_by_test_id("status")).to_have_attribute(
            "data-link", "reconnecting", timeout=10_000
        )
        expect(page.get_by_test_id("quality")).to_have_attribute("data-quality", "reconnecting")
        # the call stays, its connection too
        expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "connected")
    before = frames(alice), frames(bob)
    # media flows peer to peer while there is no server at all
    wait_async(alice, f"async () => (await window.__test.inboundVideoFrames()) > {before[0] + 10}")
    wait_async(bob, f"async () => (await window.__test.inboundVideoFrames()) > {before[1] + 10}")

    restartable.start()
    back = time.monotonic()
    for page in (alice, bob):
        expect(page.get_by_test_id("status")).to_have_attribute(
            "data-link", "online", timeout=30_000
        )
        log = page.get_by_test_id("chat-log")
        expect(log.locator("li[data-kind=system]").last).to_contain_text("call goes on")
    print(f"resume after the restart: {time.monotonic() - back:.1f} s from the new server's start")
    # the same call: the same peer connection, still carrying media; chat works again
    for page in (alice, bob):
        assert page.evaluate("() => window.__test.created()") == 1
        expect(page.get_by_test_id("partner-name")).to_have_text(
            "Bob" if page is alice else "Alice"
        )
        expect(page.get_by_test_id("notice")).to_have_count(0)
    say(alice, bob, "still there?")
    say(bob, alice, "yes")
    after = frames(alice)
    wait_async(alice, f"async () => (await window.__test.inboundVideoFrames()) > {after + 10}")
    # and Next still works on the resumed call: Bob is told
    alice.get_by_test_id("next").click()
    expect(bob.get_by_test_id("notice")).to_contain_text("Stranger", timeout=10_000)


def test_a_searcher_keeps_searching_across_a_restart(
    restartable: Restartable, browser: Browser, contexts: list[BrowserContext]
) -> None:
    carol = join(browser, contexts, restartable.url, "Carol")
    carol.get_by_test_id("start").click()
    expect(carol.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    restartable.stop()
    expect(carol.get_by_test_id("status")).to_have_attribute(
        "data-link", "reconnecting", timeout=10_000
    )
    restartable.start()
    expect(carol.get_by_test_id("status")).to_have_attribute("data-link", "online", timeout=30_000)
    expect(carol.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    # The new server has Carol in its queue: a newcomer meets her.
    dave = join(browser, contexts, restartable.url, "Dave")
    dave.get_by_test_id("start").click()
    expect_partner(dave, "Carol")
    expect_partner(carol, "Dave")


def test_a_call_that_cannot_connect_is_given_up_at_the_timeout_for_someone_else(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    alice = join(browser, contexts, server.url, "Alice")
    # Alice's page sends no ICE candidates and ignores Bob's: no path can exist.
    alice.evaluate(CHOOSE_CONNECT_TIMEOUT, 10)
    alice.add_init_script("window.__rcTest = { dropIce: true };")
    alice.reload()
    expect(alice.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    assert alice.evaluate("() => window.__rcTest.dropIce") is True
    # the page took the choice (the 20 s wait below would also pass at the default 15 s)
    expect(alice.get_by_test_id("connect-timeout")).to_have_value("10")
    bob = join(browser, contexts, server.url, "Bob")
    alice.get_by_test_id("start").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    bob.get_by_test_id("start").click()
    expect_partner(alice, "Bob")
    # Never connected, then the page says so in plain words and searches again
    # (Bob too; the two are not paired again).
    expect(alice.get_by_test_id("peer-state")).to_have_text(re.compile("Connecting"))
    expect(alice.get_by_test_id("notice")).to_have_text(
        "Could not connect to Bob. Finding someone else…", timeout=20_000
    )
    expect(alice.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    assert alice.evaluate("() => window.__rc.peerConnectionsOpen()") == 0
    # Someone else comes: Alice meets her.
    carol = join(browser, contexts, server.url, "Carol")
    carol.get_by_test_id("start").click()
    expect_partner(alice, "Carol")


def test_a_short_socket_outage_is_recovered_with_the_same_socket(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    alice, bob = in_call(browser, contexts, server.url)
    sid = alice.evaluate("() => window.__rc.socketId()")
    assert sid
    bob.get_by_test_id("chat-input").fill("while you were away")
    alice.evaluate("() => window.__rc.dropSocket()")
    # sent while Alice's socket is down: the server keeps it for her
    bob.get_by_test_id("chat-send").click()
    expect(alice.get_by_test_id("status")).to_have_attribute("data-link", "online", timeout=20_000)
    assert alice.evaluate("() => window.__rc.socketRecovered()") is True
    assert alice.evaluate("() => window.__rc.socketId()") == sid
    log = alice.get_by_test_id("chat-log")
    expect(log.locator("li[data-kind=partner] .chat-text").last).to_have_text("while you were away")
    # Bob never heard that Alice was gone; the call goes on both ways
    expect(bob.get_by_test_id("notice")).to_have_count(0)
    expect(bob.get_by_test_id("status")).to_have_attribute("data-phase", "connected")
    assert "disconnected" not in " ".join(
        bob.get_by_test_id("chat-log").locator("li[data-kind=system]").all_inner_texts()
    )
    say(alice, bob, "back")
    assert alice.evaluate("() => window.__test.created()") == 1
