"""Issue 22 (c), the pure rules: a proof of work that costs more the further an address goes
past its session rate, and a solution spent through ``ProofOfWork.use``."""

from __future__ import annotations

import base64
import json

import pytest

from randomchat.core.powcost import MAX_LEVEL, Pressure, max_number
from randomchat.guests import ProofOfWork
from tests.core.test_pow_bounds import NOW, solve

pytestmark = pytest.mark.pure


async def test_use_spends_a_solution_once() -> None:
    pow_ = ProofOfWork("s" * 40, max_number=500, ttl=60)
    solved = pow_.solved(solve(pow_.challenge(NOW)), NOW)
    assert solved is not None
    assert await pow_.use(solved, NOW) and not await pow_.use(solved, NOW + 1)


def test_a_challenge_must_be_as_hard_as_the_address_level_asks() -> None:
    pow_ = ProofOfWork("s" * 40, max_number=100, ttl=60)
    assert pow_.challenge(NOW)["maxnumber"] == 100
    assert pow_.challenge(NOW, level=2)["maxnumber"] == 400
    assert pow_.challenge(NOW, level=99)["maxnumber"] == 100 << MAX_LEVEL
    cheap, dear = solve(pow_.challenge(NOW)), solve(pow_.challenge(NOW, level=1))
    assert pow_.solved(cheap, NOW, level=1) is None  # fetched cheap, elsewhere or earlier
    assert pow_.solved(dear, NOW, level=1) is not None
    assert pow_.solved(dear, NOW, level=0) is not None  # harder than asked is fine
    # The number a challenge may take is its own largest, which the salt carries signed.
    data = json.loads(base64.b64decode(dear))
    forged = {**data, "salt": data["salt"].replace("m=200", "m=100")}
    assert pow_.solved(base64.b64encode(json.dumps(forged).encode()).decode(), NOW) is None


def test_pressure_grows_per_session_past_the_rate_and_drains_at_the_rate() -> None:
    pressure = Pressure(rate=1 / 6, step=10)  # 10 a minute, bursts of 10
    assert pressure.level("a", 0.0) == 0
    for _ in range(20):
        pressure.add("a", 0.0)
    assert pressure.level("a", 0.0) == 2 and pressure.level("b", 0.0) == 0
    assert pressure.level("a", 60.0) == 1  # ten sessions' worth drained in a minute
    for _ in range(100):
        pressure.add("a", 60.0)
    assert pressure.level("a", 60.0) == MAX_LEVEL
    assert max_number(200_000, 0) == 200_000 and max_number(200_000, 4) == 3_200_000


def test_pressure_is_bounded_and_forgets_the_bucket_touched_longest_ago() -> None:
    pressure = Pressure(rate=1.0, step=1, max_keys=2)
    pressure.add("a", 0.0)
    pressure.add("a", 0.0)
    pressure.add("b", 0.0)
    pressure.add("c", 0.0)
    assert len(pressure) == 2 and pressure.level("a", 0.0) == 0  # forgotten: the base cost
    assert pressure.level("b", 0.0) == 1 and pressure.level("c", 0.0) == 1
    pressure.add("d", 5.0)  # b and c have drained meanwhile: dropped as they are met
    assert len(pressure) == 1
