"""Pairing rules in the pure core: FIFO, interests, widening, strict, repeats, blocks."""

import random
from typing import Any

import pytest

from randomchat.core import matching
from randomchat.core.matching import (
    INTERESTS,
    MatchQueue,
    Seeker,
    Shared,
    Waiting,
    common_ground,
    pick,
)
from tests.matchers import WIDE, make_seeker, make_waiting

pytestmark = pytest.mark.pure

WAITS = {INTERESTS: 5.0}


def w(sid: str, since: float = 0.0, interests: tuple[str, ...] = (), **kw: object) -> Waiting:
    return make_waiting(sid, "u-" + sid, since, frozenset(interests), **kw)  # type: ignore[arg-type]


def seeker(sid: str = "new", interests: tuple[str, ...] = (), **kw: object) -> Seeker:
    return make_seeker(sid, "u-" + sid, frozenset(interests), **kw)  # type: ignore[arg-type]


def chosen(s: Seeker, *queue: Waiting) -> str | None:
    found = pick(s, queue)
    return found.entry.sid if found else None


def test_fifo_without_interests() -> None:
    assert chosen(seeker(), w("a", 1), w("b", 2)) == "a"
    assert chosen(seeker()) is None


def test_same_user_never_meets_itself() -> None:
    tab = make_waiting("tab1", "u-new", 0.0)
    assert chosen(seeker(), tab) is None
    assert chosen(seeker(), tab, w("b")) == "b"


def test_common_interest_beats_an_earlier_user_without_one() -> None:
    s = seeker(interests=("music",))
    assert chosen(s, w("plain", 1), w("fan", 2, ("music", "art"))) == "fan"
    found = pick(s, [w("plain", 1), w("fan", 2, ("music", "art"))])
    assert found is not None and found.shared == {INTERESTS: frozenset({"music"})}


def test_seeker_with_interests_waits_rather_than_take_anyone() -> None:
    s = seeker(interests=("music",))
    assert chosen(s, w("plain"), w("other", 0, ("chess",))) is None


def test_waiting_user_with_interests_accepts_anyone_only_when_widened() -> None:
    assert chosen(seeker(), w("fan", 0, ("music",))) is None
    assert chosen(seeker(), w("fan", 0, ("music",), widened=True)) == "fan"


def test_widened_seeker_takes_anyone_who_accepts_anyone_but_prefers_common() -> None:
    s = seeker(interests=("music",), widened=True)
    assert chosen(s, w("plain", 1), w("fan", 2, ("music",))) == "fan"
    assert chosen(s, w("chess", 0, ("chess",)), w("plain", 1)) == "plain"


def test_blocked_users_never_meet() -> None:
    s = seeker(excluded=frozenset({"u-a"}))
    assert chosen(s, w("a")) is None
    assert chosen(s, w("a"), w("b")) == "b"
    assert common_ground(s, w("a")) is None


def test_partners_within_the_repeat_window_never_meet_again() -> None:
    s = seeker(recent=frozenset({"u-a"}))
    assert chosen(s, w("a", 1), w("b", 2)) == "b"
    assert chosen(s, w("a", 1)) is None  # an exclusion: they keep waiting
    assert common_ground(s, w("a")) is None


def test_previous_partner_is_the_last_resort_outside_the_window() -> None:
    s = seeker(previous="u-a")
    assert chosen(s, w("a", 1), w("b", 2)) == "b"
    assert chosen(s, w("a", 1)) == "a"
    # The previous-partner rule holds from the waiting side too.
    assert chosen(seeker(), w("a", 1, previous="u-new"), w("c", 2)) == "c"


def test_queue_take_widen_and_position() -> None:
    queue = MatchQueue()
    assert queue.add(w("a", 1.0, ("music",))) == 1
    assert queue.add(w("b", 2.0, ("chess",), strict=True)) == 2
    assert queue.add(w("c", 3.0)) == 3
    assert queue.due_to_widen(5.9, WAITS) == []
    assert queue.due_to_widen(6.0, WAITS) == [("a", WIDE)]  # b is strict, c has no interests
    widened = queue.widen("a", WIDE)
    assert widened is not None and widened.widened == WIDE and widened.since == 1.0
    assert queue.position("a") == 1
    assert queue.due_to_widen(100.0, WAITS) == []
    found = queue.take(seeker())
    assert found is not None and found.entry.sid == "a"
    assert queue.position("c") == 2 and len(queue) == 2
    assert queue.take(make_seeker("c", "u-c")) is None  # never itself; b is strict about chess
    assert queue.widen("zz", WIDE) is None


def test_indexed_take_agrees_with_the_reference_ranking() -> None:
    """``MatchQueue.take`` picks exactly what a linear ``pick`` over the queue picks."""
    rng = random.Random(8)
    tags = ["a", "b", "c", "d"]
    for _ in range(400):
        queue = MatchQueue()
        entries = []
        for i in range(rng.randint(0, 12)):
            interests = tuple(rng.sample(tags, rng.randint(0, 2)))
            entry = make_waiting(
                f"s{i}",
                f"u{rng.randint(0, 9)}",
                float(i),
                frozenset(interests),
                strict=bool(interests) and rng.random() < 0.2,
                previous=f"u{rng.randint(0, 9)}" if rng.random() < 0.3 else None,
            )
            queue.add(entry)
            entries.append(entry)
        for entry in entries:  # widen some, in arrival order as the widening job does
            due = dict(queue.due_to_widen(entry.since + 5, WAITS))
            if entry.sid in due and rng.random() < 0.5:
                queue.widen(entry.sid, due[entry.sid])
        s = make_seeker(
            "new",
            f"u{rng.randint(0, 9)}",
            frozenset(rng.sample(tags, rng.randint(0, 2))),
            widened=rng.random() < 0.3,
            excluded=frozenset({f"u{rng.randint(0, 9)}"}),
            recent=frozenset({f"u{rng.randint(0, 9)}", f"u{rng.randint(0, 9)}"}),
            previous=f"u{rng.randint(0, 9)}",
        )
        expected = pick(s, list(queue))
        found = queue.take(s)
        assert (found and found.entry.sid) == (expected and expected.entry.sid)


def test_a_search_does_not_scan_waiting_users_it_cannot_meet(monkeypatch: Any) -> None:
    """6,000 users waiting with unique interests cost a new search nothing (was O(n))."""
    queue = MatchQueue()
    for i in range(6000):
        queue.add(w(f"s{i}", float(i), (f"tag{i}",)))
    examined = 0
    real = matching.common_ground

    def counting(seeker: Seeker, entry: Waiting) -> Shared | None:
        nonlocal examined
        examined += 1
        return real(seeker, entry)

    monkeypatch.setattr(matching, "common_ground", counting)
    assert queue.take(seeker("x", ("unique",))) is None
    assert queue.take(seeker("y")) is None
    assert examined == 0
    assert queue.take(seeker("z", ("tag5999",))) is not None
    assert examined == 1
    assert queue.position("s5998") == 5999 and queue.due_to_widen(5.5, WAITS) == [("s0", WIDE)]
