"""``serve --workers N``: every core of one machine, one command.

The parent starts N copies of the same ``serve`` command with ``RANDOMCHAT_WORKER``
set to 0..N-1; each is a cluster node (named ``<node-name>-w<i>``) that binds the
port with ``SO_REUSEPORT``, so the kernel spreads new connections over them. Their
shared state is on Redis (``--redis-url`` is required). Without sticky sessions the
requests of one long-polling session would reach different workers, so workers
take WebSocket clients only and refuse polling with a message saying so (behind
the nginx of ``deploy/``, polling clients work: it keeps them on one node).

The parent passes SIGTERM and SIGINT on (each worker drains) and waits; a worker
that dies otherwise is started again after a second, under the same name, so
that it takes over nothing of its previous life (``randomchat.cluster``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0


def listening_socket(host: str, port: int) -> socket.socket:
    """The worker's listening socket, shared with its siblings through SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def supervise(count: int, env_name: str) -> int:
    command = [sys.executable, "-m", "randomchat", *sys.argv[1:]]
    stopping = False
    children: dict[int, subprocess.Popen[bytes]] = {}

    def start(index: int) -> None:
        env = {**os.environ, env_name: str(index)}
        children[index] = subprocess.Popen(command, env=env)

    def stop(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(sig)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        start(index)
    log.info("workers started", extra={"workers": count})
    while True:
        for index, child in list(children.items()):
            code = child.poll()
            if code is None:
                continue
            if stopping:
                del children[index]
            else:
                log.warning("worker died; starting it again", extra={"worker": index, "code": code})
                time.sleep(RESTART_DELAY)
                start(index)
        if stopping and not children:
            return 0
        time.sleep(0.2)
