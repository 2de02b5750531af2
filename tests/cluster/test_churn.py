"""Users churning across real nodes: every signal reaches only the partner of its call.

A signal carries SDP and ICE addresses; one that reaches anyone but the sender's
partner in that call is a privacy breach. The clients do not trust their own
bookkeeping for this: each puts its name and the call's id (``callId`` of its
``match-found``) into everything it sends (the SDP, every candidate string, the
chat text), so every received signal names its sender and its call, and two
checks follow:

* at receipt (``check``): it is from the partner of the last ``match-found``, in
  that call; or, after the client itself ended that call (Next, Stop) and before
  anything new, from that call (the server had not handled the end yet). After a
  newer ``match-found``, a ``partner-left`` or a reconnect nothing of it may come.
  One exception is counted, not refused: the partner's signal naming another call
  of its own (below).
* after the run (``misdelivered``), from every client's list of calls alone,
  however late or early anything came: the receiver and the sender both got the
  ``match-found`` of that call id, naming each other. Anything else that reached
  a stranger, or the sender's earlier partner, fails the test. A signal that names
  the sender's earlier call and reached the sender's later partner is "carried
  forward": a client that pressed Next before it saw a ``match-found`` answers that
  match-found; a signal that named no call was relayed to the partner the sender has
  now (docs/scaling.md, "Churn soak"). The clients name the call (``callId``), as the
  page does, and the server drops such a signal: none may be carried forward.

Each client also checks that the candidates of a call arrive in the order sent,
that it is never paired with itself or told of one pairing twice; at the end every
client leaves and Redis must hold nothing. ``make test`` runs it small (36 users,
2 nodes, 10 s); ``make soak`` at the size of issue #23 (200 users, 3 nodes, 30 s)
with ``RANDOMCHAT_CHURN_USERS``, ``_NODES``, ``_SECONDS`` and ``_PAUSE`` (a user's
mean seconds between actions), and prints the figures docs/scaling.md quotes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
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

USERS = int(os.environ.get("RANDOMCHAT_CHURN_USERS", "36"))
SECONDS = float(os.environ.get("RANDOMCHAT_CHURN_SECONDS", "10"))
NODES = int(os.environ.get("RANDOMCHAT_CHURN_NODES", "2"))
PAUSE = float(os.environ.get("RANDOMCHAT_CHURN_PAUSE", "0.5"))  # mean s between actions
CANDIDATES = 5
TAG = re.compile(r"from=(\S+) call=(\S+?)(?: n=(\d+))?$")
BATCH = "signal-ice-candidates-batch"

Call = tuple[str, str]  # (partner name, call id)


@dataclass
class Log:
    name: str
    current: Call | None = None  # of the last match-found, until that call ended
    ended: Call | None = None  # the call this client ended itself, nothing newer since
    calls: dict[str, str] = field(default_factory=dict)  # call id -> partner, every match
    received: list[tuple[str, str, str]] = field(default_factory=list)  # kind, sender, call
    problems: list[str] = field(default_factory=list)
    late: int = 0  # signals of a call this client had ended, before the server knew
    crossed: int = 0  # signals of the current partner that name another call of its own
    actions: int = 0
    connect_failures: int = 0
    last_index: dict[tuple[str, str], int] = field(default_factory=dict)  # candidate order


def matched(log: Log, partner: str, call_id: str) -> None:
    if log.current is not None and log.current[0] == partner:
        log.problems.append(f"a second match-found with {partner}")  # one pairing told twice
    if partner == log.name:
        log.problems.append("matched with itself")
    log.current, log.ended = (partner, call_id), None
    log.calls[call_id] = partner


def ended_here(log: Log) -> None:
    """This client ended its call: what its partner sent before may still arrive."""
    if log.current is not None:
        log.ended, log.current = log.current, None


def ended_there(log: Log) -> None:
    """The server ended the call (partner-left or -disconnected) or the socket closed:
    nothing of it may arrive any more."""
    log.current = log.ended = None


def check(log: Log, kind: str, text: str) -> Call | None:
    """The sender and call a signal names, if it is from the partner of the call it belongs to."""
    found = TAG.search(text)
    if found is None:
        log.problems.append(f"{kind} without a sender: {text!r}")
        return None
    sender, call_id, index = found.groups()
    log.received.append((kind, sender, call_id))
    if (sender, call_id) == log.current:
        pass
    elif log.current is None and (sender, call_id) == log.ended:
        log.late += 1
    elif sender == (log.current or log.ended or ("", ""))[0]:
        log.crossed += 1  # the partner's signal of another call of its own: see ``misdelivered``
        return None
    else:
        log.problems.append(
            f"{kind} from {sender} of call {call_id}: in {log.current}, ended {log.ended}"
        )
        return None
    if index is not None:
        last = log.last_index.get((sender, call_id), -1)
        if int(index) <= last:
            log.problems.append(f"candidate {index} of {sender} after {last}")
        log.last_index[sender, call_id] = int(index)
    return sender, call_id


def misdelivered(logs: list[Log]) -> tuple[list[str], list[str]]:
    """From the lists of calls alone (no timing): signals that reached someone other than
    the sender's partner in the call they name. Breaches: the receiver was never in a call
    with the sender, or only in an earlier one (the sender's data for a later partner
    reached an earlier one). Carried forward: the receiver is the sender's next partner,
    and the signal names the sender's earlier call (a sender that pressed Next before its
    page saw that call's match-found sends it; the wire has no call id in a signal, so
    the server relays it to the partner it knows now)."""
    calls = {log.name: list(log.calls) for log in logs}
    breaches, forward = [], []
    for log in logs:
        for kind, sender, call_id in log.received:
            ids = calls.get(sender, [])
            if log.calls.get(call_id) == sender and call_id in ids:
                continue
            # The receiver's calls with the sender; one the sender never saw (it closed
            # first) came after all of the sender's.
            shared = [
                ids.index(c) if c in ids else len(ids) for c, p in log.calls.items() if p == sender
            ]
            later = call_id in ids and any(i > ids.index(call_id) for i in shared)
            line = f"{kind} of {sender}, call {call_id}, reached {log.name}"
            (forward if later else breaches).append(line)
    return breaches, forward


def tag(log: Log, call_id: str, index: int | None = None) -> str:
    return f"from={log.name} call={call_id}" + ("" if index is None else f" n={index}")


async def describe(peer: Peer, log: Log, kind: str, call_id: str) -> None:
    """This side's description (offer or answer), its candidates and one chat line."""
    sdp = f"v=0\r\ns={tag(log, call_id)}"
    # Each names its call, as the page does: one the server has moved this client on
    # from is dropped there (or, a chat line, refused), never relayed into the next call.
    await peer.emit(f"signal-{kind}", {kind: {"type": kind, "sdp": sdp}, "callId": call_id})
    for i in range(CANDIDATES):
        candidate = {"candidate": f"candidate:{tag(log, call_id, i)}"}
        await peer.emit("signal-ice-candidate", {"candidate": candidate, "callId": call_id})
    await peer.emit("chat-message", {"text": tag(log, call_id), "id": call_id, "callId": call_id})


async def handle(peer: Peer, log: Log, event: str, data: Any) -> None:
    if event == "match-found":
        matched(log, data["partnerName"], data["callId"])
        if data["role"] == "initiator":
            await describe(peer, log, "offer", data["callId"])
    elif event == "signal-offer":
        call = check(log, event, data["offer"]["sdp"])
        if call is not None and call == log.current:  # a page answers no call it has ended
            await describe(peer, log, "answer", call[1])
    elif event == "signal-answer":
        check(log, event, data["answer"]["sdp"])
    elif event in ("signal-ice-candidate", BATCH):
        for candidate in data["candidates"] if event == BATCH else [data["candidate"]]:
            check(log, event, candidate["candidate"])
    elif event == "chat-message":
        check(log, event, data["text"])
    elif event in ("partner-left", "partner-disconnected"):
        ended_there(log)
    elif event == "error" and data.get("code") != "refused":  # refused: a search in a call
        log.problems.append(f"error {data}")


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
            ended_there(log)
        action = rng.choices(["find", "next", "leave", "drop", "wait"], [4, 3, 1, 1, 3])[0]
        log.actions += action != "wait"
        if action == "find":  # refused in a call: the call goes on
            await peer.emit_raw("find-partner")
        elif action in ("next", "leave"):
            await peer.emit_raw(action)
            ended_here(log)
        elif action == "drop":
            await peer.close()
            peer = None
            continue
        deadline = time.monotonic() + rng.uniform(0.4, 1.6) * PAUSE
        while (left := deadline - time.monotonic()) > 0:
            try:
                event, data = await asyncio.wait_for(peer.events.get(), left)
            except TimeoutError:
                break
            await handle(peer, log, event, data)
    if peer is not None:
        await peer.close()
    return log


class Lag:
    """How late this process's event loop wakes a 50 ms sleep: whether the clients kept up."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self, stop: float) -> None:
        while time.monotonic() < stop:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            self.samples.append(time.monotonic() - before - 0.05)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples) or [0.0]
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(int(SECONDS * 4) + 120)  # the churn, then the clean-up on a busy machine
async def test_every_signal_reaches_only_the_partner_of_its_call(
    cluster: Cluster,
    redis_server: RedisServer,
) -> None:
    # every client comes from 127.0.0.1: the per-address cap (per node) would refuse the full size
    # and the default node timeout: busy nodes on two cores must not evict each other
    nodes = cluster(NODES, find_rate_limit_ms=0, max_sockets_per_address=1000, node_timeout=10)
    urls = [node.url for node in nodes]
    pids = [node.process.pid for node in nodes]
    assert redis_server.process is not None
    cpu = [cpu_seconds(pid) for pid in [*pids, redis_server.process.pid]]
    started = time.monotonic()
    stop = started + SECONDS
    lag = Lag()
    logs, _ = await asyncio.gather(
        asyncio.gather(*(user(f"user{i}", urls, random.Random(i), stop) for i in range(USERS))),
        lag.run(stop),
    )
    elapsed = time.monotonic() - started
    cpu = [cpu_seconds(pid) - cpu[i] for i, pid in enumerate([*pids, redis_server.process.pid])]
    problems = [f"{log.name}: {p}" for log in logs for p in log.problems]
    wrong, forward = misdelivered(logs)
    figures = {
        "users": USERS,
        "nodes": NODES,
        "seconds": round(elapsed, 1),
        "actions_per_s": round(sum(log.actions for log in logs) / elapsed, 1),
        "calls": len({call for log in logs for call in log.calls}),
        "signals_checked": sum(len(log.received) for log in logs),
        "by_kind": dict(Counter(kind for log in logs for kind, _, _ in log.received)),
        "late_of_own_ended_call": sum(log.late for log in logs),
        "problems": len(problems),
        "misdelivered": len(wrong),
        "carried_forward": len(forward),
        "crossed_at_receipt": sum(log.crossed for log in logs),
        "connects_retried": sum(log.connect_failures for log in logs),
        "client_loop_lag_p99_ms": round(lag.quantile(0.99) * 1000),
        "client_loop_lag_max_ms": round(lag.quantile(1.0) * 1000),
        "node_cpu_pct": [round(100 * c / elapsed) for c in cpu[:-1]],
        "redis_cpu_pct": round(100 * cpu[-1] / elapsed),
    }
    print("churn figures:", json.dumps(figures))
    assert not wrong, (len(wrong), wrong[:20])
    assert not forward, (len(forward), forward[:20])
    kinds = sorted({p.split(": ", 1)[1][:60] for p in problems})
    assert not problems, (len(problems), kinds[:30], troubles(nodes))
    assert figures["calls"] > USERS  # the run did pair people, many times
    # and the check did run: offers, answers, candidates and chat lines were all checked
    kinds_seen = set(figures["by_kind"])
    assert {"signal-offer", "signal-answer", "chat-message"} <= kinds_seen, kinds_seen
    assert kinds_seen & {"signal-ice-candidate", BATCH}, kinds_seen
    await eventually(empty(redis_server.url), timeout=20)
    assert not troubles(nodes)  # no failure, and no node evicted another


def test_the_checks_catch_a_signal_outside_its_call() -> None:
    """What the churn's checks refuse or count apart, on made-up logs."""
    a, b, c = Log("a"), Log("b"), Log("c")
    matched(c, "d", "k0")
    matched(a, "b", "k1")
    matched(b, "a", "k1")
    assert check(a, "signal-offer", "v=0\r\ns=from=b call=k1") == ("b", "k1")
    assert check(a, "chat-message", "from=c call=k1") is None  # a stranger
    ended_here(a)
    assert check(a, "signal-ice-candidate", "candidate:from=b call=k1 n=0") is not None
    matched(a, "c", "k2")
    matched(c, "a", "k2")
    assert check(a, "signal-ice-candidate", "candidate:from=b call=k1 n=1") is None  # too late
    assert check(a, "signal-offer", "v=0\r\ns=from=c call=k0") is None  # c's call before
    assert check(a, "signal-ice-candidate", "candidate:from=c call=k2 n=3") is not None
    assert check(a, "signal-ice-candidate", "candidate:from=c call=k2 n=2") is not None
    ended_there(a)
    assert check(a, "chat-message", "from=c call=k2") is None  # after partner-left
    assert (len(a.problems), a.crossed, a.late) == (4, 1, 1), a.problems
    matched(b, "e", "k3")
    assert check(a, "signal-answer", "v=0\r\ns=from=b call=k3") is None  # b's later call
    # Late, but between the two of that call: only what reached anyone else.
    assert misdelivered([a, b, c]) == (
        [
            "chat-message of c, call k1, reached a",
            "signal-answer of b, call k3, reached a",
        ],
        ["signal-offer of c, call k0, reached a"],
    )


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
