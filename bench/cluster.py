#!/usr/bin/env python3
"""Cluster benchmark (`make bench-cluster`): 1, 2 and 4 nodes on one real redis-server.

For each node count it starts a fresh redis-server and that many `randomchat serve
--redis-url` processes, runs the Node load generator (bench/loadgen.js, users spread
over the nodes round-robin, so most calls cross nodes), and reports call set-ups per
second, latency, the nodes' CPU per set-up, redis-server's CPU per set-up and the Redis
commands per set-up (from INFO commandstats, which counts commands run inside scripts
too) and the client round trips per set-up (INFO's total_reads_processed: one per
command or pipeline received), next to one process without Redis.
Results: bench/results/cluster.json and cluster.md.

Nothing is pinned: the nodes, Redis and the load generator share the machine's cores,
so on a 2-core machine more nodes cannot mean more set-ups per second; the figures
per set-up are what carries over to a bigger machine. Standard library only; Linux.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SECRET = "randomchat-bench-secret-not-for-production-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_ms(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLK_TCK


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=True
    ).stdout


def redis_commands(port: int) -> dict[str, int]:
    calls = {}
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            stats = dict(kv.split("=") for kv in rest.split(","))
            calls[name] = int(stats["calls"])
    return calls


def redis_reads(port: int) -> int:
    """Requests Redis read from its clients: one per command or pipeline (round trips)."""
    for line in redis_cli(port, "INFO", "stats").splitlines():
        if line.startswith("total_reads_processed:"):
            return int(line.split(":", 1)[1])
    return 0


def run(nodes: int, args: argparse.Namespace, tmp: str) -> dict:
    procs: list[subprocess.Popen[bytes]] = []
    redis_port = free_port()
    try:
        if nodes:
            redis = subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
            procs.append(redis)
            time.sleep(0.3)
            redis_cli(redis_port, "PING")
        ports = [free_port() for _ in range(max(nodes, 1))]
        servers = []
        for i, port in enumerate(ports):
            data = os.path.join(tmp, f"n{nodes}-{i}")
            cmd = [
                args.python, "-m", "randomchat", "serve", "--port", str(port),
                "--jwt-secret", SECRET, "--find-rate-limit-ms", "0", "--data-dir", data,
                "--database-url", f"sqlite+aiosqlite:///{tmp}/n{nodes}.db",
                "--max-sockets-per-address", "100000", "--stun-url", "none",
                "--log-level", "warning",
                # A fixed set of users meets again and again (the repeat window would
                # leave them nobody to meet within minutes).
                "--repeat-window-minutes", "0",
            ]
            if nodes:
                cmd += ["--redis-url", f"redis://127.0.0.1:{redis_port}/0", "--node-name", f"n{i}"]
            log = open(os.path.join(tmp, f"n{nodes}-{i}.log"), "wb")  # noqa: SIM115
            servers.append(subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
            procs.append(servers[-1])
            wait_http(f"http://127.0.0.1:{port}/healthz")
        commands0 = redis_commands(redis_port) if nodes else {}
        reads0 = redis_reads(redis_port) if nodes else 0
        redis_cpu0 = cpu_ms(procs[0].pid) if nodes else 0.0
        out = subprocess.run(
            [
                "node", os.path.join(BENCH, "loadgen.js"), "--mode", "load",
                "--url", ",".join(f"http://127.0.0.1:{p}" for p in ports),
                "--secret", SECRET, "--concurrency", str(args.users),
                "--duration", str(args.duration), "--label", f"{nodes} nodes",
                "--server-pids", ",".join(str(s.pid) for s in servers),
            ],
            cwd=BENCH, capture_output=True, text=True, check=False,
        )
        found = [line[7:] for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if not found:
            raise SystemExit(f"load generator failed:\n{out.stderr[-2000:]}")
        result = json.loads(found[-1])
        for line in out.stderr.splitlines():
            if " error: " in line:
                print(line, file=sys.stderr)  # the load generator's first errors of each kind
        if "fatal" in result:
            raise SystemExit(f"load generator failed: {result['fatal']}")
        setups = max(1, int(result["setups_total"]))
        row = {
            "nodes": nodes,
            "setups_per_s": result["setups_per_s"],
            "p50_ms": result["latency_ms"]["p50"],
            "p99_ms": result["latency_ms"]["p99"],
            "node_cpu_ms_per_setup": result["server_cpu_ms_per_setup"],
            "errors": result.get("errors", 0),
            "error_kinds": result.get("error_kinds", {}),
            "broken": result.get("broken_calls", 0),
        }
        if nodes:
            row["redis_cpu_ms_per_setup"] = round((cpu_ms(procs[0].pid) - redis_cpu0) / setups, 3)
            row["redis_round_trips_per_setup"] = round((redis_reads(redis_port) - reads0) / setups, 1)
            commands = redis_commands(redis_port)
            per = {k: (v - commands0.get(k, 0)) / setups for k, v in commands.items()}
            row["redis_commands_per_setup"] = round(sum(per.values()), 1)
            row["top_commands_per_setup"] = {
                k: round(v, 1) for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:8]
            }
        return row
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="0,1,2,4", help="node counts; 0: one process, no Redis")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--python", default=os.path.join(REPO, ".venv", "bin", "python"))
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (make system-deps)")
    tmp = tempfile.mkdtemp(prefix="randomchat-cluster-bench-")
    rows = []
    try:
        for n in (int(x) for x in args.nodes.split(",")):
            rows.append(run(n, args, tmp))
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results = os.path.join(BENCH, "results")
    os.makedirs(results, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = {"date": stamp, "command": "bench/cluster.py " + " ".join(sys.argv[1:]),
              "users": args.users, "duration_s": args.duration, "cores": os.cpu_count(), "rows": rows}
    with open(os.path.join(results, "cluster.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = [
        f"Cluster bench, {stamp}, {os.cpu_count()} cores, {args.users} users, {args.duration:.0f} s each",
        "",
        "| nodes | set-ups/s | p50 ms | p99 ms | node CPU ms/set-up | Redis CPU ms/set-up "
        "| Redis round trips/set-up | Redis commands/set-up | errors | broken |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['nodes'] or '1 (no Redis)'} | {r['setups_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['node_cpu_ms_per_setup']} | {r.get('redis_cpu_ms_per_setup', '–')} "
            f"| {r.get('redis_round_trips_per_setup', '–')} "
            f"| {r.get('redis_commands_per_setup', '–')} | {r['errors']} | {r['broken']} |"
        )
    text = "\n".join(lines) + "\n"
    with open(os.path.join(results, "cluster.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if all(r["errors"] == 0 and r["broken"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
