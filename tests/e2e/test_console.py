"""The moderation console in real Chromium against a real ``randomchat serve``.

Two real users' pages make a report with chat lines; an admin signs in at
/admin, sees it, bans the reported user with the keyboard (whose open page shows
the banned screen), lifts the ban, and finds both actions in the audit log. A
moderator has no account management, neither on the page nor through the API;
a guest token reaches nothing behind /admin. axe-core finds no violations on
the console's views. Accounts are made with the real ``randomchat admin add``.
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    MESSAGES,
    ROOT,
    WEB,
    browser,
    chromium,
    contexts,
    join,
    say,
    start_call,
    web_dist,
)
from tests.e2e.test_page_quality import AXE, assert_accessible

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
API_STATUS = """
async ([method, path, headers, body]) => {
  const r = await fetch(path, { method, headers, body: body === null ? undefined : body });
  return r.status;
}
"""
CSRF = {"X-Requested-With": "randomchat-console", "Content-Type": "application/json"}


def add_account(server: Any, name: str, role: str) -> None:
    """``randomchat admin add`` on the server's own database, the password on stdin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANDOMCHAT_")}
    data = server.log_path.parent / "data"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "randomchat",
            "admin",
            "add",
            name,
            "--role",
            role,
            "--data-dir",
            str(data),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module", autouse=True)
def console_built(web_dist: Path) -> Path:
    """The console's page: rebuilt when an older build in web/dist lacks it."""
    page = web_dist / "admin.html"
    if not page.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("web/dist/admin.html is not built and npm is not installed")
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return page


def open_console(browser: Browser, contexts: list[BrowserContext], url: str) -> Page:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in web/ (axe-core is a dev dependency)")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    contexts.append(ctx)
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)  # records CSP violations (checked by ``contexts``)
    page.add_init_script(path=str(AXE))
    page.goto(url + "/admin")
    expect(page.get_by_test_id("signin-name")).to_be_visible(timeout=10_000)
    return page


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    page.get_by_test_id("signin-name").fill(name)
    page.get_by_test_id("signin-password").fill(password)
    page.get_by_test_id("signin-submit").click()


def api_status(
    page: Page, method: str, path: str, headers: dict[str, str], body: str | None = None
) -> int:
    return int(page.evaluate(API_STATUS, [method, path, headers, body]))


def report_partner(page: Page, reason: str, note: str) -> None:
    page.get_by_test_id("report").click()
    dialog = page.get_by_test_id("report-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("report-reason").select_option(reason)
    page.get_by_test_id("report-note").fill(note)
    page.get_by_test_id("report-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("error")).to_contain_text("Report sent", timeout=5_000)


def test_admin_triages_a_real_report_bans_lifts_and_audits(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory(find_rate_limit_ms=0)  # default threshold: one report bans nobody
    add_account(srv, "root", "admin")
    alice = join(browser, contexts, srv.url, "Alice")
    bob = join(browser, contexts, srv.url, "Bob")
    start_call(alice, bob, "Alice", "Bob")
    say(bob, "send me your number")
    expect(alice.locator(MESSAGES)).to_have_text(["send me your number"])
    say(alice, "no thanks")
    expect(alice.locator(MESSAGES)).to_have_text(["send me your number", "no thanks"])
    report_partner(alice, "harassment", "kept asking")
    bob_id = bob.evaluate("() => JSON.parse(atob(localStorage.token.split('.')[1])).sub")

    console = open_console(browser, contexts, srv.url)
    assert_accessible(console, "console sign-in")
    sign_in(console, "root", "not the password")
    expect(console.get_by_test_id("signin-error")).to_contain_text("Wrong name or password")
    sign_in(console, "root")
    expect(console.get_by_test_id("signed-in-as")).to_contain_text("root (admin)")

    # The report, with its chat lines and the users' histories.
    rows = console.get_by_test_id("report-row")
    expect(rows).to_have_count(1, timeout=10_000)
    detail = console.get_by_test_id("report-detail")
    expect(detail).to_contain_text("harassment")
    expect(detail).to_contain_text("kept asking")
    expect(console.get_by_test_id("detail-reported")).to_have_text(bob_id)
    chat = console.get_by_test_id("report-chat").locator("li")
    expect(chat).to_have_count(2)
    expect(chat.nth(0)).to_contain_text("send me your number")
    expect(chat.nth(0)).to_have_attribute("data-side", "reported")
    expect(console.get_by_test_id("history-reported-reported")).to_have_text("1")
    expect(console.get_by_test_id("history-reporter-filed")).to_have_text("1")
    # The weight the safety rules gave the report (1 before issue 15's weights).
    expect(console.get_by_test_id("detail-weight")).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    assert_accessible(console, "console report queue")

    # Triage from the keyboard: j selects, b opens the ban form.
    console.keyboard.press("j")
    expect(rows.first).to_be_focused()
    console.keyboard.press("b")
    expect(console.get_by_test_id("ban-form")).to_be_visible()
    expect(console.get_by_test_id("ban-hours")).to_be_focused()
    console.get_by_test_id("ban-hours").select_option("24")
    console.get_by_test_id("ban-reason").fill("harassment in chat")
    # Bob is a guest with a recorded network: the address is offered, ticked.
    expect(console.get_by_test_id("ban-address")).to_be_checked()
    expect(console.get_by_test_id("ban-address-hint")).to_contain_text("shared network")
    assert_accessible(console, "console ban form")
    console.get_by_test_id("ban-confirm").click()
    expect(console.get_by_test_id("console-message")).to_contain_text(f"Banned {bob_id}")
    expect(console.get_by_test_id("queue-empty")).to_be_visible()

    # Bob's open page shows the banned screen, with the moderator's reason.
    expect(bob.get_by_test_id("banned")).to_be_visible(timeout=10_000)
    expect(bob.get_by_test_id("banned-reason")).to_contain_text("harassment in chat")

    # The ban is listed with who set it; lifting it needs a reason.
    console.get_by_test_id("tab-bans").click()
    ban = console.locator(f"[data-testid=ban-row][data-user-id='{bob_id}']")
    expect(ban).to_contain_text("console:root")
    expect(ban).to_have_attribute("data-automatic", "false")
    assert_accessible(console, "console bans")
    ban.get_by_test_id("lift-button").click()
    console.get_by_test_id("lift-reason").fill("appeal accepted")
    console.get_by_test_id("lift-confirm").click()
    expect(console.get_by_test_id("bans-message")).to_contain_text(f"Lifted the ban of {bob_id}")
    expect(console.get_by_test_id("ban-row")).to_have_count(0)

    # Bob may come back: his open page learns it by itself (GET /api/ban), no reload.
    expect(bob.get_by_test_id("start")).to_be_enabled(timeout=15_000)
    expect(bob.get_by_test_id("banned")).to_have_count(0)

    # Both actions in the audit log, on the page and in the exports.
    console.get_by_test_id("tab-audit").click()
    expect(console.locator("[data-testid=audit-row][data-action=account-add]")).to_contain_text(
        "cli:"
    )
    audit = console.locator(
        "[data-testid=audit-row]:is([data-action=ban-address], [data-action=unban])"
    )
    expect(audit).to_have_count(2)
    expect(audit.nth(0)).to_have_attribute("data-action", "unban")
    expect(audit.nth(0)).to_contain_text("appeal accepted")
    expect(audit.nth(1)).to_have_attribute("data-action", "ban-address")
    expect(audit.nth(1)).to_contain_text("harassment in chat")
    for row in (audit.nth(0), audit.nth(1)):
        expect(row).to_contain_text("console:root")
        expect(row).to_have_attribute("data-target", bob_id)
    assert_accessible(console, "console audit log")
    exported = console.evaluate(
        """async () => {
          const csv = await (await fetch('/api/console/audit?format=csv')).text();
          const jsonl = await (await fetch('/api/console/audit?format=jsonl')).text();
          return [csv, jsonl.trim().split('\\n').map((l) => JSON.parse(l).action)];
        }"""
    )
    assert "appeal accepted" in exported[0] and "harassment in chat" in exported[0]
    assert exported[1] == ["unban", "ban-address", "account-add"]

    # Now: live figures from the server (Alice and Bob are online).
    console.get_by_test_id("tab-now").click()
    expect(console.get_by_test_id("now-online")).to_have_text("2", timeout=10_000)
    expect(console.get_by_test_id("now-reports-per-hour")).to_have_text("1")
    assert_accessible(console, "console now")
    console.get_by_test_id("tab-accounts").click()
    expect(console.get_by_test_id("accounts-table")).to_contain_text("root")
    assert_accessible(console, "console accounts")


def test_a_moderator_cannot_reach_account_management(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    srv = server_factory()
    add_account(srv, "mod", "moderator")
    console = open_console(browser, contexts, srv.url)
    sign_in(console, "mod")
    expect(console.get_by_test_id("signed-in-as")).to_contain_text("mod (moderator)")
    expect(console.get_by_test_id("tab-reports")).to_be_visible()
    expect(console.get_by_test_id("tab-bans")).to_be_visible()
    expect(console.get_by_test_id("tab-accounts")).to_have_count(0)
    assert_accessible(console, "moderator's console")
    assert api_status(console, "GET", "/api/console/accounts", CSRF) == 403
    body = '{"name": "sneaky", "role": "admin", "password": "a long enough password"}'
    assert api_status(console, "POST", "/api/console/accounts", CSRF, body) == 403
    assert api_status(console, "DELETE", "/api/console/accounts/mod", CSRF) == 403
    # What a moderator may do works through the same session.
    assert api_status(console, "GET", "/api/console/reports", CSRF) == 200
    ban = '{"userId": "someone", "hours": 1, "reason": "test"}'
    assert api_status(console, "POST", "/api/console/bans", CSRF, ban) == 201
    # Without the CSRF header the session changes nothing.
    assert (
        api_status(console, "POST", "/api/console/bans", {"Content-Type": "application/json"}, ban)
        == 403
    )


def test_a_guest_token_cannot_reach_the_console(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    guest = join(browser, contexts, server.url, "Guest")
    token = guest.evaluate("() => localStorage.token")
    assert token
    bearer = {"Authorization": f"Bearer {token}"}
    for path in (
        "/api/console/reports",
        "/api/console/bans",
        "/api/console/audit",
        "/api/console/now",
        "/api/console/accounts",
        "/api/admin/reports",
    ):
        assert api_status(guest, "GET", path, bearer) == 403, path
        assert api_status(guest, "GET", path, {}) == 401, path
    ban = '{"userId": "someone", "hours": 1, "reason": "x"}'
    assert api_status(guest, "POST", "/api/console/bans", {**bearer, **CSRF}, ban) == 403
    # /admin itself is only the sign-in form: nothing behind it without an account.
    console = open_console(browser, contexts, server.url)
    expect(console.get_by_test_id("tab-reports")).to_have_count(0)
    sign_in(console, "Guest", "whatever-password")
    expect(console.get_by_test_id("signin-error")).to_contain_text("Wrong name or password")
