"""LogSampler (issue 22, item c): which lines a client causes at will are written."""

from __future__ import annotations

import pytest

from randomchat.logs import LogSampler

pytestmark = pytest.mark.pure


def test_the_first_lines_of_a_key_then_one_per_interval_telling_what_was_skipped() -> None:
    sampler = LogSampler(first=3, every=60.0)
    assert [sampler.take("s1", now=0.0) for _ in range(5)] == [0, 0, 0, None, None]
    assert sampler.take("s1", now=59.9) is None
    assert sampler.take("s1", now=60.0) == 3  # three lines left out since the last one
    assert sampler.take("s1", now=61.0) is None
    assert sampler.take("s1", now=120.0) == 1
    assert sampler.take("s1", now=500.0) == 0  # a quiet key: its next line, nothing skipped


def test_keys_are_sampled_apart_and_forgotten() -> None:
    sampler = LogSampler(first=1, every=60.0)
    assert sampler.take("s1", 0.0) == 0 and sampler.take("s1", 1.0) is None
    assert sampler.take("s2", 1.0) == 0  # another connection's first line
    assert len(sampler) == 2
    sampler.forget("s1")
    sampler.forget("never-seen")
    assert len(sampler) == 1
    assert sampler.take("s1", 2.0) == 0  # a new connection under an old sid starts over


def test_the_overall_cap_stops_a_client_that_reconnects_over_and_over() -> None:
    sampler = LogSampler(first=5, every=60.0, overall=10)
    written = [sampler.take(f"s{n}", now=n * 0.01) for n in range(100)]
    assert sum(line is not None for line in written) == 10
    assert sampler.take("late", now=59.0) is None
    assert sampler.take("late", now=60.0) == 1  # a new window; its skipped line is told


def test_the_keys_kept_are_bounded() -> None:
    sampler = LogSampler(first=1, every=60.0, overall=1_000_000, max_keys=100)
    for n in range(1000):
        sampler.take(f"s{n}", now=0.0)
    assert len(sampler) == 100
    assert sampler.take("s999", now=1.0) is None  # the newest are kept
    assert sampler.take("s0", now=1.0) == 0  # the oldest were dropped: seen afresh
