"""A real Redis Cluster of three masters on loopback, started and stopped by the tests."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """Ports free with their cluster bus ports (port + 10000)."""
    found: list[int] = []
    while len(found) < count:
        port = random.randint(20000, 45000)
        if port not in found and _free(port) and _free(port + 10000):
            found.append(port)
    return found


class RedisCluster3:
    """Three ``redis-server --cluster-enabled yes`` processes joined into one cluster
    (no replicas): the 16384 slots spread over three shards."""

    def __init__(self, workdir: Path) -> None:
        binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if binary is None or cli is None:
            pytest.skip("redis-server is not installed (make system-deps installs it as root)")
        self.binary, self.cli = binary, cli
        self.workdir = workdir
        self.ports = _ports(3)
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            home = self.workdir / str(port)
            home.mkdir(parents=True, exist_ok=True)
            self.processes.append(
                subprocess.Popen(
                    [
                        self.binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(home),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in self.ports:
            self._wait(port, "PING", "PONG")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [self.cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            self._wait(port, "CLUSTER INFO", "cluster_state:ok")

    def _wait(self, port: int, command: str, expected: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run(
                [self.cli, "-p", str(port), *command.split()], capture_output=True, text=True
            )
            if expected in done.stdout:
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis cluster node {port}: no {expected!r} after {command}")

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        self.processes = []
