"""Random and mutated Engine.IO / Socket.IO packets against a real server process.

Hypothesis draws scenarios: a few frames (websocket) or request bodies
(long-polling), built from valid-looking packets with odd attachment counts
(unicode digits among them), deep JSON, reserved event names, huge numbers,
binary frames before CONNECT, bad base64 and record-separator games, some
mutated byte by byte. Each scenario runs on a fresh connection that is
anonymous, CONNECTed with a valid token, or CONNECTed and paired with an honest
raw client.

Per scenario (collected, not raised, so that a bad server does not set
Hypothesis shrinking for minutes): no HTTP 5xx, no websocket dropped without a
close frame or closed as an internal error, and a probe sent after the frames
(a CONNECT to an unknown namespace, which any server answers with
CONNECT_ERROR) is answered or the connection is closed: the server neither
hangs nor stalls. The honest partner of a paired scenario must answer its own
probe too.

After each batch: ``/healthz`` answers 200, a python-socketio pair can still
connect, match and relay an offer, the connected-users gauge returns to zero,
no error or traceback reached the server's log, and RSS stayed within a bound.

Scale: 6 batches (2 transports x 3 modes), each of the 35 known attack
scenarios of issue 8 plus 45 generated ones; derandomized, so CI runs the same
480 scenarios every time (~15 s); no shrinking (failing scenarios are printed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningServer, _start, _stop
from tests.rawclient import (
    NS,
    Closed,
    PollClient,
    ServerProcess,
    WsClient,
    mb,
)
from tests.server.harness import Peer, match

pytestmark = pytest.mark.process

EXAMPLES = 45
BATCH_SECONDS = 50  # a server that hangs on every probe must not run into the pytest timeout
PROBE_TIMEOUT = 5.0
RSS_GROWTH_LIMIT = 100_000_000
TOKEN = "$TOKEN"  # replaced by a valid token for a fresh user when a frame is sent
PROBE = "40/nosuch,"
# With an ack id: the ACK shows the fuzzer is still on the namespace after its frames.
HEARTBEAT_ACK = 424242
HEARTBEAT = f'42/random-chat,{HEARTBEAT_ACK}["heartbeat",{{"sentAt":1}}]'
OK_CLOSE_CODES = {1000, 1001, 1002, 1003, 1005, 1007, 1008, 1009}

RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "*", "newListener", "error"]
EVENTS = [
    "find-partner",
    "next",
    "leave",
    "signal-offer",
    "signal-answer",
    "signal-ice-candidate",
    "heartbeat",
    "call-stats",
    "chat-message",
    "typing",
    "block-partner",
    "report-partner",
]
# Characters for which str.isdigit() is true but int() may fail or mean something else.
UNICODE_DIGITS = "\u00b2\u00b3\u00b9\u0663\u0967\uff10\uff11\u07c0\u09ea\u2460"

# Frames known to have hurt (issue 8), always in the pool.
KNOWN = [
    '45\u00b2-["x",{"_placeholder":true,"num":0}]',
    '451\u00b9-["x"]',
    '42/random-chat,["disconnect"]',
    '42/random-chat,["disconnecting","x"]',
    '42/random-chat,["connect",{},{"token":"$TOKEN"}]',
    '42/random-chat,["connect_error",{}]',
    '42/random-chat,["*"]',
    '42/random-chat,["*","find-partner"]',
    '45999999-["a",{"_placeholder":true,"num":0}]',
    '45999999-/random-chat,["a",{"_placeholder":true,"num":0}]',
    "42/random-chat," + "[" * 1100 + "]" * 1100,
    "42/random-chat," + "[" * 100_000 + "]" * 100_000,
    '42/random-chat,["signal-offer",' + '{"a":' * 600 + "1" + "}" * 600 + "]",
    '42/random-chat,["signal-offer",{"offer":{"type":"offer","sdp":"v=0"},"x":'
    + "[" * 500
    + "]" * 500
    + "}]",
    '42/random-chat,["heartbeat",{"sentAt":' + "9" * 5000 + "}]",
    '42/random-chat,["heartbeat",{"sentAt":1e400}]',
    '42/random-chat,["find-partner",{"interests":["' + "x" * 900 + '"]}]',
    '42/random-chat,["report-partner",{"reason":"spam","note":"' + "\u200b" * 2000 + '"}]',
    '42/random-chat,["chat-message",{"text":"' + "\u0000\u202e" * 500 + '","id":1}]',
    "42/random-chat,99999999999999999999" + '["heartbeat",{"sentAt":1}]',
    '43/random-chat,1["x"]',
    '46/random-chat,1-1["x"]',
    '44/random-chat,{"message":"x"}',
    "41/random-chat,",
    '40/random-chat,{"token":"$TOKEN"}',
    "40/random-chat,[]",
    "2probe",
    "5",
    "6",
    "1",
]

KNOWN_SCENARIOS: list[list[Any]] = [[frame] for frame in KNOWN] + [
    # Attachments announced before any CONNECT, then binary frames (item 2).
    ['45999999-["a",{"_placeholder":true,"num":0}]', b"\0" * 100_000, b"\0" * 100_000],
    [b"\x00\x01", "40/random-chat,{}"],
    # A fake disconnect, then ordinary events on the half-removed socket (items 1, 9).
    [
        '42/random-chat,["disconnect"]',
        '42/random-chat,["heartbeat",{"sentAt":1}]',
        '42/random-chat,["next"]',
    ],
    # An identity switch mid-call, then a search (item 1).
    ['42/random-chat,["connect",{},{"token":"$TOKEN"}]', '42/random-chat,["find-partner"]'],
    ['42/random-chat,["*"]'] * 5,
]


# -- strategies ------------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8"), max_size=20)
huge_ints = st.sampled_from([2**63, 2**64 + 1, -(2**63) - 1, 10**30, 10**400])
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    st.just(TOKEN),
    st.just({"_placeholder": True, "num": 0}),
    st.just({"token": TOKEN}),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"offer": st.fixed_dictionaries({"type": st.just("offer"), "sdp": text})}
    ),
    st.fixed_dictionaries({"answer": st.fixed_dictionaries({"type": text, "sdp": json_values})}),
    st.fixed_dictionaries({"text": text, "id": st.integers() | text | huge_ints}),
    st.fixed_dictionaries(
        {"reason": st.sampled_from(["spam", "other", "x"]), "note": text | json_values}
    ),
    st.fixed_dictionaries({"interests": st.lists(text, max_size=12), "strict": json_values}),
    st.fixed_dictionaries({"candidate": json_values}),
    st.fixed_dictionaries({"sentAt": st.integers() | huge_ints | st.floats()}),
)
event_names = st.one_of(st.sampled_from(RESERVED + EVENTS), text, st.integers(), huge_ints)


def _deep(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '["signal-offer",' + "[" * depth + "]" * depth + "]"


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


bodies = st.one_of(
    st.builds(
        lambda name, args: _dumps([name, *args]), event_names, st.lists(payloads, max_size=3)
    ),
    json_values.map(_dumps),
    st.builds(
        _deep, st.sampled_from([10, 600, 1025, 3000, 100_000]), st.sampled_from(["array", "object"])
    ),
    st.sampled_from([1000, 300_000, 900_000]).map(
        lambda n: '["chat-message",{"text":"' + "a\u0001" * (n // 2) + '","id":1}]'
    ),
    st.sampled_from([20, 400, 5000]).map(lambda n: '["heartbeat",{"sentAt":' + "9" * n + "}]"),
    text,
    st.just(""),
)
digits = st.one_of(
    st.text("0123456789", min_size=1, max_size=4),
    st.text("0123456789" + UNICODE_DIGITS, min_size=1, max_size=3),
    st.sampled_from(["9" * 16, "9" * 40, "-1", " 1", "0x1"]),
)


@st.composite
def sio_frames(draw: st.DrawFn) -> str:
    """``4`` + a Socket.IO packet: each part plausible, the combination anything."""
    kind = draw(st.sampled_from("01234562") | st.characters(codec="utf-8"))
    attachments = draw(st.just("") | digits.map(lambda d: d + "-") | st.just("-"))
    namespace = draw(
        st.sampled_from(
            ["", NS + ",", NS, "/,", "/nosuch,", NS + "/,", NS + ",,", "/random-chat\u0000,"]
        )
        | text
    )
    ack = draw(st.just("") | digits)
    return "4" + kind + attachments + namespace + ack + draw(bodies)


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[str]) -> str:
    """A frame with a few characters inserted, deleted or replaced."""
    frame = draw(frames)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(frame) - 1, 0))) if frame else 0
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        char = draw(st.characters(codec="utf-8") | st.sampled_from('"[]{},-\x1e' + UNICODE_DIGITS))
        if op == "insert":
            frame = frame[:at] + char + frame[at:]
        elif op == "delete":
            frame = frame[:at] + frame[at + 1 :]
        elif op == "replace":
            frame = frame[:at] + char + frame[at + 1 :]
        else:
            frame = frame[:at]
    return frame


# Well-formed events on the namespace: these reach the gateway's handlers.
events = st.builds(
    lambda ack, name, args: "42" + NS + "," + ack + _dumps([name, *args]),
    st.just("") | st.integers(0, 99).map(str),
    st.sampled_from(RESERVED + EVENTS + EVENTS),
    st.lists(payloads, max_size=3),
)
text_frames = st.one_of(
    events,
    events,
    events,
    st.sampled_from(KNOWN),
    sio_frames(),
    mutated(sio_frames() | st.sampled_from(KNOWN)),
    st.sampled_from(["2", "3", "5", "6", "1", "2probe", "3probe", "0", "7", "", "4"]),
    text,
)
binary_frames = st.one_of(
    st.binary(max_size=32), st.sampled_from([1000, 100_000, 900_000]).map(lambda n: b"\0" * n)
)
frames = st.one_of(text_frames, text_frames, text_frames, binary_frames)
Frame = str | bytes


@st.composite
def poll_bodies(draw: st.DrawFn) -> str | bytes:
    """A long-polling POST body: frames joined by the record separator, with games."""
    parts = [
        f if isinstance(f, str) else "b" + base64.b64encode(f).decode()
        for f in draw(st.lists(frames, min_size=1, max_size=5))
    ]
    game = draw(
        st.sampled_from(
            [
                "plain",
                "plain",
                "empty part",
                "leading separator",
                "trailing separator",
                "only separators",
                "bad base64",
                "unpadded base64",
                "invalid utf-8",
                "unknown type",
            ]
        )
    )
    at = draw(st.integers(0, len(parts)))
    if game == "empty part":
        parts.insert(at, "")
    elif game == "bad base64":
        parts.insert(at, "b" + draw(st.sampled_from(["!!!!", "A", "AAAAA", "=AA=", "\u00e9"])))
    elif game == "unpadded base64":
        parts.insert(at, "bAAE")
    elif game == "unknown type":
        parts.insert(at, draw(st.sampled_from(["7", "x", "\u0663", "b"])))
    body = "\x1e".join(parts)
    if game == "leading separator":
        body = "\x1e" + body
    elif game == "trailing separator":
        body += "\x1e"
    elif game == "only separators":
        body = "\x1e" * draw(st.integers(1, 3))
    elif game == "invalid utf-8":
        raw = body.encode()
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + raw[cut:]
    return body


# -- the server ---------------------------------------------------------------------------------


class Fuzzed:
    """The server under fuzz, a counter for fresh users, and what the scenarios saw."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.proc = ServerProcess(server.process.pid, server.log_path)
        self.baseline_rss = self.proc.rss()
        self.users = 0
        self.anomalies: list[str] = []
        self.started = time.monotonic()
        self.skipped = 0
        self.ran = 0

    def token(self) -> str:
        self.users += 1
        return self.server.token(f"fz{self.users}", sub=f"fuzz-{self.users}")

    def fill(self, frame: Frame) -> Frame:
        if isinstance(frame, str) and TOKEN in frame:
            return frame.replace(TOKEN, self.token())
        return frame


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    server = _start(
        tmp_path_factory.mktemp("fuzz"),
        find_rate_limit_ms=0,
        ping_interval=2,
        ping_timeout=2,
        web_dir=Path("/nonexistent"),
    )
    try:
        yield Fuzzed(server)
    finally:
        _stop(server)


# -- one scenario -----------------------------------------------------------------------------


def short(frame: Frame | str) -> str:
    shown = repr(frame)
    return shown if len(shown) <= 160 else shown[:120] + f"... ({len(frame)} long)"


async def _probe_ws(client: WsClient, seen: list[str]) -> str | None:
    """Send a heartbeat and the probe; None if the probe was answered or the connection
    closed cleanly. Events that arrive on the way are added to ``seen``."""
    await client.send(HEARTBEAT)
    await client.send(PROBE)
    try:
        while True:
            packet = await client.packet(PROBE_TIMEOUT)
            if packet.namespace == "/nosuch" and packet.type == 4:
                return None
            seen.append(packet.event or f"packet {packet.type} {packet.id}")
    except Closed as closed:
        if closed.code not in OK_CLOSE_CODES:
            return f"websocket closed with code {closed.code} (None: no close frame)"
        return None
    except TimeoutError:
        return f"no answer to the probe within {PROBE_TIMEOUT} s and not closed"


async def _probe_poll(client: PollClient, seen: list[str]) -> str | None:
    status = await client.post(HEARTBEAT + "\x1e" + PROBE)
    if status >= 500:
        return f"probe POST answered {status}"
    if status != 200:
        status, _ = await client.get(PROBE_TIMEOUT)  # collect what a closed session left
        return f"GET after a refused POST answered {status}" if status >= 500 else None
    try:
        while True:
            for packet in await client.packets(PROBE_TIMEOUT):
                if packet.namespace == "/nosuch" and packet.type == 4:
                    return None
                seen.append(packet.event or f"packet {packet.type} {packet.id}")
    except Closed as closed:
        return f"GET answered {closed.code}" if (closed.code or 0) >= 500 else None
    except TimeoutError:
        return f"no answer to the probe within {PROBE_TIMEOUT} s and not closed"


async def _paired_partner(http: aiohttp.ClientSession, fz: Fuzzed) -> WsClient:
    """An honest raw client, waiting in the queue (the fuzzer finds it)."""
    partner = await WsClient.open(http, fz.server.url)
    assert (await partner.connect(fz.token())).type == 0
    await partner.expect("connection-quality")
    await partner.emit("find-partner")
    await partner.expect("waiting-for-partner")
    return partner


def _may_leave(scenario: list[Any]) -> bool:
    """Whether the scenario may legitimately leave and rejoin the namespace."""
    return any(
        (b"41" if isinstance(item, bytes) else "41") in item
        or (b"40" if isinstance(item, bytes) else "40") in item
        for item in scenario
    )


async def _run(fz: Fuzzed, transport: str, mode: str, scenario: list[Any]) -> list[str]:
    problems: list[str] = []
    async with aiohttp.ClientSession() as http:
        partner = await _paired_partner(http, fz) if mode == "paired" else None
        client: WsClient | PollClient
        fuzzer_saw: list[str] = []
        if transport == "websocket":
            client = await WsClient.open(http, fz.server.url)
        else:
            client = await PollClient.open(http, fz.server.url)
        try:
            if mode != "anonymous":
                assert (await client.connect(fz.token())).type == 0
            if partner is not None:
                await client.emit("find-partner")
                await partner.expect("match-found")
            if isinstance(client, WsClient):
                for frame in scenario:
                    if not await client.send(fz.fill(frame)):
                        break
                problem = await _probe_ws(client, fuzzer_saw)
            else:
                problem = None
                for body in scenario:
                    status = await client.post(fz.fill(body))
                    if status >= 500:
                        problem = f"POST answered {status}"
                        break
                    if status != 200:
                        break
                problem = problem or await _probe_poll(client, fuzzer_saw)
            if problem:
                problems.append(problem)
            if partner is not None:
                partner_saw: list[str] = []
                partner_problem = await _probe_ws(partner, partner_saw)
                if partner_problem:
                    problems.append("honest partner: " + partner_problem)
                # The heartbeat's ACK shows the fuzzer is still on the namespace: its partner
                # must not have been told that it disconnected (item 1's fake "disconnect").
                if (
                    "partner-disconnected" in partner_saw
                    and f"packet 3 {HEARTBEAT_ACK}" in fuzzer_saw
                    and not _may_leave(scenario)
                ):
                    problems.append("partner told of a disconnect while the fuzzer stayed")
        except Exception as exc:  # a refused set-up or a dropped connection: report, go on
            problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            await client.close()
            if partner is not None:
                await partner.close()
    return problems


def _scenario(fz: Fuzzed, transport: str, mode: str, scenario: list[Any]) -> None:
    if time.monotonic() - fz.started > BATCH_SECONDS:
        fz.skipped += 1
        return
    fz.ran += 1
    problems = asyncio.run(_run(fz, transport, mode, scenario))
    for problem in problems:
        shown = ", ".join(short(item) for item in scenario)
        fz.anomalies.append(f"[{transport}/{mode}] {problem}\n    scenario: {shown}")


# -- after each batch ---------------------------------------------------------------------------


def _connected_users(url: str) -> float:
    """The gauge, read from this machine (``/metrics`` answers local clients)."""
    resp = httpx.get(url + "/metrics", timeout=5)
    resp.raise_for_status()
    found = re.search(r"^randomchat_connected_users\s+(\S+)$", resp.text, re.M)
    assert found is not None, "randomchat_connected_users missing from /metrics"
    return float(found.group(1))


async def _honest_pair(url: str, transport: str) -> None:
    """Two python-socketio clients connect, match, and relay an offer with its ack."""
    waiter, seeker = Peer("honest-a", sub=f"honest-a-{time.time()}"), Peer("honest-b")
    await waiter.connect(url, transports=[transport])
    await seeker.connect(url)
    try:
        await waiter.expect("connection-quality")
        await seeker.expect("connection-quality")
        await match(waiter, seeker)
        offer = {"offer": {"type": "offer", "sdp": "v=0\r\n"}}
        await seeker.emit("signal-offer", offer)
        assert await waiter.expect("signal-offer") == offer
        await seeker.expect("signal-offer-ack")
    finally:
        await waiter.close()
        await seeker.close()


def _after_batch(fz: Fuzzed, transport: str, mode: str, log_start: int) -> list[str]:
    failures = []
    health = httpx.get(fz.server.url + "/healthz", timeout=5)
    if health.status_code != 200:
        failures.append(f"/healthz answered {health.status_code}")
    try:
        asyncio.run(_honest_pair(fz.server.url, transport))
    except Exception as exc:
        failures.append(f"honest pair failed: {type(exc).__name__}: {exc}")
    gauge = _connected_users(fz.server.url)
    for _ in range(60):  # polling sessions left open end at the 2 + 2 s ping timeout
        if gauge == 0:
            break
        time.sleep(0.25)
        gauge = _connected_users(fz.server.url)
    if gauge != 0:
        failures.append(f"randomchat_connected_users stays at {gauge} with every client gone")
    logged = fz.proc.failures()[log_start:]
    if logged:
        failures.append(f"{len(logged)} error/traceback log lines, first: {logged[0][:600]}")
    growth = fz.proc.rss() - fz.baseline_rss
    if growth > RSS_GROWTH_LIMIT:
        failures.append(f"RSS grew by {mb(growth)} (limit {mb(RSS_GROWTH_LIMIT)})")
    return failures


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: scenarios are reported as run
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

BATCHES = [
    (transport, mode)
    for transport in ("websocket", "polling")
    for mode in ("anonymous", "connected", "paired")
]


@pytest.mark.parametrize(("transport", "mode"), BATCHES, ids=[f"{t}-{m}" for t, m in BATCHES])
def test_fuzzed_packets_close_only_their_sender(
    fuzzed: Fuzzed, transport: str, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzzed.anomalies, fuzzed.ran, fuzzed.skipped = [], 0, 0
    fuzzed.started = time.monotonic()
    log_start = len(fuzzed.proc.failures())
    cpu_start = fuzzed.proc.cpu()
    scenarios = st.lists(frames, min_size=1, max_size=8)
    if transport == "polling":
        scenarios = st.lists(poll_bodies(), min_size=1, max_size=3)

    def batch(scenario: list[Any]) -> None:
        _scenario(fuzzed, transport, mode, scenario)

    # Each known attack once (explicit examples), then the generated scenarios.
    for known in reversed(KNOWN_SCENARIOS):
        if transport == "polling":  # one POST per frame, binary ones in base64
            known = [f if isinstance(f, str) else "b" + base64.b64encode(f).decode() for f in known]
        batch = example(scenario=known)(batch)
    batch = FUZZ_SETTINGS(given(scenario=scenarios)(batch))

    batch()
    failures = _after_batch(fuzzed, transport, mode, log_start)
    if fuzzed.skipped:
        failures.append(f"{fuzzed.skipped} scenarios skipped: the batch ran over {BATCH_SECONDS} s")
    with capsys.disabled():
        print(
            f"\nfuzz {transport}/{mode}: {fuzzed.ran} scenarios ({fuzzed.skipped} skipped) in "
            f"{time.monotonic() - fuzzed.started:.1f} s, server CPU "
            f"{fuzzed.proc.cpu() - cpu_start:.2f} s, RSS {mb(fuzzed.proc.rss())} "
            f"(start {mb(fuzzed.baseline_rss)}), {len(fuzzed.anomalies)} anomalies, "
            f"{len(failures)} batch failures"
        )
        for line in fuzzed.anomalies[:8]:
            print("  " + line)
        for line in failures:
            print("  BATCH: " + line)
    problems = len(fuzzed.anomalies) + len(failures)
    if problems:
        pytest.fail(f"{transport}/{mode}: {problems} problems (listed above)", pytrace=False)
