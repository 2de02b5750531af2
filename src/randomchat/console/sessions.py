"""Console sign-in: argon2 password hashes, a short-lived signed session cookie, limits.

Theory of operation
-------------------
An operator signs in with an account's name and password (accounts are made
with ``randomchat admin add``). The answer sets one cookie holding a JWT:

- signed with a key derived from the server's secret for this use only, and
  carrying ``aud: randomchat-console``, so a session is never accepted as a
  chat or bearer token (PyJWT refuses a token with an audience it was not
  asked to check) and no chat token is accepted as a session;
- valid ``SESSION_SECONDS`` and renewed on use once half of that has passed;
- ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's
  page sends it), ``Secure`` when the request came over https, path ``/``.

CSRF: besides SameSite, every request authenticated by the cookie must carry
``X-Requested-With: randomchat-console``. A cross-site form cannot set that
header, and a cross-site ``fetch`` that sets it needs a CORS preflight this
server never grants for ``/api/console``.

The session holds the account name and a fingerprint of its password hash;
each request reads the account: a removed account or a changed password ends
its sessions at once, and the role always comes from the database.

Sign-in is rate-limited per client network and per account name, before the
password is checked; argon2 costs ~50 ms and 64 MiB, so at most
``MAX_CONCURRENT_HASHES`` run at once, in worker threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from randomchat.core.ratelimit import Limit
from randomchat.db import Database
from randomchat.db import accounts as account_store
from randomchat.db.accounts import Account
from randomchat.http import AddressLimiter

COOKIE = "rc_console"
AUDIENCE = "randomchat-console"
ALGORITHM = "HS256"
SESSION_SECONDS = 30 * 60
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "randomchat-console"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps a request cheap to refuse
MAX_CONCURRENT_HASHES = 2
# Sign-in attempts: 5 a minute after a burst of 10 per client network; 5 a minute
# after a burst of 5 per account name, so one account cannot be guessed at from many
# addresses faster than that.
PER_ADDRESS = Limit(rate=5 / 60, burst=10)
PER_ACCOUNT = Limit(rate=5 / 60, burst=5)
MAX_LIMITED_ACCOUNTS = 10_000

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} characters"
    return None


def _verify_sync(stored: str | None, password: str) -> bool:
    if stored is None:
        # No such account: hash anyway (one argon2 run, as a verify is), so that the
        # answer takes as long as for a wrong password and does not tell which names
        # exist. No hash is made in advance: at import it would cost every process
        # (each CLI command, each server start) ~0.2 s and 64 MiB.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str, gate: asyncio.Semaphore) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account, still hashed).

    ``gate`` bounds how many hashes run at once (``SignInLimits.hashing``).
    """
    async with gate:
        return await asyncio.to_thread(_verify_sync, stored, password)


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"randomchat console session", hashlib.sha256).digest()


def fingerprint(account: Account) -> str:
    """Changes when the password does: a session made before a change no longer matches."""
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Session:
    name: str
    expires_at: float


def issue(secret: str, account: Account, now: float) -> tuple[str, float]:
    expires = int(now) + SESSION_SECONDS
    claims = {
        "sub": account.name,
        "aud": AUDIENCE,
        "pwv": fingerprint(account),
        "iat": int(now),
        "exp": expires,
    }
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM), float(expires)


async def verify(secret: str, db: Database, token: str) -> tuple[Account, Session] | None:
    """The account behind a session token, or None for anything not current and valid."""
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.InvalidTokenError:
        return None
    name, pwv = claims.get("sub"), claims.get("pwv")
    if not isinstance(name, str) or not isinstance(pwv, str):
        return None
    account = await account_store.get(db, name)
    if account is None or not hmac.compare_digest(pwv, fingerprint(account)):
        return None
    return account, Session(name, float(claims["exp"]))


class SignInLimits:
    """Attempts per client network and per account name, each bounded in memory."""

    def __init__(self) -> None:
        self._addresses = AddressLimiter(PER_ADDRESS)
        # AddressLimiter keys anything that is not an address by itself: here a name.
        self._accounts = AddressLimiter(PER_ACCOUNT, max_keys=MAX_LIMITED_ACCOUNTS)
        # Past the limits, attempts queue here for a hashing slot (bounded by the limits).
        self.hashing = asyncio.Semaphore(MAX_CONCURRENT_HASHES)

    def take(self, address: str, name: str, now: float | None = None) -> float:
        """0.0 if this attempt may go on, else seconds to wait."""
        now = time.monotonic() if now is None else now
        wait = self._addresses.take(address, now)
        if wait > 0:
            return wait
        return self._accounts.take(f"account:{name}", now)
