"""The lab's matrix: one ``Case`` per network situation, run by ``run_case``.

Each case sets both routers, restarts ``randomchat serve`` with the case's ICE servers
and policy, starts the echo peer behind router B and, once it waits in the queue, the
bot (or the adversary) behind router A, both with a fresh strict interest tag; then it
reads both JSON reports and the routers' counters.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tests.natlab.topology import TURN_IP, URL, Lab, NatKind

TURN_UDP = f"turn:{TURN_IP}:3478?transport=udp"
TURN_TCP = f"turn:{TURN_IP}:3478?transport=tcp"
TURNS_443 = f"turns:{TURN_IP}:443?transport=tcp"
# The README's order: UDP first, then TCP, then TLS on 443.
README_ORDER = [TURN_UDP, TURN_TCP, TURNS_443]


@dataclass(frozen=True)
class Case:
    name: str
    nat_a: NatKind
    nat_b: NatKind
    stun: bool
    turn_urls: list[str]
    policy: str = "all"
    mode_a: str = "bot"
    within: float = 20.0  # the peers give up on connecting after this
    expect: str = "connected"  # or "failed"
    note: str = ""


CASES = [
    Case("cone/cone STUN", "cone", "cone", True, []),
    Case(
        "symmetric/symmetric STUN",
        "symmetric",
        "symmetric",
        True,
        [],
        within=8.0,
        expect="failed",
        note="no pair can work without a relay",
    ),
    Case("symmetric/symmetric TURN udp", "symmetric", "symmetric", True, [TURN_UDP]),
    Case("udp-blocked/cone README order", "udp-blocked", "cone", True, README_ORDER),
    Case("tcp443-only/cone turns:443", "tcp443-only", "cone", True, README_ORDER),
    Case("relay-only cone/cone", "cone", "cone", True, README_ORDER, policy="relay"),
    Case(
        "relay-only adversary/cone",
        "cone",
        "cone",
        True,
        README_ORDER,
        policy="relay",
        mode_a="adversary",
    ),
]


@dataclass
class Result:
    case: Case
    a: dict[str, Any]
    b: dict[str, Any]
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def connected(self) -> bool:
        return all(side.get("connect_ms") is not None for side in (self.a, self.b))

    def line(self) -> str:
        def side(report: dict[str, Any]) -> str:
            if report.get("connect_ms") is None:
                return f"failed ({report.get('failure') or report.get('error')})"
            pair = f"{report['local_candidate']} -> {report['remote_candidate']}"
            via = f" via {report['relay_url']}" if report.get("relay_url") else ""
            return f"{pair}{via} in {report['connect_ms']} ms"

        text = f"{self.case.name:<32} A: {side(self.a)}; B: {side(self.b)}"
        if self.case.policy == "relay":
            packets = {
                s: c.get("peers_out", 0) + c.get("peers_in", 0) for s, c in self.counters.items()
            }
            text += f"; packets between the peers: A {packets.get('a')}, B {packets.get('b')}"
            text += f"; B got candidates {self.b.get('signaled')}"
        return text


def _read(process: Any, within: float) -> dict[str, Any]:
    """The peer's JSON line (after ``ready``), or what went wrong."""
    deadline = time.monotonic() + within
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode(errors="replace").strip()
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
        if time.monotonic() > deadline:
            break
    process.wait(timeout=10)
    return {"error": f"peer exited {process.returncode} without a report", "connect_ms": None}


def _wait_ready(process: Any) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().decode(errors="replace").strip()
    if line != "ready":
        raise RuntimeError(f"peer did not start: {line!r} (exit {process.poll()})")


def run_case(lab: Lab, case: Case) -> Result:
    lab.set_router("a", case.nat_a)
    lab.set_router("b", case.nat_b)
    lab.start_server(stun=case.stun, turn_urls=case.turn_urls, policy=case.policy)
    tag = "lab-" + secrets.token_hex(4)
    env = {"SSL_CERT_FILE": str(lab.cert), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    common = ["--url", URL, "--tag", tag, "--within", str(case.within)]
    python = [sys.executable, "-m", "tests.natlab.peer"]
    log_b = lab.directory / f"peer-b-{tag}.log"
    log_a = lab.directory / f"peer-a-{tag}.log"
    started = time.monotonic()
    b = lab.spawn("b", [*python, *common, "--mode", "echo"], stderr=log_b, env=env)
    _wait_ready(b)
    a = lab.spawn("a", [*python, *common, "--mode", case.mode_a], stderr=log_a, env=env)
    _wait_ready(a)
    within = case.within + 45
    result = Result(case, _read(a, within), _read(b, within))
    for process in (a, b):
        process.wait(timeout=30)
    result.seconds = time.monotonic() - started
    result.counters = {side: lab.counters(side) for side in ("a", "b")}
    return result
