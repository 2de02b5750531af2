"""Issue 25: ``/api/admin`` and ``/api/console`` are one implementation under two URLs.

A real Starlette app with both surfaces on a real SQLite database (the ``console``
fixture of ``test_console``). A record has one JSON shape whichever surface serves
it; an action taken through one is seen, audited and undone through the other.
"""

# The fixture imported from test_console is pytest's to inject: the parameter reuses its name.
# ruff: noqa: F811

from __future__ import annotations

import time

import pytest

from randomchat.db import audit, triage
from tests.test_console import CSRF, Console, bearer, console  # noqa: F401 (fixture)

pytestmark = pytest.mark.process


def admin() -> dict[str, str]:
    """An admin's bearer header, made when it is used: a token made at import would have
    expired by the time a long run reaches this module (its lifetime is 10 minutes)."""
    return bearer("admin")


async def guest_report(console: Console, reported: str, address: str | None) -> int:
    made = await console.db.report(
        "reporter-1",
        reported,
        reason="spam",
        note="",
        chat=[],
        now=time.time(),
        reported_address=address,
    )
    return made.id


async def test_a_ban_has_one_shape_on_both_surfaces(console: Console) -> None:
    async with console.client() as client:
        by_console = await client.post(
            "/api/console/bans",
            json={"userId": "u1", "hours": 1, "reason": "spam"},
            headers={**admin(), **CSRF},
        )
        by_admin = await client.post(
            "/api/admin/bans", json={"userId": "u2", "hours": 1, "reason": "spam"}, headers=admin()
        )
        assert by_console.status_code == by_admin.status_code == 201
        assert by_console.json().keys() == by_admin.json().keys()
        assert by_admin.json()["createdBy"] == by_console.json()["createdBy"] == "admin:script-1"
        # Moderation data is never kept by a cache, on either surface.
        assert by_admin.headers["cache-control"] == by_console.headers["cache-control"]
        assert by_admin.headers["cache-control"] == "no-store"
        listed = await client.get("/api/admin/bans", headers=admin())
        assert {b["userId"] for b in listed.json()["bans"]} == {"u1", "u2"}
    assert [b.user_id for b in console.banned] == ["u1", "u2"]


async def test_an_admin_ban_of_a_report_closes_it_in_the_console_queue(console: Console) -> None:
    report = await guest_report(console, "troll", "net-1")
    async with console.client() as client:
        banned = await client.post(
            "/api/admin/bans",
            json={"reportId": report, "hours": 2, "reason": "abuse"},
            headers=admin(),
        )
        assert banned.status_code == 201, banned.text
        assert banned.json()["addressHash"] == "net-1"
        seen = await client.get(f"/api/console/reports/{report}", headers=admin())
        assert seen.json()["status"] == "banned"
        assert seen.json()["reviewedBy"] == "admin:script-1"
        history = await client.get("/api/console/users/troll", headers=admin())
        assert history.json()["banned"] is True
    [entry] = await audit.entries(console.db, limit=10, target="troll")
    assert entry.action == "ban-address"
    assert entry.actor == "admin:script-1"
    assert entry.detail["via"] == "api" and entry.detail["reportId"] == report
    assert entry.detail["hours"] == 2


async def test_a_ban_lifted_by_the_admin_api_is_audited_as_the_console_lifts(
    console: Console,
) -> None:
    async with console.client() as client:
        for user_id in ("a", "b"):
            made = await client.post(
                "/api/admin/bans",
                json={"userId": user_id, "hours": 1, "reason": "x"},
                headers=admin(),
            )
            assert made.status_code == 201
        by_admin = await client.delete("/api/admin/bans/a", headers=admin())
        by_console = await client.post(
            "/api/console/bans/lift", json={"userId": "b", "reason": "appeal"}, headers=admin()
        )
        assert by_admin.status_code == by_console.status_code == 204
        again = await client.delete("/api/admin/bans/a", headers=admin())
        assert again.status_code == 404
        active = await client.get("/api/console/bans", headers=admin())
        assert [b for b in active.json()["bans"] if b["endedAt"] is None] == []
    lifts = await audit.entries(console.db, limit=10, action="unban")
    assert {(e.target, e.reason, e.detail.get("via")) for e in lifts} == {
        ("a", "", "api"),
        ("b", "appeal", None),
    }
    assert console.unbanned == ["a", "b"]


async def test_an_address_lift_ends_every_ban_on_it_and_tells_the_server(
    console: Console,
) -> None:
    first = await guest_report(console, "g1", "net-2")
    second = await guest_report(console, "g2", "net-2")
    async with console.client() as client:
        for report in (first, second):
            made = await client.post(
                f"/api/console/reports/{report}/ban-address",
                json={"hours": 1, "reason": "raid"},
                headers={**admin(), **CSRF},
            )
            assert made.status_code == 201, made.text
        lifted = await client.delete("/api/admin/address-bans/net-2", headers=admin())
        assert lifted.status_code == 204
        none_left = await client.delete("/api/admin/address-bans/net-2", headers=admin())
        assert none_left.status_code == 404
    assert sorted(console.unbanned) == ["g1", "g2"]
    assert await console.db.active_ban("g1", time.time()) is None
    entries = await audit.entries(console.db, limit=10, action="unban")
    assert {(e.target, e.detail.get("address")) for e in entries} == {("g1", True), ("g2", True)}


async def test_validation_is_the_same_on_both_surfaces(console: Console) -> None:
    body = {"userId": "u1", "hours": 0, "reason": "x"}  # under a minute
    async with console.client() as client:
        by_admin = await client.post("/api/admin/bans", json=body, headers=admin())
        by_console = await client.post("/api/console/bans", json=body, headers={**admin(), **CSRF})
        assert by_admin.status_code == by_console.status_code == 422
        assert by_admin.json() == by_console.json()
        both = await client.post(
            "/api/admin/bans",
            json={"userId": "u1", "reportId": 1, "hours": 1, "reason": "x"},
            headers=admin(),
        )
        assert both.status_code == 422
    assert await triage.search_bans(console.db, time.time()) == []
