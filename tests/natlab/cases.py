"""The lab's matrix: one ``Case`` per network situation, run by ``run_case``.

Each case sets both routers, restarts ``randomchat serve`` with the case's ICE servers
and policy, starts the echo peer behind router B and, once it waits in the queue, peer
A behind router A: the bot, the adversary or the real page in Chromium
(tests.natlab.page), with a fresh strict interest tag; then it reads both JSON reports,
the routers' counters and the server's count of the call-stats candidate types. The
doctor case runs ``randomchat doctor`` behind router A alone (it brings its own echo
bot) and keeps its output.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.natlab.topology import METRICS_TOKEN, ROOT, TURN_IP, URL, VENV_BIN, Lab, NatKind

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
    mode_a: str = "bot"  # or "adversary", "page" (Chromium), "doctor"
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
    Case(
        "page udp-blocked/cone README order",
        "udp-blocked",
        "cone",
        True,
        README_ORDER,
        mode_a="page",
    ),
    Case(
        "doctor udp-blocked README order",
        "udp-blocked",
        "cone",
        True,
        README_ORDER,
        mode_a="doctor",
    ),
]


@dataclass
class Result:
    case: Case
    a: dict[str, Any]
    b: dict[str, Any]
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    server_types: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def connected(self) -> bool:
        sides = (self.a,) if self.case.mode_a == "doctor" else (self.a, self.b)
        return all(side.get("connect_ms") is not None for side in sides)

    def reported_types(self) -> dict[str, int]:
        """The local candidate types the peers of connected sides reported: what the
        server's candidate-type counter must hold after the case. The doctor prints only
        its own pair; its echo bot's local type is that pair's remote (both sides agree
        in every other case)."""
        if self.case.mode_a == "doctor":
            pair = (self.a["local_candidate"], self.a["remote_candidate"])
            return dict(Counter(str(t) for t in pair)) if self.connected else {}
        sides = [s for s in (self.a, self.b) if s.get("connect_ms") is not None]
        return dict(Counter(str(s["local_candidate"]) for s in sides))

    def line(self) -> str:
        def side(report: dict[str, Any]) -> str:
            if report.get("connect_ms") is None:
                return f"failed ({report.get('failure') or report.get('error')})"
            pair = f"{report['local_candidate']} -> {report['remote_candidate']}"
            via = f" via {report['relay_url']}" if report.get("relay_url") else ""
            return f"{pair}{via} in {report['connect_ms']} ms"

        if self.case.mode_a == "doctor":
            text = f"{self.case.name:<32} {self.a.get('turn_paths')}; call: {side(self.a)}"
            return text + f"; server counted {self.server_types}; {self.seconds:.1f} s"
        text = f"{self.case.name:<32} A: {side(self.a)}; B: {side(self.b)}"
        if self.case.policy == "relay":
            packets = {
                s: c.get("peers_out", 0) + c.get("peers_in", 0) for s, c in self.counters.items()
            }
            text += f"; packets between the peers: A {packets.get('a')}, B {packets.get('b')}"
            text += f"; B got candidates {self.b.get('signaled')}"
        if self.case.mode_a == "page":
            text += f"; the page said {self.a.get('words')!r}"
        return text + f"; server counted {self.server_types}; {self.seconds:.1f} s"


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
    env = {
        "SSL_CERT_FILE": str(lab.cert),
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(lab.directory),  # Chromium's profile and caches stay in the lab
    }
    started = time.monotonic()
    if case.mode_a == "doctor":
        result = Result(case, _doctor(lab, env), {})
    else:
        result = _call(lab, case, env)
    result.seconds = time.monotonic() - started
    result.counters = {side: lab.counters(side) for side in ("a", "b")}
    result.server_types = lab.calls_by_candidate_type()
    return result


def _call(lab: Lab, case: Case, env: dict[str, str]) -> Result:
    tag = "lab-" + secrets.token_hex(4)
    common = ["--url", URL, "--tag", tag, "--within", str(case.within)]
    python = [sys.executable, "-m", "tests.natlab.peer"]
    echo = [*python, *common, "--mode", "echo"]
    if case.mode_a == "page":
        if not (ROOT / "web" / "dist" / "index.html").exists():
            raise RuntimeError("the page case needs the built page: make web")
        camera = lab.directory / "camera.y4m"
        if not camera.exists():
            from tests.e2e.test_browser import write_fake_camera

            write_fake_camera(camera)
        page = ["--camera", str(camera), "--metrics-token", METRICS_TOKEN]
        peer_a = [sys.executable, "-m", "tests.natlab.page", *common, *page]
        echo += ["--hold", "30"]  # until the page has measured and pressed Stop
    else:
        peer_a = [*python, *common, "--mode", case.mode_a]
    log_b = lab.directory / f"peer-b-{tag}.log"
    log_a = lab.directory / f"peer-a-{tag}.log"
    b = lab.spawn("b", echo, stderr=log_b, env=env)
    _wait_ready(b)
    a = lab.spawn("a", peer_a, stderr=log_a, env=env)
    _wait_ready(a)
    within = case.within + 45
    result = Result(case, _read(a, within), _read(b, within))
    for process in (a, b):
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    return result


def _doctor(lab: Lab, env: dict[str, str]) -> dict[str, Any]:
    """``randomchat doctor`` from behind router A: its output, and its call as a report."""
    doctor = lab.spawn("a", [str(VENV_BIN / "randomchat"), "doctor", "--url", URL], env=env)
    try:
        out, _ = doctor.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        doctor.kill()
        out, _ = doctor.communicate()
    text = out.decode(errors="replace")
    connected = re.search(r"connected in (\d+) ms", text)
    pair = re.search(r"selected candidates\s+(\w+) -> (\w+)", text)
    paths = re.search(r"TURN paths\s+(.*)", text)
    return {
        "output": text,
        "exit": doctor.returncode,
        "connect_ms": int(connected.group(1)) if connected else None,
        "failure": None if connected else "no call",
        "local_candidate": pair.group(1) if pair else None,
        "remote_candidate": pair.group(2) if pair else None,
        "turn_paths": paths.group(1).strip() if paths else None,
    }
