"""TURN REST credentials and the ICE configuration of a call: pure, time passed in."""

import pytest

from randomchat.core.ratelimit import Limit, RateLimiter
from randomchat.turn import Credentials, IceConfig, credential

pytestmark = pytest.mark.pure

TURN = ("turn:turn.example:3478?transport=udp", "turns:turn.example:5349?transport=tcp")


def test_credential_is_base64_hmac_sha1_of_the_username() -> None:
    # Computed independently: printf '%s' '1700003600:u-alice' |
    #   openssl dgst -sha1 -hmac 'north-secret' -binary | base64
    assert credential("north-secret", "1700003600:u-alice") == "B7sw9ZQ+BGjCG/863cbZd/IFx+E="


def test_servers_mint_per_user_with_expiry_capped_at_the_token() -> None:
    ice = IceConfig(("stun:stun.example:3478",), TURN, ("first-secret-0123", "old-secret-01234"))
    stun, turn = ice.servers("u-alice", now=1_700_000_000.5, not_after=None)
    assert stun == {"urls": "stun:stun.example:3478"}
    assert turn["urls"] == list(TURN)
    assert turn["username"] == "1700003600:u-alice"  # now + ttl 3600
    assert turn["credential"] == credential("first-secret-0123", "1700003600:u-alice")
    # A token expiring sooner caps the credential: it never outlives the user's token.
    _, capped = ice.servers("u-alice", now=1_700_000_000, not_after=1_700_000_600)
    assert capped["username"] == "1700000600:u-alice"
    _, bob = ice.servers("u-bob", now=1_700_000_000, not_after=None)
    assert bob["username"].endswith(":u-bob") and bob["credential"] != turn["credential"]


def test_no_turn_without_both_urls_and_secret() -> None:
    assert IceConfig(("stun:s:1",)).servers("u", 0, None) == [{"urls": "stun:s:1"}]
    assert IceConfig().servers("u", 0, None) == []


def test_policy_relay_by_deployment_or_by_a_user_who_may_ask() -> None:
    with_turn = IceConfig(turn_urls=TURN, turn_secrets=("first-secret-0123",))
    assert with_turn.policy_for(False) == "all"
    assert with_turn.policy_for(True) == "relay"
    assert IceConfig(turn_urls=TURN, turn_secrets=("s" * 16,), policy="relay").policy_for(
        False
    ) == ("relay")
    forbidden = IceConfig(turn_urls=TURN, turn_secrets=("s" * 16,), privacy_allowed=False)
    assert forbidden.policy_for(True) == "all"
    assert IceConfig().policy_for(True) == "all"  # no relay to go through: asking changes nothing


# -- issue 22 (b): minting is limited per user ------------------------------------------------


def test_a_users_credential_is_reused_while_half_its_lifetime_is_left() -> None:
    ice = IceConfig(turn_urls=TURN, turn_secrets=("first-secret-0123",), ttl=3600)
    (first,) = ice.servers("u-alice", now=1_000_000, not_after=None)
    assert first["username"] == "1003600:u-alice"
    for later in (1_000_001, 1_001_000, 1_001_800):  # Next after Next: the same credential
        (again,) = ice.servers("u-alice", now=later, not_after=None)
        assert again == first
    (bob,) = ice.servers("u-bob", now=1_001_000, not_after=None)
    assert bob["username"] == "1004600:u-bob"  # per user
    (renewed,) = ice.servers("u-alice", now=1_001_801, not_after=None)  # under half left
    assert renewed["username"] == "1005401:u-alice"


def test_a_kept_credential_never_outlives_the_token_it_is_given_to() -> None:
    ice = IceConfig(turn_urls=TURN, turn_secrets=("first-secret-0123",), ttl=3600)
    ice.servers("u-alice", now=1_000_000, not_after=None)  # kept: ends at 1_003_600
    (capped,) = ice.servers("u-alice", now=1_000_100, not_after=1_000_700)  # a shorter token
    assert capped["username"] == "1000700:u-alice"
    (same,) = ice.servers("u-alice", now=1_000_200, not_after=1_000_700)
    assert same == capped  # the capped one is good for that token while it lasts
    (long,) = ice.servers("u-alice", now=1_000_300, not_after=None)
    assert long["username"] == "1003900:u-alice"  # too short-lived for a longer token


def test_the_credential_cache_is_bounded_forgetting_the_oldest_mint() -> None:
    cache = Credentials(max_users=2)
    for n, user in enumerate(("u1", "u2", "u3")):
        cache.get("secret-0123456789", user, expiry=1000 + n, keep=500)
    assert len(cache) == 2
    assert cache.get("secret-0123456789", "u3", expiry=2000, keep=500)[0] == "1002:u3"  # kept
    assert cache.get("secret-0123456789", "u1", expiry=2000, keep=500)[0] == "2000:u1"  # gone


def test_request_rate_per_user_is_bounded_and_never_shared() -> None:
    rate = RateLimiter(Limit(rate=1.0, burst=2), max_keys=2)
    assert rate.take("a", 0.0) == 0.0 and rate.take("a", 0.0) == 0.0
    assert rate.take("a", 0.0) == pytest.approx(1.0)  # the third at once: wait a second
    assert rate.take("b", 0.0) == 0.0  # another user has its own bucket
    assert rate.take("a", 1.0) == 0.0
    rate.take("c", 1.0)
    rate.take("d", 1.0)  # past two users the one used longest ago is forgotten
    assert len(rate) == 2
    assert RateLimiter(Limit(rate=0.0), max_keys=2).take("a", 0.0) == 0.0  # 0: off
