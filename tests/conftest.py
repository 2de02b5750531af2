"""Shared fixtures: a real server in a subprocess, and helpers to reach it."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    port: int
    secret: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def token(self, username: str = "Tester", **claims: Any) -> str:
        import jwt

        body = {
            "sub": claims.pop("sub", f"u-{username}"),
            "username": username,
            "exp": int(time.time()) + 3600,
            **claims,
        }
        return jwt.encode(body, self.secret, algorithm="HS256")


def _start(tmp: Path, **overrides: Any) -> RunningServer:
    port = free_port()
    flags: dict[str, Any] = {
        "port": port,
        "jwt_secret": SECRET,
        "stun_urls": ["none"],  # tests never send packets beyond this machine
        "data_dir": tmp / "data",
        "web_dir": ROOT / "web" / "dist",
        **overrides,
    }
    port = int(flags["port"])  # a test may ask for a given port (a restart on the same one)
    args = [sys.executable, "-m", "randomchat", "serve"]
    for key, value in flags.items():
        flag = {"cors_origins": "cors-origin", "stun_urls": "stun-url"}.get(key, key)
        if isinstance(value, bool):  # an on/off option: --flag or --no-flag
            args.append(f"--{'' if value else 'no-'}{flag.replace('_', '-')}")
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                args += [f"--{flag.replace('_', '-')}", str(item)]
    log_path = tmp / f"server-{port}.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RANDOMCHAT_") and k != "JWT_ACCESS_SECRET"
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # generous: a loaded 2-core machine starts Python slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                return RunningServer(url, port, flags["jwt_secret"] or "", process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log_path.read_text()}")


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM (a server drains and exits), then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stop(server: RunningServer) -> None:
    stop_process(server.process)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real ``randomchat serve`` processes with extra flags; stopped after the test."""
    started: list[RunningServer] = []

    def factory(**overrides: Any) -> RunningServer:
        directory = tmp_path / f"s{len(started)}"
        directory.mkdir()
        server = _start(directory, **overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        _stop(server)


@pytest.fixture
def server(server_factory: Any) -> RunningServer:
    return server_factory()  # type: ignore[no-any-return]


@pytest.fixture(autouse=True, scope="module")
def _collect_what_the_module_left() -> Iterator[None]:
    """Collect the reference cycles a module's tests left behind (an unclosed transport
    keeps its loop and protocol in one) as that module ends, so that a ResourceWarning
    about them is reported against that module, not against whichever later test the
    collector happens to run in."""
    yield
    gc.collect()


# What a test needs, cheapest first (make check runs the first two; make test all five):
# pure: no socket, process or file beyond tmp_path; server: a server in this process
# (ASGI, loopback sockets); process: real processes (serve, redis-server, coturn,
# PostgreSQL, node, the CLI); browser: real Chromium; soak: minutes of load or fuzzing.
TIERS = ("pure", "server", "process", "browser", "soak")


def _tiers(item: pytest.Item) -> set[str]:
    return {mark.name for mark in item.iter_markers() if mark.name in TIERS}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has one tier. A browser test without a timeout of its own gets 240 s
    instead of the default 120: its length follows the machine's load (a restart-and-
    resume test took 36 s in one CI run and 62 s in another a day later), and a timeout
    is for a test that hangs. Files with browser tests are put first."""
    untiered = sorted({str(i.path.relative_to(ROOT)) for i in items if len(_tiers(i)) != 1})
    if untiered:
        raise pytest.UsageError(
            f"each test needs exactly one tier marker ({', '.join(TIERS)}): {', '.join(untiered)}"
        )
    browser_files = set()
    for item in items:
        if item.get_closest_marker("browser"):
            browser_files.add(item.path)
            if not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(240))
    # Files with browser tests run first. They are the longest (a minute or two each on
    # a worker), and pytest-xdist hands out whole files in this order (with
    # --no-loadscope-reorder, as make test runs it): started last, one of them kept a
    # worker busy while the other had nothing left to do.
    items.sort(key=lambda item: item.path not in browser_files)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under ``CI=true`` a skip is a failure: a test skipped for a missing binary (nginx,
    redis-server, PostgreSQL) would otherwise let CI pass without checking what it is for.
    ``make system-deps`` installs all of them."""
    report = yield
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {reason}"
    return report
