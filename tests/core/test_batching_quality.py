import pytest

from randomchat.core.batching import CandidateBatcher
from randomchat.core.quality import ConnectionMetrics, judge

pytestmark = pytest.mark.pure


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


def test_ban_list_honours_expiry_and_replacement() -> None:
    from randomchat.core.moderation import BanList
    from randomchat.db import Ban

    bans: BanList[Ban] = BanList()
    bans.add(Ban("u", "spam", 0.0, 100.0, "auto"))
    assert bans.active("u", 99.0) is not None and bans.active("u", 100.0) is None
    bans.replace([Ban("v", "x", 0.0, 50.0, "cli:root")])
    assert bans.active("u", 1.0) is None and bans.active("v", 1.0) is not None
    bans.remove("v")
    assert len(bans) == 0
