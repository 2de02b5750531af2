"""``randomchat doctor`` (the real command, in a subprocess) against a local deployment:
a real ``randomchat serve`` whose STUN and TURN are a real coturn."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.turn.coturn import Coturn

pytestmark = pytest.mark.process

WITHIN = 120  # seconds for the whole doctor run; it normally takes a few


def doctor(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "randomchat", "doctor", "--url", url],
        capture_output=True,
        text=True,
        timeout=WITHIN,
        check=False,
    )


def lines(output: str) -> dict[str, str]:
    """Check name -> status, from the doctor's one-line-per-check output."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition("  ")
        if status.strip() in ("ok", "FAIL", "skipped"):
            found[rest.strip()[:22].strip()] = status.strip()
    return found


def deployment(server_factory: Any, turn: Coturn, secret: str) -> str:
    server = server_factory(
        stun_urls=[turn.stun_url],
        turn_url=[turn.udp_url, turn.tcp_url],
        turn_secret=[secret],
    )
    return str(server.url)


def test_doctor_passes_on_a_healthy_deployment(server_factory: Any, coturn: Coturn) -> None:
    result = doctor(deployment(server_factory, coturn, coturn.secret))
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines(result.stdout)
    assert checks == {
        "guest token": "ok",
        "websocket": "ok",
        "ICE servers": "ok",
        "STUN binding": "ok",
        "TURN udp": "ok",
        "TURN tcp": "ok",
        "call with echo bot": "ok",
        "media both ways": "ok",
        "selected candidates": "ok",
    }, result.stdout
    assert "relay -> relay" in result.stdout  # with TURN configured, the call is relay-only
    assert result.stdout.rstrip().endswith("all 9 checks passed")


def test_doctor_names_the_turn_check_with_a_wrong_secret(
    server_factory: Any, coturn: Coturn
) -> None:
    result = doctor(deployment(server_factory, coturn, "a-secret-coturn-does-not-know"))
    assert result.returncode == 1, result.stdout + result.stderr
    checks = lines(result.stdout)
    assert checks["guest token"] == checks["websocket"] == checks["STUN binding"] == "ok"
    assert checks["TURN udp"] == checks["TURN tcp"] == "FAIL", result.stdout
    assert "401" in result.stdout and "static-auth-secret" in result.stdout  # the fix hint
    assert "check(s) failed: TURN udp, TURN tcp" in result.stdout
