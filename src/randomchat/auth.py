"""JWT verification and issuing. PyJWT errors are translated into ``AuthError``.

Only HS256 is accepted: the algorithm is pinned, so ``alg: none`` and
algorithm-confusion tokens are refused by PyJWT before any claim is read.
``sub`` and ``exp`` are required; a token that never expires is refused.

Guest tokens (``POST /api/session``) carry ``guest: true`` and ``rules``, the
version of the rules their holder accepted. A token without ``guest`` comes
from the operator's own login system, which vouches for its user: such a user
accepted the operator's rules there, and is never banned by network address.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from randomchat.errors import AuthError
from randomchat.protocol.text import clean_text

ALGORITHM = "HS256"
DEFAULT_USERNAME = "Stranger"
MAX_USERNAME = 32


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    username: str
    role: str | None = None
    expires_at: float | None = None  # the token's exp (Unix seconds): TURN credentials end there
    guest: bool = False  # minted by POST /api/session (claim ``guest``)
    rules: str | None = None  # the rules version a guest accepted (claim ``rules``)
    # When the guest's identity began (Unix seconds): their device key's creation (claim
    # ``since``), else the token's ``iat``. A report weighs by this age (core.moderation).
    issued_at: float | None = None


def token_from_handshake(auth: Any, authorization: str | None) -> str:
    """Take the token from ``auth.token`` or an ``Authorization: Bearer`` header."""
    if isinstance(auth, dict):
        token = auth.get("token")
        if isinstance(token, str) and token:
            return token
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    raise AuthError("missing", "no token in auth.token or an Authorization: Bearer header")


def _clean_username(value: Any) -> str:
    if not isinstance(value, str):
        return DEFAULT_USERNAME
    name = value.strip()
    if not name or len(name) > MAX_USERNAME or clean_text(name) != name:
        return DEFAULT_USERNAME
    return name


def verify(token: str, secret: str) -> Identity:
    """Return the identity in ``token`` or raise ``AuthError`` with a loggable reason."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("expired", "token expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("bad_signature", "token signature is invalid") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise AuthError("bad_algorithm", "token algorithm is not HS256") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("missing_claim", f"token lacks the '{exc.claim}' claim") from exc
    except jwt.DecodeError as exc:
        raise AuthError("malformed", "token is not a well-formed JWT") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError("invalid", f"token is invalid: {exc}") from exc
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise AuthError("invalid", "token 'sub' must be a non-empty string")
    role = claims.get("role")
    rules = claims.get("rules")
    iat = claims.get("since", claims.get("iat"))
    return Identity(
        sub,
        _clean_username(claims.get("username")),
        role if isinstance(role, str) else None,
        float(claims["exp"]),
        guest=claims.get("guest") is True,
        rules=rules if isinstance(rules, str) else None,
        issued_at=float(iat)
        if isinstance(iat, int | float) and not isinstance(iat, bool)
        else None,
    )


class Verifier:
    """``verify`` with a cache of verified tokens, kept until they expire.

    A page reconnects with the same token many times (Next, reloads, flaky
    networks); checking an HMAC and parsing claims each time is measurable
    server CPU per call set-up. Only tokens that passed ``verify`` are cached,
    keyed by the whole token string, and a cached token is refused as soon as
    its ``exp`` passes. The cache is bounded, oldest use evicted first.
    """

    def __init__(self, secret: str, max_size: int = 10_000) -> None:
        self._secret = secret
        self._max = max_size
        self._cache: OrderedDict[str, tuple[Identity, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def verify(self, token: str, now: float | None = None) -> Identity:
        now = time.time() if now is None else now
        hit = self._cache.get(token)
        if hit is not None:
            identity, expires = hit
            if now < expires:
                self._cache.move_to_end(token)
                return identity
            del self._cache[token]
            raise AuthError("expired", "token expired")
        identity = verify(token, self._secret)
        self._cache[token] = (identity, identity.expires_at or now)
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return identity


def issue(
    secret: str,
    username: str,
    ttl_seconds: float,
    *,
    user_id: str | None = None,
    role: str | None = None,
    now: float | None = None,
    guest: bool = False,
    rules: str | None = None,
    since: int | None = None,
) -> tuple[str, Identity, int]:
    """Sign a token; return it with its identity and expiry (Unix seconds).

    ``guest`` marks a guest session's token, ``rules`` the rules version it accepted,
    ``since`` when the guest's device key was issued (``randomchat.devices``).
    """
    issued = int(time.time() if now is None else now)
    expires = issued + int(ttl_seconds)
    identity = Identity(
        user_id or uuid.uuid4().hex,
        username,
        role,
        float(expires),
        guest=guest,
        rules=rules,
        issued_at=float(issued if since is None else since),
    )
    claims: dict[str, Any] = {
        "sub": identity.user_id,
        "username": username,
        "iat": issued,
        "exp": expires,
    }
    if role is not None:
        claims["role"] = role
    if guest:
        claims["guest"] = True
    if rules is not None:
        claims["rules"] = rules
    if since is not None:
        claims["since"] = since
    return jwt.encode(claims, secret, algorithm=ALGORITHM), identity, expires
