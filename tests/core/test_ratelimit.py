import pytest

from randomchat.core.ratelimit import Limit, RateLimiter

pytestmark = pytest.mark.pure


def test_one_per_second() -> None:
    limiter = RateLimiter(Limit.one_per(1000))
    assert limiter.take("u", 10.0) == 0.0
    assert limiter.take("u", 10.4) == pytest.approx(0.6)
    assert limiter.take("u", 10.4) == pytest.approx(0.6)  # a refusal costs nothing
    assert limiter.take("u", 11.0) == 0.0
    assert limiter.take("other", 11.0) == 0.0  # keys are independent


def test_burst_then_rate() -> None:
    limiter = RateLimiter(Limit(rate=5, burst=10))
    assert all(limiter.take("u", 0.0) == 0.0 for _ in range(10))
    assert limiter.take("u", 0.0) == pytest.approx(0.2)
    assert limiter.take("u", 0.2) == 0.0


def test_disabled_limit_allows_everything_and_keeps_nothing() -> None:
    limiter = RateLimiter(Limit.one_per(0))
    assert all(limiter.take("u", 0.0) == 0.0 for _ in range(100))
    assert len(limiter) == 0


def test_prune_forgets_only_full_buckets() -> None:
    limiter = RateLimiter(Limit.one_per(1000))
    limiter.take("a", 0.0)
    limiter.take("b", 0.8)
    limiter.prune(1.5)
    assert len(limiter) == 1
    limiter.prune(2.0)
    assert len(limiter) == 0
