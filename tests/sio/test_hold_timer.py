"""A held socket is released by its own timer, however early the loop fires it.

uvloop (what ``randomchat serve`` runs on) fires a timer up to about a millisecond
before ``time.monotonic()`` reaches its due time. A hold that its timer ended only
if the clock said the window had passed was then never ended: a ghost socket,
its user "waiting" for good. The hand clock here fires timers early on purpose.
"""

from __future__ import annotations

import asyncio
import heapq
import json

import pytest

from tests.sio.fakeasgi import FakeWebSocket, Recorder, eventually
from tests.sio.handclock import HandClock

pytestmark = pytest.mark.server

WINDOW = 30.0
EARLY = 0.002  # seconds before its due time that a timer fires


class EarlyClock(HandClock):
    def advance(self, seconds: float) -> int:
        self.now += seconds
        ran = 0
        while self._due and self._due[0][0] <= self.now + EARLY:
            _, _, callback, timer = heapq.heappop(self._due)
            if not timer.cancelled:
                ran += 1
                callback()
        return ran


async def held(rec: Recorder) -> str:
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send("40/ns," + json.dumps({"recover": True}))
    reply = json.loads((await ws.next_text())[len("40/ns,") :])
    ws.hang_up()
    await eventually(lambda: reply["pid"] in rec.server.holds)
    return str(reply["sid"])


async def test_a_hold_whose_timer_fires_early_is_still_released() -> None:
    hand = EarlyClock()
    rec = Recorder(clock=hand, call_later=hand.call_later, recovery_window=WINDOW)
    sid = await held(rec)
    hand.advance(WINDOW - EARLY / 2)  # the timer fires; the clock is short of the deadline
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(sid, "transport close")]
    assert not rec.server.holds and not rec.server.by_pid and not rec.server.sockets


async def test_a_resumed_socket_is_not_released_by_the_timer_of_its_old_hold() -> None:
    hand = EarlyClock()
    rec = Recorder(clock=hand, call_later=hand.call_later, recovery_window=WINDOW)
    ws = FakeWebSocket(rec.engine)
    await ws.open()
    ws.send("40/ns," + json.dumps({"recover": True}))
    reply = json.loads((await ws.next_text())[len("40/ns,") :])
    ws.hang_up()
    await eventually(lambda: reply["pid"] in rec.server.holds)
    hand.advance(WINDOW / 2)
    back = FakeWebSocket(rec.engine)
    await back.open()
    back.send("40/ns," + json.dumps({"recover": True, "pid": reply["pid"], "offset": None}))
    assert json.loads((await back.next_text())[len("40/ns,") :])["sid"] == reply["sid"]
    back.hang_up()  # held again: a new window from now
    await eventually(lambda: reply["pid"] in rec.server.holds)
    hand.advance(WINDOW / 2 + 1)  # the first hold's window is over, the second's is not
    for _ in range(10):  # let a wrongly spawned release run, if any
        await asyncio.sleep(0)
    assert rec.disconnected == [] and reply["pid"] in rec.server.holds
    hand.advance(WINDOW / 2)
    await eventually(lambda: bool(rec.disconnected))
    assert rec.disconnected == [(reply["sid"], "transport close")]
