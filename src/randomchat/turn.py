"""The ICE configuration a call gets: STUN servers, and TURN with short-lived credentials.

TURN credentials follow the "TURN REST API" scheme that coturn implements with
``use-auth-secret`` / ``static-auth-secret``: the username is
``<expiry unix seconds>:<user id>`` and the password is
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password from its
copy of the secret and refuses a username whose expiry has passed, so the
server never stores or sends the secret, and a leaked credential dies by
itself. Credentials are minted per user per match, live ``ttl`` seconds, and
never outlive the user's own token. With several secrets (rotation) new
credentials use the first; coturn accepts any secret it has configured.

Pure: time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from randomchat.protocol import IcePolicy, IceServer


def credential(secret: str, username: str) -> str:
    """The TURN password for ``username``: base64 of HMAC-SHA1 keyed with ``secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secrets: tuple[str, ...] = ()
    ttl: int = 3600
    policy: IcePolicy = "all"
    privacy_allowed: bool = True  # a user may ask for a relay-only call

    @property
    def has_turn(self) -> bool:
        return bool(self.turn_urls and self.turn_secrets)

    def servers(self, user_id: str, now: float, not_after: float | None) -> list[IceServer]:
        """The ``iceServers`` for one user: STUN as is, TURN with fresh credentials.

        ``not_after`` (Unix seconds, the user's token expiry) caps the credential's
        lifetime; ``now`` is Unix seconds.
        """
        servers = [IceServer(urls=url) for url in self.stun_urls]
        if self.has_turn:
            expiry = int(now + self.ttl)
            if not_after is not None:
                expiry = min(expiry, int(not_after))
            username = f"{expiry}:{user_id}"
            secret = self.turn_secrets[0]
            servers.append(
                IceServer(
                    urls=list(self.turn_urls),
                    username=username,
                    credential=credential(secret, username),
                )
            )
        return servers

    def policy_for(self, asked_privacy: bool) -> IcePolicy:
        """The call's ``iceTransportPolicy``: relay when the deployment or a user asks.

        A user's request counts only where relays exist and the deployment allows it.
        """
        if self.policy == "relay":
            return "relay"
        return "relay" if asked_privacy and self.privacy_allowed and self.has_turn else "all"
