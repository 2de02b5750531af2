"""Issue 22 (c), the pure rules: a bounded replay cache that refuses nobody honest
(the proof of work's cost per address is in test_pow_cost.py)."""

from __future__ import annotations

import pytest

from randomchat.core.replay import ReplayCache
from randomchat.guests import ProofOfWork
from tests.powsolve import solve

pytestmark = pytest.mark.pure

NOW = 1_800_000_000.0


def test_a_full_cache_accepts_a_fresh_solution_and_replays_nothing_it_forgot() -> None:
    cache = ReplayCache(max_entries=3)
    for n in range(3):  # filled on purpose: three solutions of challenges ending at 300
        assert cache.claim(f"old{n}", expires=300.0, now=10.0)
    assert cache.claim("fresh", expires=301.0, now=11.0)  # a challenge made a second later
    assert len(cache) == 3
    # The entry forgotten to make room, and anything that ends as early, is refused.
    assert not cache.claim("old0", expires=300.0, now=12.0)
    assert not cache.claim("unused-but-as-old", expires=300.0, now=12.0)
    for key in ("old1", "old2", "fresh"):  # the others are still remembered
        assert not cache.claim(key, expires=301.0, now=12.0)
    assert cache.claim("later", expires=302.0, now=12.0)
    assert cache.claim("after-expiry", expires=400.0, now=350.0)  # all expired: empty again
    assert len(cache) == 1


def test_filling_the_proof_of_work_cache_does_not_refuse_an_honest_solution() -> None:
    pow_ = ProofOfWork("s" * 40, max_number=500, ttl=60, max_used=3)
    for _ in range(3):  # an attacker fills the cache with solutions of its own
        assert pow_.verify(solve(pow_.challenge(NOW)), NOW)
    honest = solve(pow_.challenge(NOW + 1))  # fetched after the filling
    assert pow_.verify(honest, NOW + 1)
    assert not pow_.verify(honest, NOW + 2)  # and used once, as ever
