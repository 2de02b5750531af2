"""A sequence fuzz of one server: connect, search, next, drop, resume, disconnect, time.

A hypothesis state machine drives the real stack (socket layer, gateway, lobby,
memory store) through fake ASGI WebSockets, with the socket layer's timers and
the lobby's clock on one hand-moved clock. After every run each client leaves
(cleanly, or by letting its hold run out), and then the queue, the pairs, the
held sockets, the sessions, the gauges' sources and the lobby's per-connection
state must all be back to zero, and no handler may have logged an error.

The hand clock fires a timer up to ``EARLY`` seconds before the clock reads its
due time, as uvloop (what ``randomchat serve`` runs on) does: libuv arms timers
from a loop time cached at the start of the iteration, in whole milliseconds, so
``time.monotonic()`` read inside a callback is often a little short of the
deadline (197 of 200 timers of 10.5 ms fired early, by up to 1.3 ms, on this
machine). A hold ended by comparing the clock with its deadline in its own timer
was then never ended.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from randomchat.auth import Verifier
from randomchat.config import Settings
from randomchat.core.state import Phase
from randomchat.db import Database
from randomchat.delivery import LocalDelivery
from randomchat.gateway import Gateway, socket_server
from randomchat.lobby import Lobby
from randomchat.lobby.resume import recovery_guard
from randomchat.metrics import Metrics
from randomchat.protocol import NAMESPACE
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from tests.conftest import SECRET
from tests.server.harness import make_token
from tests.sio.fakeasgi import FakeWebSocket
from tests.sio.handclock import HandClock

pytestmark = pytest.mark.server

NS = "/random-chat"
WINDOW = 30.0  # the recovery window (the default of --recovery-window)
EARLY = 0.002  # seconds a timer may fire before its due time (uvloop: up to ~1.3 ms seen)
CLIENTS = 4
SEARCHES = ["find-partner", "next", "leave"]
SETTLE_TURNS = 30  # loop turns after the last message: enough for the memory store's work
QUIET_LIMIT = 5.0  # seconds; a bound for real I/O (the database at connect), never a measure


class EarlyClock(HandClock):
    """The engine's clock and the lobby's at once; timers fire up to ``EARLY`` early."""

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> int:
        self.now += seconds
        ran = 0
        while self._due and self._due[0][0] <= self.now + EARLY:
            _, _, callback, timer = heapq.heappop(self._due)
            if not timer.cancelled:
                ran += 1
                callback()
        return ran


class Networked:
    """The memory store, suspending before and after each call as a networked store does.

    On the memory store nothing in a handler ever yields to the loop, so no other
    task can run in the middle of one; on Redis every store call is a round trip
    and a disconnect, a hold or a resume can run meanwhile. These are the
    interleavings the fuzz is after.
    """

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def call(*args: Any) -> Any:
            await asyncio.sleep(0)
            result = await method(*args)
            await asyncio.sleep(0)
            return result

        return call


class Transport(FakeWebSocket):
    """A fake WebSocket whose writes fail once ``broken``: the peer vanished mid-handler."""

    broken = False

    async def _send(self, message: dict[str, Any]) -> None:
        if self.broken and message["type"] != "websocket.accept":  # it was there to connect
            raise ConnectionResetError("the peer is gone")
        await super()._send(message)


class Errors(logging.Handler):
    """Every record at ERROR or above, from anywhere in the server."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Client:
    """One page's view: its current WebSocket, its socket id and pid, its last offset."""

    def __init__(self, index: int) -> None:
        self.token = make_token(f"User{index}", sub=f"u-{index}")
        self.ws: Transport | None = None
        self.sid: str | None = None
        self.pid: str | None = None
        self.offset: str | None = None
        self.dying: list[Transport] = []  # dropped, possibly not yet noticed by the server
        self.answered = True  # the CONNECT of the current ws was answered

    def read(self) -> None:
        """Take in what the server wrote; answer pings."""
        for ws in [*self.dying, *([self.ws] if self.ws else [])]:
            while not ws.received.empty():
                message = ws.received.get_nowait()
                text = message.get("text")
                if text == "2" and ws is self.ws:
                    ws.send("3")
                elif isinstance(text, str) and ws is self.ws:
                    self._packet(text)
                elif message["type"] == "websocket.close" and ws is self.ws:
                    self.lost()

    def _packet(self, text: str) -> None:
        if text.startswith(f"40{NS},"):
            reply = json.loads(text[len(f"40{NS},") :])
            if reply.get("sid") != self.sid:
                self.offset = None  # a new socket: offsets start again
            self.sid, self.pid, self.answered = reply["sid"], reply.get("pid"), True
        elif text.startswith(f"44{NS},"):
            self.answered = True
            self.sid = self.pid = None
        elif text.startswith(f"41{NS},"):
            self.lost()
            self.sid = self.pid = None
        elif text.startswith(f"42{NS},"):
            args = json.loads(text[len(f"42{NS},") :])
            if args and isinstance(args[-1], str) and args[-1].isdigit():
                self.offset = args[-1]

    def lost(self) -> None:
        if self.ws is not None:
            self.dying.append(self.ws)
            self.ws = None

    def busy(self) -> bool:
        sockets = [*self.dying, *([self.ws] if self.ws else [])]
        if any(not ws.inbox.empty() and not ws.task.done() for ws in sockets):
            return True
        return self.ws is not None and not self.answered and not self.ws.task.done()


class SequenceFuzz(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    db: Database
    errors: Errors
    data_dir: str

    def __init__(self) -> None:
        super().__init__()
        self.clock = EarlyClock()
        values: dict[str, Any] = {
            "jwt_secret": SECRET,
            "stun_urls": (),
            "find_rate_limit_ms": 0,
            "web_dir": "/nonexistent",
            "data_dir": self.data_dir,
            "recovery_window": WINDOW,
        }
        self.settings = Settings(**values)
        self.store = MemoryStore()
        metrics = Metrics()
        rules = Rules.from_settings(self.settings)
        store: Any = Networked(self.store)
        self.lobby = Lobby(store, self.db, self.clock, metrics, rules)
        guard = recovery_guard(self.lobby.ctx, Verifier(SECRET))
        self.server = socket_server(
            self.settings, guard, clock=self.clock, call_later=self.clock.call_later
        )
        delivery = LocalDelivery(self.server, NAMESPACE, metrics, self.lobby.ctx.told)
        self.gateway = Gateway(self.settings, self.lobby, metrics, delivery, self.server)
        self.clients = [Client(n) for n in range(CLIENTS)]
        self.errors.records.clear()

    # -- driving ---------------------------------------------------------------------

    def run(self) -> None:
        self.loop.run_until_complete(self._settle())

    async def _settle(self) -> None:
        waited = 0.0
        while waited < QUIET_LIMIT:
            for _ in range(SETTLE_TURNS):
                await asyncio.sleep(0)
            for client in self.clients:
                client.read()
            if not any(client.busy() for client in self.clients):
                break
            await asyncio.sleep(0.002)  # real I/O in flight (the database at connect)
            waited += 0.002
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        for client in self.clients:
            client.read()

    def _open(self, client: Client, auth: dict[str, Any]) -> None:
        ws = Transport(self.server.engine)
        ws.send(f"40{NS}," + json.dumps(auth))
        client.ws, client.answered = ws, False
        self.run()  # as a page, which sends nothing before its CONNECT is answered

    def _event(self, client: Client, event: str) -> None:
        assert client.ws is not None
        client.ws.send(f"42{NS}," + json.dumps([event]))

    # -- rules -----------------------------------------------------------------------

    clients_ = st.integers(0, CLIENTS - 1)

    @rule(n=clients_, recover=st.booleans())
    def connect(self, n: int, recover: bool) -> None:
        """A page (which asks for recovery) or a seed client (which does not)."""
        client = self.clients[n]
        if client.ws is None:
            self._open(client, {"token": client.token, "recover": recover})

    @rule(n=clients_)
    def resume(self, n: int) -> None:
        client = self.clients[n]
        if client.ws is None and client.pid is not None:
            auth = {"token": client.token, "recover": True, "pid": client.pid}
            self._open(client, {**auth, "offset": client.offset})

    @rule(
        n=clients_,
        events=st.lists(st.sampled_from(SEARCHES), min_size=1, max_size=3),
        then=st.sampled_from(["stay", "drop", "drop-writing", "disconnect"]),
    )
    def send(self, n: int, events: list[str], then: str) -> None:
        """A few requests in a row, and maybe the end of the transport right after them:
        the later requests are handled while the writer sends the answers to the first,
        which is where a dropped transport is noticed (``drop``)."""
        client = self.clients[n]
        if client.ws is not None:
            for event in events:
                self._event(client, event)
            if then == "disconnect":
                self.disconnect(n)
            elif then != "stay":
                self.drop(n, writing=then == "drop-writing")

    @rule(n=clients_, writing=st.booleans())
    def drop(self, n: int, writing: bool) -> None:
        """The transport is lost without a goodbye (a network that went away): noticed by
        the reader after what the client sent before, or (``writing``) by the writer, in
        the middle of whatever handler runs then."""
        client = self.clients[n]
        if client.ws is not None:
            client.ws.broken = writing
            client.ws.hang_up()
            client.lost()

    @rule(n=clients_)
    def disconnect(self, n: int) -> None:
        client = self.clients[n]
        if client.ws is not None:
            client.ws.send(f"41{NS},")
            client.ws.hang_up()
            client.lost()
            client.sid = client.pid = None

    @rule(seconds=st.sampled_from([0.5, 5.0, WINDOW - EARLY / 2, WINDOW, WINDOW + 1]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def settle(self) -> None:
        """Let everything sent so far be handled; then no held socket may be waiting."""
        self.run()
        # A socket whose transport is gone is never offered to a newcomer.
        for socket in self.server.holds.items():
            phase = self.loop.run_until_complete(self.store.phase_of(socket.sid))
            assert phase is not Phase.WAITING, f"held socket {socket.sid} is in the queue"

    def teardown(self) -> None:
        for client in self.clients:
            if client.ws is not None:
                self.disconnect(self.clients.index(client))
        self.run()
        self.clock.advance(WINDOW + 1)  # every hold runs out
        self.run()
        self.clock.advance(3600)  # and every other timer (heartbeats, lingering sessions)
        self.run()
        counts = self.loop.run_until_complete(self.store.counts())
        assert counts.empty, counts
        sizes = self.lobby.local_sizes()
        assert sizes["connections"] == sizes["pending_batches"] == 0, sizes
        assert sizes["pending_resumes"] == sizes["calls"] == 0, sizes
        assert not self.server.sockets and not self.server.by_pid
        assert len(self.server.holds) == 0, "a held socket was never released"
        assert not self.server.engine.sessions
        assert self.gateway.delivery.told() == 0  # type: ignore[attr-defined]
        raised = [f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in self.errors.records]
        assert not raised, raised


@pytest.mark.parametrize(
    ("recover", "events"),
    [
        (False, ["find-partner", "next"]),  # found by the fuzz: KeyError in the search
        (True, ["next", "leave", "find-partner"]),  # found by the fuzz: held and waiting
    ],
)
def test_a_transport_lost_in_the_middle_of_a_handler(
    fuzz_loop: tuple[asyncio.AbstractEventLoop, Database],
    tmp_path: Any,
    recover: bool,
    events: list[str],
) -> None:
    """The writer finds the peer gone while a later request's handler is half-way."""
    loop, db = fuzz_loop
    errors = Errors()
    logging.getLogger().addHandler(errors)
    SequenceFuzz.loop, SequenceFuzz.db, SequenceFuzz.errors = loop, db, errors
    SequenceFuzz.data_dir = str(tmp_path)
    try:
        machine = SequenceFuzz()
        machine.connect(n=0, recover=recover)
        machine.connect(n=1, recover=recover)
        machine.send(n=0, events=events, then="drop-writing")
        machine.settle()  # no held socket waits
        machine.teardown()  # nothing left, no handler raised
    finally:
        logging.getLogger().removeHandler(errors)


@pytest.fixture
def fuzz_loop(tmp_path: Any) -> Iterator[tuple[asyncio.AbstractEventLoop, Database]]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the fake WebSockets start their tasks from the rules
    db = loop.run_until_complete(Database.open(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"))
    try:
        yield loop, db
    finally:
        loop.run_until_complete(db.close())
        asyncio.set_event_loop(None)
        loop.close()


def test_sequences_leave_nothing_behind(
    fuzz_loop: tuple[asyncio.AbstractEventLoop, Database], tmp_path: Any
) -> None:
    loop, db = fuzz_loop
    errors = Errors()
    logging.getLogger().addHandler(errors)
    SequenceFuzz.loop, SequenceFuzz.db, SequenceFuzz.errors = loop, db, errors
    SequenceFuzz.data_dir = str(tmp_path)
    try:
        run_state_machine_as_test(
            SequenceFuzz,
            settings=settings(
                max_examples=300,
                stateful_step_count=40,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        logging.getLogger().removeHandler(errors)
