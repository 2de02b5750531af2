from randomchat.core.batching import CandidateBatcher
from randomchat.core.quality import ConnectionMetrics, judge


def test_first_candidate_asks_for_a_flush_and_order_is_kept() -> None:
    batcher = CandidateBatcher()
    assert batcher.add("s", 1) is True
    assert batcher.add("s", 2) is False
    assert batcher.add("t", 9) is True
    assert batcher.take("s") == [1, 2]
    assert batcher.take("s") == []
    assert batcher.add("s", 3) is True  # a new flush after the last one
    assert len(batcher) == 2


def test_quality_thresholds() -> None:
    assert judge(5.0, 5.0) == "excellent"
    assert judge(7.5, 5.0) == "excellent"
    assert judge(7.6, 5.0) == "good"
    assert judge(15.0, 5.0) == "good"
    assert judge(15.1, 5.0) == "poor"


def test_heartbeat_reports_only_changes() -> None:
    metrics = ConnectionMetrics.start(100.0)
    assert metrics.heartbeat(105.0, 5.0) is None
    assert metrics.heartbeat(115.0, 5.0) == "good"
    assert metrics.heartbeat(135.0, 5.0) == "poor"
    assert metrics.heartbeat(140.0, 5.0) == "excellent"
    assert metrics.heartbeat_count == 4
    assert metrics.last_heartbeat == 140.0
    assert metrics.connected_at == 100.0
