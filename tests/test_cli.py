"""The command line, run as a newcomer runs it."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from randomchat import __version__
from randomchat.config import Settings
from randomchat.db import ChatLine, Database, audit, evidence, triage
from randomchat.guests import RulesDocument
from tests.conftest import RunningServer

pytestmark = pytest.mark.process

RULES = RulesDocument.load(Settings()).version  # the package's default rules (issue 15)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "randomchat", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_version() -> None:
    assert run("--version").stdout.strip() == f"randomchat {__version__}"


def test_bad_setting_exits_2_with_a_clear_message() -> None:
    result = run("serve", "--port", "99999")
    assert result.returncode == 2
    assert "--port: Input should be less than or equal to 65535" in result.stderr


def test_token_command_signs_with_the_kept_secret(tmp_path: Path) -> None:
    result = run("token", "--username", "Ann", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    secret = (tmp_path / "jwt-secret").read_text().strip()
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["username"] == "Ann" and claims["sub"]


def test_serve_keeps_its_generated_secret_across_restarts(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "keep"
    first: RunningServer = server_factory(jwt_secret=None, data_dir=data)
    token = httpx.post(
        first.url + "/api/session", json={"username": "Ann", "rulesVersion": RULES}
    ).json()["token"]
    assert "generated a JWT secret" in first.log()
    assert token not in first.log()
    first.process.terminate()
    first.process.wait(10)
    second: RunningServer = server_factory(jwt_secret=None, data_dir=data)
    assert "generated a JWT secret" not in second.log()
    secret = (data / "jwt-secret").read_text().strip()
    assert jwt.decode(token, secret, algorithms=["HS256"])["username"] == "Ann"


# -- bounded flags, escaped output, private files (issue 8 item 14) -------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ban", "u1", "--hours", "1e306", "--reason", "x"], "not between"),
        (["ban", "u1", "--hours", "1e-12", "--reason", "x"], "not between"),
        (["ban", "u1", "--hours", "nan", "--reason", "x"], "not between"),
        (["ban", "u1", "--hours", "1", "--reason", "   "], "1 to 500 characters"),
        (["reports", "--limit", "1e20"], "not a whole number"),
        (["reports", "--limit", "100000000000000000000"], "not a whole number"),
        (["reports", "--limit", "501"], "not between 1 and 500"),
        (["reports", "--offset", "99999999999"], "not between 0 and 1000000"),
        (["token", "--hours", "1e306"], "not between"),
    ],
)
def test_out_of_range_numbers_are_refused_with_a_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(*args, "--data-dir", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "randomchat.db").exists() or args[0] == "reports"


def test_escape_sequences_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e"
    banned = run("ban", "u\x1b[31m1", "--hours", "1", "--reason", evil, "--data-dir", str(tmp_path))
    assert banned.returncode == 0, banned.stderr
    assert "\x1b" not in banned.stdout and "\u202e" not in banned.stdout
    assert "\\x1b]0;pwned\\x07" in banned.stdout and "\\u202e" in banned.stdout

    async def seed() -> None:
        db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'randomchat.db'}")
        try:
            chat = [ChatLine("u\x1b[2J", "hi\x1b[31m", 1.0)]
            await db.report("r\x1b[1m", "u\x07", reason="spam", note=evil, chat=chat, now=1.0)
        finally:
            await db.close()

    asyncio.run(seed())
    for extra in ([], ["--json"]):
        listed = run("reports", *extra, "--data-dir", str(tmp_path))
        assert listed.returncode == 0, listed.stderr
        assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
        assert "\u202e" not in listed.stdout


def test_the_database_is_private_to_its_user(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    assert (
        run("ban", "u1", "--hours", "1", "--reason", "x", "--data-dir", str(data)).returncode == 0
    )
    assert stat.S_IMODE((data / "randomchat.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for sidecar in data.glob("randomchat.db-*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar
    # a file left world-readable by an older version is tightened on open
    (data / "randomchat.db").chmod(0o644)
    assert run("unban", "u1", "--data-dir", str(data)).returncode == 0
    assert stat.S_IMODE((data / "randomchat.db").stat().st_mode) == 0o600


def test_reads_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    """Run from the wrong directory, a read says where it looked instead of creating and
    showing a new, empty database; a command that opens one names it on standard error."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["admin", "list"], ["reports"], ["unban", "u1"]):
        done = subprocess.run(
            [sys.executable, "-m", "randomchat", *args],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=30,
            env=_without_settings(),
        )
        assert done.returncode == 3, done
        assert f"no database at {elsewhere / 'data' / 'randomchat.db'}" in done.stderr
        assert not (elsewhere / "data").exists()
    data = tmp_path / "data"
    created = run("ban", "u1", "--hours", "1", "--reason", "x", "--data-dir", str(data))
    assert created.returncode == 0, created.stderr
    assert f"database: {data / 'randomchat.db'} (new)" in created.stderr
    listed = run("admin", "list", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.splitlines()[0] == f"database: {data / 'randomchat.db'}"


def test_a_ban_from_a_report_closes_it_and_is_audited_as_the_console_does(
    tmp_path: Path,
) -> None:
    """``ban --report`` is the console's ban of a report's address (one implementation,
    ``console.actions``): the report is closed as banned, its picture dropped, and the
    audit log says ``ban-address`` with the report's id; ``unban --address`` is audited
    as the console's address lift."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'randomchat.db'}"

    async def seed() -> int:
        db = await Database.open(url)
        try:
            made = await db.report(
                "reporter-1",
                "troll",
                reason="spam",
                note="",
                chat=[],
                now=time.time(),
                reported_address="net-1",
            )
            await evidence.keep(db, made.id, "reporter-1", None, b"\xff\xd8jpeg", time.time())
            return made.id
        finally:
            await db.close()

    report_id = asyncio.run(seed())
    ban_args = ["--report", str(report_id), "--hours", "2", "--reason", "abuse"]
    banned = run("ban", *ban_args, "--data-dir", str(tmp_path))
    assert banned.returncode == 0, banned.stderr
    assert banned.stdout.startswith("banned troll and address net-1 until ")
    lifted = run("unban", "--address", "net-1", "--data-dir", str(tmp_path))
    assert lifted.returncode == 0, lifted.stderr
    assert lifted.stdout.strip() == "unbanned address net-1 (troll)"

    async def inspect() -> None:
        db = await Database.open(url)
        try:
            shown = await triage.queued_report(db, report_id)
            assert shown is not None and shown.status == "banned"
            assert shown.reviewed_by is not None and shown.reviewed_by.startswith("cli:")
            assert await evidence.with_pictures(db, [report_id]) == set()
            lift, ban = await audit.entries(db, limit=10, target="troll")  # newest first
        finally:
            await db.close()
        assert (ban.action, ban.actor, ban.reason) == ("ban-address", shown.reviewed_by, "abuse")
        # The console's entry (address, reportId, hours, until) and the surface it came from.
        assert ban.detail == {
            "via": "cli",
            "address": True,
            "reportId": report_id,
            "hours": 2,
            "until": ban.detail["until"],
        }
        assert (lift.action, lift.detail) == ("unban", {"via": "cli", "address": True})

    asyncio.run(inspect())


def _without_settings() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RANDOMCHAT_") and k not in ("DATABASE_URL", "JWT_ACCESS_SECRET")
    }


def test_no_token_in_the_servers_log(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socketio

    server: RunningServer = server_factory(log_level="debug")
    token = server.token("Ann")

    async def visit() -> None:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            f"{server.url}/?token={token}",
            namespaces=["/random-chat"],
            transports=["websocket"],
            auth={"token": token},
            wait_timeout=5,
        )
        await client.disconnect()
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.get(f"/api/admin/stats?token={token}")
            await http.get(f"/socket.io/?EIO=4&transport=polling&token={token}")
            await http.get(f"/nothing?access_token={token}")

    asyncio.run(visit())
    server.process.terminate()
    server.process.wait(10)
    log = server.log()
    assert "WebSocket /socket.io/" in log  # uvicorn's handshake line is there, scrubbed
    assert token not in log and token.split(".")[1] not in log
