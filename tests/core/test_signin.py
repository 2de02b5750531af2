"""The console's sign-in back-off as a pure policy: time passed in, no server.

The owner must always get in from a network of their own, whatever a guesser
elsewhere does; guessers are slowed per network, per (network, name) and per name.
"""

from __future__ import annotations

import pytest

from randomchat.core.signin import (
    ACCOUNT,
    FORGET_SECONDS,
    NETWORK,
    PAIR,
    Backoff,
    SignInPolicy,
)

pytestmark = pytest.mark.pure

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def fail(policy: SignInPolicy, network: str, name: str, now: float) -> None:
    """An attempt let through whose password was wrong."""
    assert policy.start(network, name, now) == 0.0


def test_waits_are_free_then_double_up_to_the_cap() -> None:
    backoff = Backoff(free=3, first=2.0, cap=60.0)
    assert [backoff.wait(n) for n in range(10)] == [0, 0, 0, 0, 2, 4, 8, 16, 32, 60]
    assert backoff.wait(10**9) == 60.0  # a tally that kept growing does not overflow


def test_a_drip_from_elsewhere_never_locks_the_owner_out() -> None:
    """The finding: one wrong password every 3 s from another network kept the admin
    out 6 times out of 6. Now the owner gets in every time, and the guesser gets
    a handful of password checks in two hours."""
    policy = SignInPolicy()
    checked = 0
    for step in range(2 * 3600 // 3):
        now = step * 3.0
        if policy.start(ATTACKER, "root", now) == 0.0:
            checked += 1  # a wrong password: the attempt stays a failure
        if step % 20 == 7:  # the owner, once a minute, between two guesses
            assert policy.start(OWNER, "root", now + 1) == 0.0
            policy.succeeded(OWNER, "root")
    # 4 free tries, 8 more while the wait doubles to 5 minutes (9 minutes in all),
    # then one per 5 minutes (the cap): 34 password checks in two hours.
    assert checked <= 4 + 8 + (2 * 3600) // PAIR.cap
    assert policy.wait(ATTACKER, "root", 7200.0) > 0


def test_an_owner_who_mistypes_during_an_attack_waits_at_most_the_account_cap() -> None:
    policy = SignInPolicy()
    botnet = [f"192.0.2.{i}" for i in range(3 * ACCOUNT.free)]
    for network in botnet:  # one guess each: the name is now under attack
        fail(policy, network, "root", 0.0)
    typo = 1.0
    fail(policy, OWNER, "root", typo)
    now = typo
    while now < typo + ACCOUNT.cap:
        assert 0 < policy.start(OWNER, "root", now) <= ACCOUNT.cap
        policy.start(botnet[0], "root", now)  # the drip goes on; it cannot move the wait
        now += 3.0
    assert policy.start(OWNER, "root", typo + ACCOUNT.cap) == 0.0


def test_retry_after_is_exact() -> None:
    policy = SignInPolicy()
    for i in range(PAIR.free + 1):
        fail(policy, ATTACKER, "root", float(i))
    last = float(PAIR.free)
    wait = policy.start(ATTACKER, "root", last + 0.5)
    assert wait == pytest.approx(PAIR.first - 0.5)
    assert policy.start(ATTACKER, "root", last + 0.5 + wait - 0.01) > 0
    assert policy.start(ATTACKER, "root", last + 0.5 + wait) == 0.0


def test_a_refused_attempt_changes_nothing() -> None:
    policy = SignInPolicy()
    for _ in range(PAIR.free + 1):
        fail(policy, ATTACKER, "root", 0.0)
    for _ in range(100):
        assert policy.start(ATTACKER, "root", 1.0) == pytest.approx(PAIR.first - 1.0)
    assert policy.start(ATTACKER, "root", PAIR.first) == 0.0


def test_a_network_is_slowed_over_all_names() -> None:
    policy = SignInPolicy()
    for i in range(NETWORK.free + 1):
        fail(policy, ATTACKER, f"name-{i}", 0.0)
    assert policy.start(ATTACKER, "yet-another", 0.0) == pytest.approx(NETWORK.first)
    assert policy.start(OWNER, "yet-another", 0.0) == 0.0  # other networks are not


def test_an_account_guessed_at_from_many_networks_slows_each_of_them() -> None:
    """A network that failed at the name once waits ACCOUNT's time from its own last
    failure; a network that never failed at it is not held back at all."""
    policy = SignInPolicy()
    botnet = [f"192.0.2.{i}" for i in range(ACCOUNT.free + 5)]
    for network in botnet:
        fail(policy, network, "root", 0.0)
    failures = len(botnet)
    for network in botnet:
        assert policy.wait(network, "root", 0.0) == ACCOUNT.wait(failures)
    assert ACCOUNT.wait(failures) > PAIR.wait(1) == 0.0
    assert policy.wait(OWNER, "root", 0.0) == 0.0
    assert policy.wait(botnet[0], "someone-else", 0.0) == 0.0


def test_attempts_in_flight_count_as_failures() -> None:
    """A burst sent at once cannot slip past the wait while its hashes run."""
    policy = SignInPolicy()
    let_through = [policy.start(ATTACKER, "root", 0.0) == 0.0 for _ in range(50)]
    assert let_through == [True] * (PAIR.free + 1) + [False] * (50 - PAIR.free - 1)


def test_success_takes_the_attempt_back_and_forgives_the_network_at_that_name() -> None:
    policy = SignInPolicy()
    for _ in range(PAIR.free + 1):
        fail(policy, OWNER, "root", 0.0)
    fail(policy, ATTACKER, "root", 0.0)
    assert policy.start(OWNER, "root", PAIR.first) == 0.0
    policy.succeeded(OWNER, "root")
    assert policy.pairs.get((OWNER, "root"), PAIR.first) is None
    # The owner's earlier failures still count for their network and for the name;
    # the attacker's are not forgiven by the owner's success.
    assert policy.networks.get(OWNER, PAIR.first).count == PAIR.free + 1  # type: ignore[union-attr]
    assert policy.accounts.get("root", PAIR.first).count == PAIR.free + 2  # type: ignore[union-attr]
    assert policy.pairs.get((ATTACKER, "root"), PAIR.first).count == 1  # type: ignore[union-attr]


def test_a_cancelled_attempt_counts_for_nothing() -> None:
    policy = SignInPolicy()
    assert policy.start(OWNER, "root", 0.0) == 0.0
    policy.cancelled(OWNER, "root")
    assert (len(policy.networks), len(policy.pairs), len(policy.accounts)) == (0, 0, 0)


def test_unknown_names_are_tallied_like_known_ones() -> None:
    """The policy is never told whether a name exists: same input, same answers."""
    policy = SignInPolicy()
    waits: dict[str, list[float]] = {"root": [], "nobody": []}
    for step in range(200):
        for name, network in (("root", "192.0.2.1"), ("nobody", "192.0.2.2")):
            waits[name].append(policy.start(network, name, step * 2.0))
    assert waits["root"] == waits["nobody"]
    assert any(w > 0 for w in waits["root"])


def test_tables_are_bounded_and_drop_the_oldest_failure_first() -> None:
    policy = SignInPolicy(max_keys=3)
    for i in range(5):
        fail(policy, f"10.0.0.{i}", f"name-{i}", float(i))
    assert (len(policy.networks), len(policy.pairs), len(policy.accounts)) == (3, 3, 3)
    assert policy.networks.get("10.0.0.0", 5.0) is None
    assert policy.networks.get("10.0.0.4", 5.0) is not None
    # A fresh failure moves a record to the back of the line.
    fail(policy, "10.0.0.2", "name-2", 6.0)
    fail(policy, "10.0.0.9", "name-9", 7.0)
    assert policy.networks.get("10.0.0.2", 7.0) is not None
    assert policy.networks.get("10.0.0.3", 7.0) is None


def test_records_are_forgotten_an_hour_after_the_last_failure() -> None:
    policy = SignInPolicy()
    for i in range(PAIR.free + 5):  # each attempt after the longest wait
        fail(policy, ATTACKER, "root", i * PAIR.cap)
    last = (PAIR.free + 4) * PAIR.cap
    assert policy.pairs.get((ATTACKER, "root"), last + FORGET_SECONDS - 1) is not None
    assert policy.pairs.get((ATTACKER, "root"), last + FORGET_SECONDS) is None
    fail(policy, OWNER, "other", last + FORGET_SECONDS)  # a strike sweeps the stale ones
    assert (len(policy.networks), len(policy.pairs), len(policy.accounts)) == (1, 1, 1)


def test_forgetting_must_outlast_the_longest_wait() -> None:
    with pytest.raises(ValueError, match="outlast"):
        SignInPolicy(forget=NETWORK.cap - 1)
