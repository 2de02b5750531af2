"""Issue 24 on the console's API: names beside ids, and undoing a ban.

A real Starlette app on a real SQLite database (the ``console`` fixture of
``test_console``). Reports keep the reported user's shown name; a user's earlier
names are the other names of reports about them, newest first and bounded. A ban
from a report is undone only by its moderator, within ``triage.UNDO_SECONDS``, and
the ban it replaced (a cool-down) holds again.
"""

# The fixture imported from test_console is pytest's to inject: the parameter reuses its name.
# ruff: noqa: F811

from __future__ import annotations

import time

import pytest

from randomchat.core.moderation import AUTO_BANNED_BY
from randomchat.db import audit, triage
from tests.test_console import CSRF, Console, console  # noqa: F401 (fixture)

pytestmark = pytest.mark.process

BASE = "/api/console/reports"


async def named_report(console: Console, reporter: str, reported: str, name: str, at: float) -> int:
    made = await console.db.report(
        reporter, reported, reason="spam", note="", chat=[], now=at, reported_name=name
    )
    return made.id


async def test_reports_show_the_name_as_given_and_the_earlier_names(console: Console) -> None:
    await named_report(console, "a", "rex", "Rex", 1000.0)
    await named_report(console, "b", "rex", "<i>Rexy</i>", 2000.0)
    await named_report(console, "c", "rex", "Rex", 3000.0)  # an old name again: newest
    await console.db.report("d", "old", reason="spam", note="", chat=[], now=500.0)
    client = await console.signed_in("root")
    async with client:
        reports = (await client.get(BASE)).json()["reports"]
        by_user = {(r["reported"], r["reportedName"]) for r in reports}
        assert by_user == {("rex", "Rex"), ("rex", "<i>Rexy</i>"), ("old", "")}
        assert all(r["reportedNames"] == ["Rex", "<i>Rexy</i>"] for r in reports[:3])
        assert reports[-1]["reportedNames"] == []  # a report from before 0006 has no name
        history = (await client.get("/api/console/users/rex")).json()
        assert history["names"] == ["Rex", "<i>Rexy</i>"]


async def test_a_user_with_many_names_shows_the_newest_few(console: Console) -> None:
    for i in range(triage.NAMES_PER_USER + 3):
        await named_report(console, f"r{i}", "shifty", f"name{i}", 1000.0 + i)
    names = await triage.names_of(console.db, ["shifty", "nobody"])
    last = triage.NAMES_PER_USER + 2
    assert names == {"shifty": [f"name{i}" for i in range(last, 2, -1)]}


async def test_undo_lifts_the_ban_reopens_the_report_and_is_audited(console: Console) -> None:
    report = await named_report(console, "a", "troll", "Troll", time.time())
    client = await console.signed_in("root")
    async with client:
        answer = await client.post(
            f"{BASE}/{report}/ban", json={"hours": 24, "reason": "spam"}, headers=CSRF
        )
        assert answer.status_code == 201
        assert await console.db.active_ban("troll", time.time()) is not None
        answer = await client.post(f"{BASE}/{report}/undo", json={}, headers=CSRF)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "open", "restored": False}
        assert await console.db.active_ban("troll", time.time()) is None
        assert [r["id"] for r in (await client.get(BASE)).json()["reports"]] == [report]
        # Twice is nothing to undo.
        assert (
            await client.post(f"{BASE}/{report}/undo", json={}, headers=CSRF)
        ).status_code == 409
    assert console.unbanned == ["troll"]
    entries = await audit.entries(console.db, limit=5)
    assert [(e.action, e.detail.get("undo")) for e in entries[:2]] == [
        ("unban", True),
        ("ban", None),
    ]


async def test_undo_restores_the_cool_down_the_ban_replaced(console: Console) -> None:
    now = time.time()
    cooldown = await console.db.ban(
        "troll", until=now + 600, reason="reports", created_by=AUTO_BANNED_BY, now=now - 60
    )
    report = await named_report(console, "a", "troll", "Troll", now)
    client = await console.signed_in("root")
    async with client:
        await client.post(f"{BASE}/{report}/ban", json={"hours": 24, "reason": "x"}, headers=CSRF)
        answer = await client.post(f"{BASE}/{report}/undo", json={}, headers=CSRF)
        assert answer.json() == {"status": "open", "restored": True}
    held = await console.db.active_ban("troll", time.time())
    assert held is not None and held.created_by == AUTO_BANNED_BY
    assert held.until == cooldown.until
    assert console.banned[-1].created_by == AUTO_BANNED_BY  # the server holds it again


async def test_only_the_banning_moderator_may_undo_and_only_for_a_while(
    console: Console,
) -> None:
    report = await named_report(console, "a", "troll", "Troll", time.time())
    root = await console.signed_in("root")
    other = await console.signed_in("other", "moderator")
    async with root, other:
        await root.post(f"{BASE}/{report}/ban", json={"hours": 24, "reason": "x"}, headers=CSRF)
        assert (await other.post(f"{BASE}/{report}/undo", json={}, headers=CSRF)).status_code == 409
        assert (await root.post(f"{BASE}/999/undo", json={}, headers=CSRF)).status_code == 404
        found = await triage.queued_report(console.db, report)
        assert found is not None
        late = time.time() + triage.UNDO_SECONDS + 1
        assert await triage.undo_ban(console.db, found, "console:root", late) is None
        assert await console.db.active_ban("troll", time.time()) is not None
        # A dismissed report has no ban to undo.
        dismissed = await named_report(console, "b", "troll", "Troll", time.time())
        await root.post(f"{BASE}/{dismissed}/dismiss", json={}, headers=CSRF)
        assert (
            await root.post(f"{BASE}/{dismissed}/undo", json={}, headers=CSRF)
        ).status_code == 409
