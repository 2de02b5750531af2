"""The ICE configuration a call gets: STUN servers, and TURN with short-lived credentials.

TURN credentials follow the "TURN REST API" scheme that coturn implements with
``use-auth-secret`` / ``static-auth-secret``: the username is
``<expiry unix seconds>:<user id>`` and the password is
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password from its
copy of the secret and refuses a username whose expiry has passed, so the
server never stores or sends the secret, and a leaked credential dies by
itself. Credentials live ``ttl`` seconds and never outlive the user's own
token. With several secrets (rotation) new credentials use the first; coturn
accepts any secret it has configured.

Minting is limited per user. A user's credential is reused, for match-found
after match-found and for ``GET /api/ice-servers``, while at least half of
``ttl`` is left on it (``Credentials``): a call that starts with it keeps its
relay for that long at least, and a user gets a new credential at most once
per ``ttl / 2`` however often it presses Next. Reuse also keeps coturn's
per-username quotas (``user-quota``) meaningful: they count allocations per
username, and a fresh username per match would start each count from zero.
``GET /api/ice-servers`` has a per-user rate on top (``ICE_REQUESTS``).

Pure: time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field

from randomchat.core.ratelimit import Limit, RateLimiter
from randomchat.protocol import IcePolicy, IceServer

MAX_CACHED_USERS = 100_000  # users whose credential is kept for reuse (per process)
MAX_RATED_USERS = 100_000  # users whose GET /api/ice-servers bucket is kept (per process)
ICE_REQUESTS = Limit(rate=10 / 60, burst=10)  # GET /api/ice-servers per user


def ice_request_rate() -> RateLimiter:
    """``GET /api/ice-servers``'s buckets, one per user, at most ``MAX_RATED_USERS``."""
    return RateLimiter(ICE_REQUESTS, max_keys=MAX_RATED_USERS)


def credential(secret: str, username: str) -> str:
    """The TURN password for ``username``: base64 of HMAC-SHA1 keyed with ``secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Credentials:
    """The last credential minted per user, reused while it has long enough to live.

    Bounded: at most ``max_users`` users. Past that the user whose credential
    was minted longest ago is forgotten first (with one ``ttl`` for all, it is
    the one that expires soonest); forgetting costs that user one new mint,
    nothing else, so a full cache refuses nobody.
    """

    __slots__ = ("_by_user", "max_users")

    def __init__(self, max_users: int = MAX_CACHED_USERS) -> None:
        self.max_users = max_users
        self._by_user: OrderedDict[str, tuple[int, str, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_user)

    def get(self, secret: str, user_id: str, expiry: int, keep: int) -> tuple[str, str]:
        """(username, password): the kept one if it expires within ``[min(keep, expiry),
        expiry]``, else a new one expiring at ``expiry`` (which is then kept)."""
        kept = self._by_user.get(user_id)
        if kept is not None and min(keep, expiry) <= kept[0] <= expiry:
            return kept[1], kept[2]
        username = f"{expiry}:{user_id}"
        password = credential(secret, username)
        self._by_user.pop(user_id, None)  # re-inserted last: the newest mint
        self._by_user[user_id] = (expiry, username, password)
        while len(self._by_user) > self.max_users:
            self._by_user.popitem(last=False)
        return username, password


@dataclass(frozen=True, slots=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secrets: tuple[str, ...] = ()
    ttl: int = 3600
    policy: IcePolicy = "all"
    privacy_allowed: bool = True  # a user may ask for a relay-only call
    # The credentials this configuration minted, for reuse: one cache per IceConfig
    # (the lobby's ``Rules`` hold one, and the HTTP routes are given the same).
    credentials: Credentials = field(
        default_factory=Credentials, compare=False, hash=False, repr=False
    )

    @property
    def has_turn(self) -> bool:
        return bool(self.turn_urls and self.turn_secrets)

    def stun(self) -> list[IceServer]:
        """The STUN servers alone (for a socket whose TURN credentials its own node adds)."""
        return [IceServer(urls=url) for url in self.stun_urls]

    def servers(self, user_id: str, now: float, not_after: float | None) -> list[IceServer]:
        """The ``iceServers`` for one user: STUN as is, TURN with a credential for it.

        ``not_after`` (Unix seconds, the user's token expiry) caps the credential's
        lifetime; ``now`` is Unix seconds. The user's previous credential is given
        again while half of ``ttl`` is left on it and it ends no later than the cap.
        """
        servers = self.stun()
        if self.has_turn:
            expiry = int(now + self.ttl)
            if not_after is not None:
                expiry = min(expiry, int(not_after))
            keep = int(now + self.ttl / 2)
            username, password = self.credentials.get(self.turn_secrets[0], user_id, expiry, keep)
            servers.append(
                IceServer(urls=list(self.turn_urls), username=username, credential=password)
            )
        return servers

    def policy_for(self, asked_privacy: bool) -> IcePolicy:
        """The call's ``iceTransportPolicy``: relay when the deployment or a user asks.

        A user's request counts only where relays exist and the deployment allows it.
        """
        if self.policy == "relay":
            return "relay"
        return "relay" if asked_privacy and self.privacy_allowed and self.has_turn else "all"
