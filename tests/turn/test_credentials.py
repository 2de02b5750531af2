"""TURN REST credentials minted by ``randomchat.turn`` against a real coturn: a fresh one
allocates a relay; an expired one, or one signed with another secret, is refused.
Rotation: coturn configured with the old and the new secret accepts both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from randomchat.client.ice import ProbeError, turn_allocation
from randomchat.turn import credential
from tests.turn.coturn import SECRET, Coturn, running_coturn

pytestmark = pytest.mark.process


def minted(secret: str, expiry: float, user: str = "u-1") -> tuple[str, str]:
    username = f"{int(expiry)}:{user}"
    return username, credential(secret, username)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_fresh_credential_allocates(coturn: Coturn, transport: str) -> None:
    url = coturn.udp_url if transport == "udp" else coturn.tcp_url
    host, port = await turn_allocation(url, *minted(coturn.secret, time.time() + 600))
    assert host == "127.0.0.1" and port > 0


async def test_expired_credential_is_refused(coturn: Coturn) -> None:
    with pytest.raises(ProbeError, match="401"):
        await turn_allocation(coturn.udp_url, *minted(coturn.secret, time.time() - 60))


async def test_credential_from_another_secret_is_refused(coturn: Coturn) -> None:
    with pytest.raises(ProbeError, match="401"):
        await turn_allocation(coturn.udp_url, *minted("another-secret-entirely", time.time() + 600))


async def test_rotation_both_secrets_accepted(tmp_path: Path) -> None:
    new = "the-new-secret-" + "n" * 20
    with running_coturn(tmp_path, secrets=(new, SECRET)) as turn:
        for secret in (new, SECRET):
            await turn_allocation(turn.udp_url, *minted(secret, time.time() + 600))
        with pytest.raises(ProbeError, match="401"):
            await turn_allocation(turn.udp_url, *minted("retired-" + "r" * 20, time.time() + 600))
