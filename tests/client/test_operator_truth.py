"""Issue 24: what ``randomchat doctor`` and the echo bot tell an operator is true.

The doctor against a real ``randomchat serve`` without STUN or TURN (the tests' default)
must say that those were not checked, never "all checks passed", and fail with
``--strict``; the echo bot must report how long a call lasted, not its connect time."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from typing import Any

import pytest

from randomchat.client.peer import Media, Peer

pytestmark = pytest.mark.process

HOLD = 2.0  # seconds the caller stays in the call with the echo bot


def doctor(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "randomchat", "doctor", "--url", url, *flags],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_doctor_says_what_it_did_not_check(server: Any) -> None:
    result = doctor(server.url)  # STUN off (--stun-url none), no TURN
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"^skipped\s+STUN binding", out, re.M), out
    assert re.search(r"^skipped\s+TURN allocation", out, re.M), out
    assert "all checks passed" not in out
    last = out.rstrip().splitlines()[-1]
    assert last == "6 passed; 2 skipped: not checked: STUN binding, TURN allocation", out


def test_doctor_strict_fails_on_a_skipped_check(server: Any) -> None:
    result = doctor(server.url, "--strict")
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stdout.rstrip().splitlines()[-1]
    assert "2 skipped (failed: --strict): not checked: STUN binding" in last, result.stdout


def test_doctor_relay_without_turn_fails_at_once(server: Any) -> None:
    """--relay where the server has no TURN: said plainly, not a 15 s wait for a match
    the server refuses (privacy_unavailable)."""
    result = doctor(server.url, "--relay")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "relay only: no TURN server" in result.stdout, result.stdout


async def test_echo_bot_reports_how_long_the_call_lasted(server_factory: Any) -> None:
    """The real ``randomchat echo-bot`` (a subprocess): its line for a call held HOLD
    seconds gives that length, beside the time it took to connect."""
    server = server_factory(find_rate_limit_ms=0)
    command = [sys.executable, "-m", "randomchat", "echo-bot", "--url", server.url, "--count", "1"]
    bot = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        assert bot.stdout is not None
        async with asyncio.timeout(30):
            assert "is waiting" in (await bot.stdout.readline()).decode()  # it has joined
        peer = Peer(server.url, username="Caller", media=Media("pattern", width=64, height=48))
        try:
            await peer.connect()
            await peer.search()
            async with asyncio.timeout(10):
                call = await peer.next_call()
            assert await call.wait_connected(20), call.report()
            await asyncio.sleep(HOLD)
        finally:
            await peer.close()  # the bot's call ends here; --count 1: it reports and exits
        async with asyncio.timeout(20):
            out = (await bot.stdout.read()).decode()
            assert await bot.wait() == 0, out
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    found = re.search(r"Caller \[.*call lasted (\d+\.\d) s \(connected in (\d+) ms\)", out)
    assert found, out
    lasted, connect_ms = float(found[1]), int(found[2])
    # the bot connects a moment after the caller: a little under HOLD is fine
    assert HOLD - 0.5 <= lasted < HOLD + 5, out
    assert connect_ms < HOLD * 1000, out
