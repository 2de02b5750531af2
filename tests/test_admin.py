"""The moderation API on a real Starlette app and a real SQLite database, and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from randomchat import auth
from randomchat.config import Settings
from randomchat.db import Ban, ChatLine, Database
from tests.conftest import SECRET

pytestmark = pytest.mark.process

HOUR = 3600.0


class Harness:
    def __init__(self, db: Database, client: httpx.AsyncClient) -> None:
        self.db = db
        self.client = client
        self.banned: list[Ban] = []
        self.unbanned: list[str] = []

    def headers(self, role: str | None = "admin", secret: str = SECRET) -> dict[str, str]:
        token, _, _ = auth.issue(secret, "Mod", 600, user_id="mod-1", role=role)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    from randomchat.admin import admin_routes

    settings = Settings(jwt_secret=SECRET, data_dir=tmp_path)
    db = await Database.open(settings.database)
    holder: list[Harness] = []

    async def on_ban(ban: Ban) -> None:
        holder[0].banned.append(ban)

    async def on_unban(user_id: str) -> None:
        holder[0].unbanned.append(user_id)

    app = Starlette(routes=admin_routes(settings, db, on_ban=on_ban, on_unban=on_unban))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        holder.append(Harness(db, client))
        yield holder[0]
    await db.close()


ENDPOINTS = [
    ("GET", "/api/admin/reports"),
    ("GET", "/api/admin/bans"),
    ("POST", "/api/admin/bans"),
    ("DELETE", "/api/admin/bans/u1"),
    ("GET", "/api/admin/stats"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_no_token_is_401_with_a_bearer_challenge(
    harness: Harness, method: str, path: str
) -> None:
    response = await harness.client.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "],
)
async def test_a_refused_token_is_401(harness: Harness, authorization: str) -> None:
    response = await harness.client.get(
        "/api/admin/stats", headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_signed_with_another_secret_is_401(harness: Harness) -> None:
    headers = harness.headers(secret="another-secret-" + "y" * 40)
    response = await harness.client.get("/api/admin/stats", headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("role", [None, "user", "Admin"])
async def test_a_non_admin_is_403(
    harness: Harness, method: str, path: str, role: str | None
) -> None:
    response = await harness.client.request(
        method,
        path,
        json={"userId": "u1", "hours": 1, "reason": "x"},
        headers=harness.headers(role),
    )
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert harness.banned == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"hours": 1, "reason": "spam"}, "userId"),
        ({"userId": "  ", "hours": 1, "reason": "spam"}, "userId"),
        ({"userId": "u1", "hours": 0, "reason": "spam"}, "hours"),
        ({"userId": "u1", "hours": -3, "reason": "spam"}, "hours"),
        ({"userId": "u1", "hours": "soon", "reason": "spam"}, "hours"),
        ({"userId": "u1", "hours": 1e9, "reason": "spam"}, "hours"),
        ({"userId": "u1", "hours": 1}, "reason"),
        ({"userId": "u1", "hours": 1, "reason": "x" * 501}, "reason"),
        (["u1"], "body"),
    ],
)
async def test_bad_ban_requests_are_422(harness: Harness, body: Any, where: str) -> None:
    response = await harness.client.post("/api/admin/bans", json=body, headers=harness.headers())
    assert response.status_code == 422
    assert response.json()["detail"].startswith(where)
    assert harness.banned == []


async def test_a_body_that_is_not_json_is_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/api/admin/bans", content=b"{nope", headers=harness.headers()
    )
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=ten", "offset=-1"])
async def test_bad_report_queries_are_422(harness: Harness, query: str) -> None:
    response = await harness.client.get(f"/api/admin/reports?{query}", headers=harness.headers())
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_ban_list_and_unban(harness: Harness) -> None:
    before = time.time()
    response = await harness.client.post(
        "/api/admin/bans",
        json={"userId": " u1 ", "hours": 2, "reason": " spam "},
        headers=harness.headers(),
    )
    assert response.status_code == 201
    ban = response.json()
    assert ban["userId"] == "u1"
    assert ban["reason"] == "spam"
    assert ban["createdBy"] == "admin:mod-1"
    assert ban["until"] - ban["createdAt"] == pytest.approx(2 * HOUR)
    assert ban["createdAt"] >= before
    assert [b.user_id for b in harness.banned] == ["u1"]
    assert await harness.db.active_ban("u1", time.time()) == harness.banned[0]

    listed = await harness.client.get("/api/admin/bans", headers=harness.headers())
    assert listed.status_code == 200
    assert listed.json() == {"bans": [ban]}

    gone = await harness.client.delete("/api/admin/bans/u1", headers=harness.headers())
    assert gone.status_code == 204
    assert harness.unbanned == ["u1"]
    assert await harness.db.active_ban("u1", time.time()) is None
    again = await harness.client.delete("/api/admin/bans/u1", headers=harness.headers())
    assert again.status_code == 404
    assert "u1" in again.json()["detail"]
    listed = await harness.client.get("/api/admin/bans", headers=harness.headers())
    assert listed.json() == {"bans": []}


async def test_a_failing_on_ban_does_not_undo_the_ban(tmp_path: Path) -> None:
    from randomchat.admin import admin_routes

    settings = Settings(jwt_secret=SECRET, data_dir=tmp_path)
    db = await Database.open(settings.database)

    async def broken(ban: Ban) -> None:
        raise RuntimeError("no gateway")

    app = Starlette(routes=admin_routes(settings, db, on_ban=broken))
    token, _, _ = auth.issue(SECRET, "Mod", 600, role="admin")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.post(
                "/api/admin/bans",
                json={"userId": "u1", "hours": 1, "reason": "x"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 201
        assert await db.active_ban("u1", time.time()) is not None
    finally:
        await db.close()


async def test_reports_newest_first_with_paging_and_filter(harness: Harness) -> None:
    now = time.time()
    chat = [ChatLine("b", "go away", now - 3)]
    await harness.db.report("a", "b", reason="harassment", note="rude", chat=chat, now=now - 2)
    await harness.db.report("c", "b", reason="spam", note="", chat=[], now=now - 1)
    await harness.db.report("a", "d", reason="other", note="", chat=[], now=now)

    response = await harness.client.get("/api/admin/reports", headers=harness.headers())
    assert response.status_code == 200
    reports = response.json()["reports"]
    assert [(r["reporter"], r["reported"]) for r in reports] == [("a", "d"), ("c", "b"), ("a", "b")]
    assert reports[2] == {
        "id": reports[2]["id"],
        "reporter": "a",
        "reported": "b",
        "reason": "harassment",
        "note": "rude",
        "chat": [{"sender": "b", "text": "go away", "sentAt": now - 3}],
        "createdAt": now - 2,
        "weight": 1.0,  # issue 15: a report's weight and the keyed hashes of the addresses
        "reporterAddress": None,
        "reportedAddress": None,
    }
    page = await harness.client.get(
        "/api/admin/reports?limit=1&offset=1", headers=harness.headers()
    )
    assert [r["reporter"] for r in page.json()["reports"]] == ["c"]
    about_b = await harness.client.get("/api/admin/reports?user_id=b", headers=harness.headers())
    assert {r["reported"] for r in about_b.json()["reports"]} == {"b"}
    assert len(about_b.json()["reports"]) == 2


async def test_stats(harness: Harness) -> None:
    now = time.time()
    await harness.db.report("a", "b", reason="spam", note="", chat=[], now=now - 48 * HOUR)
    await harness.db.report("a", "b", reason="spam", note="", chat=[], now=now)
    await harness.db.ban("b", until=now + HOUR, reason="r", created_by="t", now=now)
    await harness.db.block("a", "b", now)
    response = await harness.client.get("/api/admin/stats", headers=harness.headers())
    assert response.status_code == 200
    assert response.json() == {
        "reportsTotal": 2,
        "reports24h": 1,
        "activeBans": 1,
        "blocksTotal": 1,
    }


async def test_a_database_failure_is_503(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from randomchat.admin import admin_routes
    from tests.conftest import free_port

    async def on_ban(ban: Ban) -> None:
        pass

    # Nothing listens on the port: every query fails to connect.
    engine = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    db = Database(engine)
    settings = Settings(jwt_secret=SECRET, data_dir=tmp_path)
    app = Starlette(routes=admin_routes(settings, db, on_ban=on_ban))
    token, _, _ = auth.issue(SECRET, "Mod", 600, role="admin")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.get(
                "/api/admin/stats", headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 503
        assert response.json()["detail"]
    finally:
        await db.close()


# -- the CLI ----------------------------------------------------------------------


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RANDOMCHAT_") and k not in ("DATABASE_URL", "JWT_ACCESS_SECRET")
    }
    return subprocess.run(
        [sys.executable, "-m", "randomchat", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


async def test_cli_ban_reports_unban_against_an_open_database(tmp_path: Path) -> None:
    """The CLI and a running server share the SQLite file; the server sees CLI bans."""
    data = tmp_path / "data"
    db = await Database.open(Settings(data_dir=data).database)
    try:
        now = time.time()
        await db.report(
            "a",
            "b",
            reason="harassment",
            note="was rude\nvery",
            chat=[ChatLine("b", "hi", now - 2)],
            now=now,
        )

        banned = await asyncio.to_thread(cli, data, "ban", "b", "--hours", "3", "--reason", "abuse")
        assert banned.returncode == 0, banned.stderr
        assert banned.stdout.startswith("banned b until ")
        seen = await db.active_bans(time.time())
        assert [(b.user_id, b.reason) for b in seen] == [("b", "abuse")]
        assert seen[0].created_by.startswith("cli:")
        assert seen[0].until - seen[0].created_at == pytest.approx(3 * HOUR)

        table = await asyncio.to_thread(cli, data, "reports")
        assert table.returncode == 0, table.stderr
        header, row = table.stdout.splitlines()
        assert header.split() == ["ID", "TIME", "REPORTED", "REPORTER", "REASON", "CHAT", "NOTE"]
        assert "harassment" in row and "was rude very" in row

        as_json = await asyncio.to_thread(cli, data, "reports", "--json", "--user", "b")
        assert as_json.returncode == 0, as_json.stderr
        [report] = json.loads(as_json.stdout)
        assert report["reported"] == "b"
        assert report["chat"] == [{"sender": "b", "text": "hi", "sentAt": now - 2}]
        nobody = await asyncio.to_thread(cli, data, "reports", "--json", "--user", "zz")
        assert json.loads(nobody.stdout) == []

        lifted = await asyncio.to_thread(cli, data, "unban", "b")
        assert lifted.returncode == 0, lifted.stderr
        assert await db.active_ban("b", time.time()) is None
        again = await asyncio.to_thread(cli, data, "unban", "b")
        assert again.returncode == 1
        assert "no active ban" in again.stderr
    finally:
        await db.close()


def test_cli_refuses_bad_ban_arguments(tmp_path: Path) -> None:
    assert cli(tmp_path, "ban", "b", "--hours", "0", "--reason", "x").returncode == 2
    assert cli(tmp_path, "ban", "b", "--hours", "1").returncode == 2
    assert cli(tmp_path, "reports", "--limit", "0").returncode == 2
    assert cli(tmp_path, "reports", "--offset", "-1").returncode == 2


async def test_cli_reports_on_an_empty_database(tmp_path: Path) -> None:
    await (await Database.open(Settings(data_dir=tmp_path / "fresh").database)).close()
    result = await asyncio.to_thread(cli, tmp_path / "fresh", "reports")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no reports"


def test_cli_storage_failure_exits_3(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")  # where the data directory should be
    result = cli(tmp_path / "file", "ban", "b", "--hours", "1", "--reason", "x")
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1].startswith("randomchat: ")


# -- bounded numbers and bodies (issue 8 item 14) ---------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "offset=1e20",
        "offset=100000000000000000000",
        "offset=1000001",
        "limit=1e3",
        "limit=100000000000000000000",
    ],
)
async def test_out_of_range_paging_is_422_not_500(harness: Harness, query: str) -> None:
    for path in ("/api/admin/reports", "/api/admin/bans"):
        resp = await harness.client.get(f"{path}?{query}", headers=harness.headers())
        assert resp.status_code == 422, (path, query, resp.text)


@pytest.mark.parametrize("hours", [1e306, 1e-12, "Infinity", "NaN"])
async def test_out_of_range_ban_hours_are_422(harness: Harness, hours: Any) -> None:
    body = {"userId": "u1", "hours": hours, "reason": "x"}
    resp = await harness.client.post("/api/admin/bans", json=body, headers=harness.headers())
    assert resp.status_code == 422 and "hours" in resp.json()["detail"]


async def test_a_ban_body_over_the_cap_is_413(harness: Harness) -> None:
    body = {"userId": "u1", "hours": 1, "reason": "x" * 20_000}
    resp = await harness.client.post("/api/admin/bans", json=body, headers=harness.headers())
    assert resp.status_code == 413


async def test_a_ban_stored_with_an_infinite_end_still_lists(harness: Harness) -> None:
    """Rows written before the bounds existed: ``until = inf`` made the list answer 500."""
    from randomchat.db.database import MAX_UNTIL
    from randomchat.db.schema import bans

    now = time.time()
    async with harness.db._engine.begin() as conn:
        await conn.execute(
            bans.insert().values(
                user_id="forever", reason="x", created_at=now, until=float("inf"), created_by="t"
            )
        )
    resp = await harness.client.get("/api/admin/bans", headers=harness.headers())
    assert resp.status_code == 200
    assert resp.json()["bans"][0]["until"] == MAX_UNTIL


async def test_ban_list_pages(harness: Harness) -> None:
    now = time.time()
    for i in range(5):
        await harness.db.ban(f"u{i}", until=now + HOUR, reason="x", created_by="t", now=now + i)
    page = await harness.client.get("/api/admin/bans?limit=2&offset=1", headers=harness.headers())
    assert [b["userId"] for b in page.json()["bans"]] == ["u3", "u2"]
