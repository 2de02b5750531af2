"""The cross-node transport: each node's inbox stream, its one writer and its one reader.

Which node an event goes to is ``randomchat.routing``'s business; here it is
appended to that node's own stream (``<prefix>inbox:<node>``), never to a channel
every node decodes: the cost of an event is on the two nodes involved, however
many nodes there are. What this node's reader reads is handed to ``deliver``
(``routing.Arrivals``), in order.

Writer: one task per node appends in order (pipelined in batches); its queue
holds at most ``OUTBOX_MAX`` events, and an event that finds it full is counted
as undelivered and logged.

Reader: one blocking reader per node remembers the last id it handled: when its
Redis connection drops, it reads on from that id after reconnecting, so events
are redelivered in order, not lost. What it has handled is trimmed in the same
round trip as its next read (``XTRIM MINID``), so a stream holds only what is on
its way: its memory follows the traffic of the moment, not the time since start.
``INBOX_MAX`` only bounds the stream of a node that stopped reading (stalled, or
dead until evicted). An entry it cannot read (a missing field, bad JSON, an
event it does not know: a bug, or a newer node in a rolling deploy) is skipped,
counted and logged (sampled). A writer or reader that stops for any other
reason is restarted after ``RESTART_DELAYS``; past them it is given up, and
``dead`` says so (the node then stops its heartbeat: ``randomchat.liveness``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from randomchat.logs import LogSampler
from randomchat.metrics import Metrics
from randomchat.protocol import ServerEvent
from randomchat.routing import DISCONNECT
from randomchat.tasks import cancel_and_wait

log = logging.getLogger(__name__)

INBOX_MAX = 100_000  # entries kept in the stream of a node that does not read it
OUTBOX_MAX = 100_000  # events waiting for the writer
READ_BATCH = 1000
READ_BLOCK_MS = 2000
SENDERS_KEPT = 1024  # sender lives whose last sequence number a reader remembers
KNOWN_EVENTS = frozenset({*ServerEvent, DISCONNECT})
# Seconds before the 1st, 2nd... restart of a task that failed again and again without
# progress in between. Quick at first (one odd failure costs half a second), then
# slower; past the last (15.5 s in all, about one --node-timeout) the fault is taken
# as lasting and the task is given up.
RESTART_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


# -- pure pieces ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One inbox entry, read: what to deliver, and the sender's life and number."""

    sid: str
    event: str
    data: Any  # decoded JSON; None for DISCONNECT
    source: str | None  # the relaying partner
    origin: str
    seq: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: str  # "malformed" or "unknown_event": the metric's label
    detail: str  # for the log line; never the entry's data (it may hold SDPs)


def parse_entry(fields: Mapping[bytes, bytes]) -> Entry | Unreadable:
    """An inbox entry's fields as an ``Entry``, or why it cannot be delivered."""
    try:
        raw = {key: fields[key].decode() for key in (b"s", b"e", b"o", b"q")}
    except KeyError as missing:
        return Unreadable("malformed", f"no field {missing.args[0]!r}")
    except (UnicodeDecodeError, AttributeError):
        return Unreadable("malformed", "a field is not UTF-8 text")
    seq = raw[b"q"]
    if not seq.isdigit() or int(seq) < 1:
        return Unreadable("malformed", "sequence number is not a positive integer")
    event = raw[b"e"]
    if event not in KNOWN_EVENTS:
        return Unreadable("unknown_event", f"event {event[:64]!r}")
    data: Any = None
    if event != DISCONNECT:
        try:
            data = orjson.loads(fields.get(b"d", b""))
        except orjson.JSONDecodeError:
            return Unreadable("malformed", "data is not JSON")
    source = fields.get(b"f", b"").decode(errors="replace") or None
    return Entry(raw[b"s"], event, data, source, raw[b"o"], int(seq))


def after(entry_id: str) -> str:
    """The smallest stream id after ``entry_id``: ``XTRIM MINID`` to it drops ``entry_id``."""
    ms, _, seq = entry_id.partition("-")
    return f"{ms}-{int(seq or 0) + 1}"


def restart_delay(failures: int, delays: tuple[float, ...] = RESTART_DELAYS) -> float | None:
    """Seconds to wait before restarting a task after ``failures`` failures in a row
    (1 for the first); None once they are used up: give up."""
    return delays[failures - 1] if failures <= len(delays) else None


# -- the transport ----------------------------------------------------------------

# Where what the reader read goes: (sid, event, data, source), in order.
Deliver = Callable[[str, str, Any, str | None], Awaitable[None]]


class Inbox:
    """This node's inbox stream and its reader, and the writer to every node's (a
    ``routing.Transport``)."""

    def __init__(
        self, redis: Redis, node: str, prefix: str, metrics: Metrics, deliver: Deliver
    ) -> None:
        self.redis = redis
        self.node = node
        self.prefix = prefix
        self.metrics = metrics
        self.deliver = deliver
        # node, sid, event, data, source (the relaying partner, or ""), sequence number.
        Outgoing = tuple[str, str, str, bytes, str, int]
        self._out: deque[Outgoing] = deque()  # bounded: OUTBOX_MAX (send drops, counts)
        self._wake = asyncio.Event()
        self._last_id = "$"
        self._trim_to: str | None = None  # handled entries are below it, not yet trimmed
        self._tasks: list[asyncio.Task[None]] = []
        # A batch whose XADD failed is sent again, and may have been stored the first
        # time (a timeout after the write): each event carries its sender's life and a
        # sequence number, and the reader skips what it has seen (one entry per sender
        # life, the oldest forgotten past SENDERS_KEPT).
        self._origin = f"{node}:{secrets.token_hex(4)}"
        self._seq = 0
        self._seen: dict[str, int] = {}
        # Unreadable entries: the first 3 lines per reason, then one a minute; at most
        # 10 a minute in all. A flood of them (a bug in a sender) is in the metric.
        self._unreadable_lines = LogSampler(first=3, every=60.0, overall=10)
        self.restart_delays: tuple[float, ...] = RESTART_DELAYS
        self.dead: str | None = None  # the task given up ("reader", "writer"), if any
        self._progress = {"reader": 0, "writer": 0}  # rounds done, to tell a stuck task
        self._failing: set[str] = set()  # the tasks whose last Redis command failed

    def inbox(self, node: str) -> str:
        return f"{self.prefix}inbox:{node}"

    def send(self, node: str, sid: str, event: str, data: Any, source: str | None) -> bool:
        if len(self._out) >= OUTBOX_MAX:
            self.metrics.undelivered.labels(event).inc()
            log.warning("cross-node outbox full", extra={"sid": sid, "event_name": event})
            return False
        self._seq += 1
        self._out.append((node, sid, event, orjson.dumps(data), source or "", self._seq))
        self._wake.set()
        return True

    # -- the writer and the reader, kept running ------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._supervised("writer", self._write)),
            asyncio.create_task(self._supervised("reader", self._read)),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def _supervised(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body`` for good: restart it when it fails, give it up past the delays.

        Redis errors never get here (each loop waits and retries them itself): what
        does is a bug, or a state no retry mends. A failure after progress (a round
        done since the last restart) starts the count again.
        """
        failures, progress = 0, -1
        while True:
            error: Exception | None = None
            try:
                await body()  # the loops never return; if one does, it failed too
            except Exception as exc:  # a cancellation (BaseException) passes: that is stop()
                error = exc
            failures = 1 if self._progress[name] != progress else failures + 1
            progress = self._progress[name]
            self.metrics.cluster_task_failures.labels(name).inc()
            delay = restart_delay(failures, self.restart_delays)
            if delay is None:
                self.dead = name
                log.error("cross-node %s failed again and again; given up", name, exc_info=error)
                return
            log.error(
                "cross-node %s failed; restarting it", name, exc_info=error,
                extra={"restart_in": delay, "failures": failures},
            )  # fmt: skip
            await asyncio.sleep(delay)

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._out:
                batch = [self._out[i] for i in range(min(len(self._out), READ_BATCH))]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for node, sid, event, data, source, seq in batch:
                            fields: dict[str | bytes, str | bytes | int] = {
                                "s": sid,
                                "e": event,
                                "d": data,
                                "f": source,
                                "o": self._origin,
                                "q": seq,
                            }
                            pipe.xadd(
                                self.inbox(node),
                                fields,  # type: ignore[arg-type]
                                maxlen=INBOX_MAX,
                                approximate=True,
                            )
                        await pipe.execute()
                except RedisError as exc:
                    self._outage("writer", exc)
                    await asyncio.sleep(0.5)  # the batch stays queued, in order
                    continue
                for _ in batch:
                    self._out.popleft()
                self._progress["writer"] += 1
                self._outage("writer", None)

    async def _read(self) -> None:
        key = self.inbox(self.node)
        while True:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    if self._trim_to is not None:  # what was handled: in this round trip
                        pipe.xtrim(key, minid=self._trim_to, approximate=False)
                    pipe.xread({key: self._last_id}, count=READ_BATCH, block=READ_BLOCK_MS)
                    answers: list[Any] = await pipe.execute()
            except RedisError as exc:
                self._outage("reader", exc)  # then reads on from the last id
                await asyncio.sleep(0.5)
                continue
            if len(answers) == 2:
                self._trim_to = None
            self._progress["reader"] += 1
            self._outage("reader", None)
            for _, entries in answers[-1] or []:  # RESP2: [[stream, [(id, fields), ...]]]
                for entry_id, fields in entries:
                    # Moved on before handling: an entry that breaks the reader is not
                    # read again after its restart.
                    self._last_id = entry_id.decode()
                    self._trim_to = after(self._last_id)
                    await self._handle(self._last_id, fields)

    def _outage(self, task: str, error: RedisError | None) -> None:
        """One line when ``task`` starts failing on Redis and one when it works again,
        not a traceback every half second of an outage (the error's kind is enough)."""
        if error is not None and task not in self._failing:
            self._failing.add(task)
            log.warning(
                "cross-node %s cannot reach Redis; retrying every 0.5 s", task,
                extra={"error": f"{type(error).__name__}: {error}"},
            )  # fmt: skip
        elif error is None and task in self._failing:
            self._failing.discard(task)
            log.info("cross-node %s reaches Redis again", task)

    async def _handle(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        entry = parse_entry(fields)
        if isinstance(entry, Unreadable):
            self._unreadable(entry_id, entry)
        elif self._first_time(entry.origin, entry.seq):  # not a batch sent twice
            await self.deliver(entry.sid, entry.event, entry.data, entry.source)

    def _unreadable(self, entry_id: str, problem: Unreadable) -> None:
        self.metrics.inbox_skipped.labels(problem.reason).inc()
        skipped = self._unreadable_lines.take(problem.reason, asyncio.get_running_loop().time())
        if skipped is not None:
            log.warning(
                "unreadable cross-node entry skipped",
                extra={"id": entry_id, "reason": problem.reason, "problem": problem.detail,
                       "skipped": skipped},
            )  # fmt: skip

    def _first_time(self, origin: str, seq: int) -> bool:
        if seq <= self._seen.get(origin, 0):
            return False
        self._seen.pop(origin, None)  # most recent last: the oldest are forgotten first
        self._seen[origin] = seq
        while len(self._seen) > SENDERS_KEPT:
            del self._seen[next(iter(self._seen))]
        return True

    async def flush(self) -> None:
        """Wait until the writer has sent what was queued (the caller bounds the wait)."""
        while self._out:  # noqa: ASYNC110 (the writer owns the queue; this only watches it)
            await asyncio.sleep(0.01)

    async def start_reading_from_now(self) -> None:
        """Skip what the stream held before this node started: it was for a previous life."""
        await self.redis.delete(self.inbox(self.node))
        self._last_id = "0-0"
        self._trim_to = None
