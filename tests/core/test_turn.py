"""TURN REST credentials and the ICE configuration of a call: pure, time passed in."""

import pytest

from randomchat.turn import IceConfig, credential

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
