from randomchat.core.matching import MatchQueue


def test_fifo_pairs_longest_waiting_first() -> None:
    queue = MatchQueue()
    assert queue.add("a", "ua", 1.0) == 1
    assert queue.add("b", "ub", 2.0) == 2
    entry = queue.pop_partner_for("uc")
    assert entry is not None and entry.sid == "a" and entry.since == 1.0
    assert len(queue) == 1 and "a" not in queue


def test_same_user_is_skipped_not_removed() -> None:
    queue = MatchQueue()
    queue.add("tab1", "alice", 0.0)
    assert queue.pop_partner_for("alice") is None
    assert "tab1" in queue
    queue.add("b", "bob", 1.0)
    entry = queue.pop_partner_for("alice")
    assert entry is not None and entry.sid == "b"
    assert [e.sid for e in queue] == ["tab1"]


def test_remove_and_position() -> None:
    queue = MatchQueue()
    for i, sid in enumerate("abc"):
        queue.add(sid, "u" + sid, float(i))
    assert queue.position("c") == 3
    assert queue.remove("b") is not None
    assert queue.remove("b") is None
    assert queue.position("c") == 2
    assert queue.position("zz") is None


def test_empty_queue_gives_nobody() -> None:
    assert MatchQueue().pop_partner_for("x") is None
