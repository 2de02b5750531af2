"""A real coturn (Debian's ``turnserver``) on loopback, with TURN REST credentials.

coturn refuses loopback peers unless told otherwise (``allow-loopback-peers``): the
tests' peers and relays all live on 127.0.0.1. TLS, DTLS, the CLI and the web admin are
off; the log goes to a file that a failing test prints.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, stop_process

TURNSERVER = "turnserver"
REALM = "randomchat.test"
SECRET = "coturn-test-secret-" + "y" * 24


@dataclass
class Coturn:
    port: int
    secret: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def udp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    @property
    def stun_url(self) -> str:
        return f"stun:127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def require_turnserver() -> str:
    path = shutil.which(TURNSERVER)
    if path is None:
        pytest.fail("turnserver is missing: install Debian's coturn package (make system-deps)")
    return path


@contextmanager
def running_coturn(directory: Path, secrets: tuple[str, ...] = (SECRET,)) -> Iterator[Coturn]:
    """Start coturn on a free loopback port; stop it afterwards.

    With several ``secrets`` coturn accepts credentials signed by any of them (rotation).
    """
    binary = require_turnserver()
    port = free_port()
    low = free_port()  # relay ports: a small range, unlikely to collide on a shared machine
    log_path = directory / f"coturn-{port}.log"
    args = [
        binary,
        "-n",  # no configuration file: everything is here
        "--listening-ip=127.0.0.1",
        f"--listening-port={port}",
        "--relay-ip=127.0.0.1",
        f"--min-port={max(1024, low - 50)}",
        f"--max-port={min(65535, low + 50)}",
        "--use-auth-secret",
        *(f"--static-auth-secret={secret}" for secret in secrets),
        f"--realm={REALM}",
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--fingerprint",
        "--verbose",  # allocations and their outcome in the log
        f"--log-file={log_path}",
        "--simple-log",
        "--no-stdout-log",
        f"--pidfile={directory / f'coturn-{port}.pid'}",
        f"--userdb={directory / f'coturn-{port}.sqlite'}",  # not the system's /var/lib/turn
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    turn = Coturn(port, secrets[0], log_path, process)
    try:
        _wait_listening(turn)
        yield turn
    finally:
        stop_process(process)


def _wait_listening(turn: Coturn) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if turn.process.poll() is not None:
            raise RuntimeError(f"coturn exited early:\n{turn.log()}")
        try:
            with socket.create_connection(("127.0.0.1", turn.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"coturn did not start listening:\n{turn.log()}")
