"""Users churning across three real nodes: no double match, no self match, no stray signal.

Every client keeps its own log: it checks that each signal comes from its
current partner (the offer names its sender and the call) and that the
candidates of a call arrive in the order they were sent. At the end every
client leaves and Redis must hold nothing: no connection, no queue entry, no
pair. It runs at the issue's full size (200 users for 30 s, about 40 s on two
cores): at 45 users for 12 s it had never shown the race that 200 users found in
their first run (a partner's signal written after the receiver's next
``match-found``, see ``randomchat.delivery``). ``RANDOMCHAT_CHURN_USERS``,
``_SECONDS`` and ``_NODES`` change the size.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.cluster.conftest import Cluster, empty, eventually
from tests.conftest import RunningServer
from tests.redisserver import RedisServer
from tests.server.harness import Peer

pytestmark = pytest.mark.process

USERS = int(os.environ.get("RANDOMCHAT_CHURN_USERS", "200"))
SECONDS = float(os.environ.get("RANDOMCHAT_CHURN_SECONDS", "30"))
NODES = int(os.environ.get("RANDOMCHAT_CHURN_NODES", "3"))
CANDIDATES = 5


@dataclass
class Log:
    name: str
    partner: str | None = None
    previous: str | None = None  # what was in flight from it may still arrive, in order
    call: int = 0
    stale: int = 0
    connect_failures: int = 0
    problems: list[str] = field(default_factory=list)
    matches: int = 0
    signals: int = 0
    # sender -> (its call number, index) of its last candidate in this call: must grow.
    # (A sender's client may answer a match-found late, when the server has already
    # paired it anew: its labels then lag, but what the server relays stays in order.)
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)


async def user(name: str, urls: list[str], rng: random.Random, stop: float) -> Log:
    log = Log(name)
    peer: Peer | None = None
    while time.monotonic() < stop:
        if peer is None:
            peer = Peer(name)
            try:
                await peer.connect(rng.choice(urls))
            except Exception:  # a loaded node answered too slowly: try again, as a page does
                log.connect_failures += 1
                await peer.close()  # its half-open transport, so nothing leaks
                peer = None
                await asyncio.sleep(0.5)
                continue
            log.partner = None
        action = rng.choices(["find", "next", "leave", "drop", "wait"], [4, 3, 1, 1, 3])[0]
        if action == "find":
            await peer.emit_raw("find-partner")
        elif action in ("next", "leave"):
            await peer.emit_raw(action)
            end_call(log)
        elif action == "drop":
            await peer.close()
            peer = None
            continue
        deadline = time.monotonic() + rng.uniform(0.2, 0.8)
        while (left := deadline - time.monotonic()) > 0:
            try:
                event, data = await asyncio.wait_for(peer.events.get(), left)
            except TimeoutError:
                break
            await handle(peer, log, event, data)
    if peer is not None:
        await peer.close()
    return log


async def handle(peer: Peer, log: Log, event: str, data: Any) -> None:
    if event == "match-found":
        # The same partner again with no end between: one pairing told twice (the repeat
        # window forbids a new one). Another partner is legal: a Next sent before the
        # previous match-found arrived ends that call.
        if log.partner is not None and data["partnerName"] == log.partner:
            log.problems.append(f"a second match-found with {log.partner}")
        log.matches += 1
        log.call += 1
        log.previous = None  # the new match-found: nothing of an earlier call may follow
        log.seen = {}
        log.partner = data["partnerName"]
        if log.partner == log.name:
            log.problems.append("matched with itself")
        await peer.emit(
            "signal-offer", {"offer": {"type": "offer", "sdp": f"{log.name}:{log.call}"}}
        )
        for i in range(CANDIDATES):
            candidate = f"candidate:{log.name}:{log.call}:{i}"
            await peer.emit("signal-ice-candidate", {"candidate": {"candidate": candidate}})
    elif event == "signal-offer":
        log.signals += 1
        check(log, data["offer"]["sdp"].split(":")[0])
    elif event in ("signal-ice-candidate", "signal-ice-candidates-batch"):
        batch = data["candidates"] if "candidates" in data else [data["candidate"]]
        for candidate in batch:
            _, sender, call, index = candidate["candidate"].split(":")
            check(log, sender)
            mark = (int(call), int(index))
            if mark <= log.seen.get(sender, (-1, -1)):
                log.problems.append(f"candidate {mark} of {sender} after {log.seen[sender]}")
            log.seen[sender] = mark
    elif event in ("partner-left", "partner-disconnected"):
        end_call(log)
    elif event == "error" and data.get("code") not in ("refused",):
        log.problems.append(f"error {data}")


def end_call(log: Log) -> None:
    if log.partner is not None:  # a second Next while waiting keeps the last partner
        log.previous, log.partner = log.partner, None


def check(log: Log, sender: str) -> None:
    """A signal from the partner; or from the previous one, sent before that call ended."""
    if sender == log.previous and sender != log.partner:
        log.stale += 1
    elif sender != log.partner:
        log.problems.append(f"signal from {sender}: partner {log.partner}, before {log.previous}")


@pytest.mark.timeout(300)  # 30 s of churn, then the clean-up; slower beside other tests
async def test_churn_across_three_nodes(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    # every client comes from 127.0.0.1: the per-address cap (per node) would refuse the full size
    # and the default node timeout: three busy nodes on two cores must not evict each other
    nodes = cluster(NODES, find_rate_limit_ms=0, max_sockets_per_address=1000, node_timeout=10)
    urls = [node.url for node in nodes]
    stop = time.monotonic() + SECONDS
    logs = await asyncio.gather(
        *(user(f"user{i}", urls, random.Random(i), stop) for i in range(USERS))
    )
    problems = [f"{log.name}: {p}" for log in logs for p in log.problems]
    matches = sum(log.matches for log in logs)
    signals = sum(log.signals for log in logs)
    stale = sum(log.stale for log in logs)
    print(
        f"{USERS} users, {SECONDS:.0f} s, 3 nodes: {matches} match-found, {signals} offers, "
        f"{stale} signals of a call the receiver had just ended, before its next match, "
        f"{sum(log.connect_failures for log in logs)} connects retried"
    )
    kinds = sorted({p.split(": ", 1)[1][:40] for p in problems})
    assert not problems, (len(problems), kinds[:30], troubles(nodes))
    assert matches > USERS  # the run did pair people, many times
    await eventually(empty(redis_server.url), timeout=20)
    assert not troubles(nodes)  # no failure, and no node evicted another


def troubles(nodes: list[RunningServer]) -> dict[str, int]:
    """The nodes' warnings and errors, counted by event and the last line of their
    exception: what a failure report needs to name the cause."""
    found: Counter[str] = Counter()
    for node in nodes:
        for line in node.log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("level") in ("warning", "error", "critical"):
                cause = record.get("exc", "").strip().rpartition("\n")[2]
                found[f"{record.get('event')} {cause}".strip()] += 1
    return dict(found)
