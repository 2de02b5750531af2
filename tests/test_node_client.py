"""The seed protocol under the official JavaScript socket.io-client (tests/js)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from typing import Any

import jwt
import pytest

from tests.conftest import ROOT, SECRET

pytestmark = [pytest.mark.process, pytest.mark.node]


def _alg_none() -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'x', 'exp': 2**40})}."


def _tokens() -> dict[str, str]:
    exp = int(time.time()) + 3600
    names = [
        "alice",
        "bob",
        "carol",
        "dave",
        "header",
        "poll1",
        "poll2",
        "erin",
        "frank",
        "grace",
        "heidi",
        "ivan",
        "judy",
        "ken",
        "leo",
        "mallory",
        "niaj",
    ]
    tokens = {n: jwt.encode({"sub": f"id-{n}", "username": n, "exp": exp}, SECRET) for n in names}
    tokens["expired"] = jwt.encode({"sub": "x", "exp": int(time.time()) - 5}, SECRET)
    tokens["badsig"] = jwt.encode({"sub": "x", "exp": exp}, "z" * 40)
    tokens["algnone"] = _alg_none()
    tokens["garbage"] = "abc.def"
    return tokens


def test_official_socketio_client_suite(server_factory: Any) -> None:
    if shutil.which("node") is None or not (ROOT / "tests/js/node_modules").is_dir():
        pytest.fail("node and tests/js/node_modules are required: run `make test`")
    open_server = server_factory(find_rate_limit_ms=0, stun_urls=["stun:stun.test.invalid:3478"])
    limited = server_factory()
    env = {
        **os.environ,
        "RC_URL": open_server.url,
        "RC_URL_LIMITED": limited.url,
        "RC_TOKENS": json.dumps(_tokens()),
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "protocol.test.mjs"],
        cwd=ROOT / "tests/js",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr + open_server.log()
