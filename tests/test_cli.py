"""The command line, run as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import jwt

from randomchat import __version__
from tests.conftest import RunningServer


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
    token = httpx.post(first.url + "/api/session", json={"username": "Ann"}).json()["token"]
    assert "generated a JWT secret" in first.log()
    assert token not in first.log()
    first.process.terminate()
    first.process.wait(10)
    second: RunningServer = server_factory(jwt_secret=None, data_dir=data)
    assert "generated a JWT secret" not in second.log()
    secret = (data / "jwt-secret").read_text().strip()
    assert jwt.decode(token, secret, algorithms=["HS256"])["username"] == "Ann"
