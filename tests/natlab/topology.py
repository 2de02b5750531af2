"""The lab's network: namespaces, nftables routers, coturn and ``randomchat serve``.

```
 peer A 10.1.0.2 ─ router A ─ 198.51.100.2 ┐            ┌ 203.0.113.2 ─ router B ─ 10.2.0.2 peer B
                  (nftables)   198.51.100.1 ┴─ "public" ─┴ 203.0.113.1  (nftables)
                                   192.0.2.1: randomchat serve (port 443, plain HTTP)
                                   192.0.2.2: coturn (3478 UDP/TCP, TLS on 443)
```

The "public" side uses the documentation ranges (RFC 5737), not private ones, so
coturn runs the safe configuration of the README and deploy/ unchanged: its
``denied-peer-ip`` list refuses every private, loopback and link-local address, and the
peers' host candidates (10.x) are refused like any real user's, while their public
mappings (198.51.100.2, 203.0.113.2) and coturn's own relay address are allowed. Each
router counts every packet between its peer and anything other than the servers
(``peers_out``, ``peers_in``): in a relay-only call both stay at zero.

Like a home router, each drops unsolicited packets to itself from the outside. Without
that Linux is not a cone NAT: a partner's early check creates a conntrack entry for the
router's own address and port, the peer's own packet to that partner then clashes with
it, and masquerade picks another port, so hole punching never succeeds (a dropped
packet's conntrack entry is never confirmed, so nothing clashes).

Every name carries a random suffix, so a run that crashed and left namespaces behind
does not break the next one; ``close`` removes all of it on every path out.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
SERVER_IP = "192.0.2.1"
TURN_IP = "192.0.2.2"
SERVERS_NET = "192.0.2.0/24"
URL = f"http://{SERVER_IP}:443"
SECRET = "nat-lab-turn-secret-" + "x" * 24
METRICS_TOKEN = "nat-lab-metrics-" + "y" * 16
NatKind = Literal["cone", "symmetric", "udp-blocked", "tcp443-only"]

# The safe coturn lines (README, deploy/turnserver.conf; docs/networks.md says why).
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.168.0.0-192.168.255.255",
    "::1",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


def run(*args: str, ns: str | None = None, stdin: str | None = None) -> str:
    """Run a command (in namespace ``ns``); its stdout; raises with stderr on failure."""
    command = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def available() -> str | None:
    """Why the lab cannot run here, or None when it can (root, namespaces, nft, coturn)."""
    import os
    import shutil

    if os.geteuid() != 0:
        return "the NAT lab needs root (network namespaces, nftables)"
    for tool in ("ip", "nft", "turnserver", "openssl"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is missing (make system-deps installs it)"
    name = "rcprobe" + secrets.token_hex(3)
    try:
        run("ip", "netns", "add", name)
        run("ip", "netns", "del", name)
    except RuntimeError as exc:
        return f"network namespaces are not available: {exc}"
    return None


def _ruleset(kind: NatKind) -> str:
    """One router's nftables table: masquerade, the peer counters, and the kind's filter."""
    random = " fully-random" if kind == "symmetric" else ""
    counters = (
        f'iifname "lan" ip daddr != {SERVERS_NET} counter name "peers_out"\n'
        f'    oifname "lan" ip saddr != {SERVERS_NET} counter name "peers_in"\n'
    )
    if kind == "udp-blocked":
        policy, extra = "accept", "meta l4proto udp drop\n"
    elif kind == "tcp443-only":
        policy = "drop"
        extra = (
            'oifname "lan" ct state established,related accept\n'
            '    iifname "lan" tcp dport 443 accept\n'
        )
    else:
        policy, extra = "accept", ""
    return f"""table ip lab {{
  counter peers_out {{ }}
  counter peers_in {{ }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname "wan" masquerade{random}
  }}
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "wan" ct state new drop
  }}
  chain forward {{
    type filter hook forward priority 0; policy {policy};
    {counters}    {extra}  }}
}}
"""


@dataclass
class Lab:
    directory: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    made: list[str] = field(default_factory=list)
    coturn: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None

    def ns(self, role: str) -> str:
        return f"rc{self.tag}-{role}"

    @property
    def cert(self) -> Path:
        return self.directory / "turn-cert.pem"

    # ---- building and tearing down ----------------------------------------------

    def build(self) -> None:
        for role in ("pub", "ra", "rb", "a", "b"):
            run("ip", "netns", "add", self.ns(role))
            self.made.append(self.ns(role))
            run("ip", "link", "set", "lo", "up", ns=self.ns(role))
        pub = self.ns("pub")
        for address in (SERVER_IP, TURN_IP):
            run("ip", "addr", "add", f"{address}/32", "dev", "lo", ns=pub)
        for side, wan_net, lan_net in (("a", "198.51.100", "10.1.0"), ("b", "203.0.113", "10.2.0")):
            router, peer = self.ns("r" + side), self.ns(side)
            run("ip", "-n", pub, "link", "add", "r" + side, "type", "veth", "peer", "name", "wan",
                "netns", router)  # fmt: skip
            run("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0",
                "netns", peer)  # fmt: skip
            for ns, dev, address in (
                (pub, "r" + side, f"{wan_net}.1/24"),
                (router, "wan", f"{wan_net}.2/24"),
                (router, "lan", f"{lan_net}.1/24"),
                (peer, "eth0", f"{lan_net}.2/24"),
            ):
                run("ip", "addr", "add", address, "dev", dev, ns=ns)
                run("ip", "link", "set", dev, "up", ns=ns)
            run("ip", "route", "add", "default", "via", f"{wan_net}.1", ns=router)
            run("ip", "route", "add", "default", "via", f"{lan_net}.1", ns=peer)
            run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=router)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=pub)
        self._make_cert()

    def close(self) -> None:
        """Stop every process and remove every namespace (and with it its nft tables)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in reversed(self.made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        self.made.clear()

    def set_router(self, side: str, kind: NatKind) -> None:
        router = self.ns("r" + side)
        subprocess.run(["ip", "netns", "exec", router, "nft", "delete", "table", "ip", "lab"],
                       capture_output=True)  # fmt: skip
        run("nft", "-f", "-", ns=router, stdin=_ruleset(kind))

    def counters(self, side: str) -> dict[str, int]:
        listing = json.loads(run("nft", "-j", "list", "counters", ns=self.ns("r" + side)))
        return {
            item["counter"]["name"]: int(item["counter"]["packets"])
            for item in listing["nftables"]
            if "counter" in item
        }

    def delay(self, ms: int) -> str | None:
        """Add ``ms`` of delay on each router's WAN side (netem); why not, if it cannot."""
        for side in ("a", "b"):
            try:
                run("tc", "qdisc", "replace", "dev", "wan", "root", "netem", "delay", f"{ms}ms",
                    ns=self.ns("r" + side))  # fmt: skip
            except RuntimeError as exc:
                return str(exc)
        return None

    # ---- the public side -------------------------------------------------------------

    def _make_cert(self) -> None:
        key = self.directory / "turn-key.pem"
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=turn.lab", "-addext", f"subjectAltName=IP:{TURN_IP}",
            "-keyout", str(key), "-out", str(self.cert))  # fmt: skip

    def start_coturn(self) -> None:
        log = self.directory / "coturn.log"
        args = [
            "turnserver", "-n",
            f"--listening-ip={TURN_IP}", "--listening-port=3478", "--tls-listening-port=443",
            f"--relay-ip={TURN_IP}", "--min-port=49152", "--max-port=49999",
            "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=lab.test",
            f"--cert={self.cert}", f"--pkey={self.directory / 'turn-key.pem'}",
            "--no-multicast-peers", *(f"--denied-peer-ip={r}" for r in DENIED_PEERS),
            "--no-dtls", "--no-cli", "--fingerprint", "--verbose", f"--log-file={log}",
            "--simple-log", "--no-stdout-log", f"--pidfile={self.directory / 'coturn.pid'}",
            f"--userdb={self.directory / 'coturn.sqlite'}",
        ]  # fmt: skip
        self.coturn = self.spawn("pub", args)
        self._wait_port(TURN_IP, 443, self.coturn, log)

    def start_server(self, *, stun: bool, turn_urls: list[str], policy: str) -> None:
        self.stop_server()
        data = self.directory / f"data-{secrets.token_hex(3)}"
        data.mkdir()
        args = [
            str(VENV_BIN / "randomchat"), "serve", "--host", SERVER_IP, "--port", "443",
            "--data-dir", str(data), "--pow", "never", "--log-level", "warning",
            "--allowed-host", "*", "--stun-url", f"stun:{TURN_IP}:3478" if stun else "none",
            "--ice-policy", policy, "--find-rate-limit-ms", "0",
            "--metrics-token", METRICS_TOKEN,
        ]  # fmt: skip
        for url in turn_urls:
            args += ["--turn-url", url]
        if turn_urls:
            args += ["--turn-secret", SECRET]
        self.server = self.spawn("pub", args, stderr=data / "server.log")
        self._wait_port(SERVER_IP, 443, self.server, data / "server.log")

    def calls_by_candidate_type(self) -> dict[str, int]:
        """The server's ``randomchat_calls_by_candidate_type`` counter, per type: what the
        peers' ``call-stats`` reported (the server restarts for each case)."""
        fetch = (
            "import sys,urllib.request as u\n"
            f"r=u.Request('{URL}/metrics',headers={{'Authorization':'Bearer {METRICS_TOKEN}'}})\n"
            "sys.stdout.write(u.urlopen(r,timeout=10).read().decode())\n"
        )
        text = run(sys.executable, "-c", fetch, ns=self.ns("pub"))
        found = re.findall(r'^randomchat_calls_by_candidate_type_total\{type="(\w+)"\} (\S+)$',
                           text, re.MULTILINE)  # fmt: skip
        return {kind: int(float(count)) for kind, count in found if float(count)}

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=10)
        self.server = None

    def spawn(
        self,
        role: str,
        args: list[str],
        *,
        stderr: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        err = open(stderr, "wb") if stderr else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role), *args],
            stdout=subprocess.PIPE if role in ("a", "b") else subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
            env=env,
        )
        if not isinstance(err, int):
            err.close()  # the child has its own copy
        self.processes.append(process)
        return process

    def _wait_port(self, host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        probe = (
            "import socket,sys,time\n"
            "end=time.monotonic()+20\n"
            "while time.monotonic()<end:\n"
            "    try:\n"
            f"        socket.create_connection(('{host}',{port}),0.5).close(); sys.exit(0)\n"
            "    except OSError: time.sleep(0.05)\n"
            "sys.exit(1)\n"
        )
        done = subprocess.run(["ip", "netns", "exec", self.ns("pub"), sys.executable, "-c", probe])
        if done.returncode != 0 or process.poll() is not None:
            text = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{host}:{port} did not start listening:\n{text}")
        time.sleep(0.05)
