"""Console sign-in: argon2 password hashes, a short-lived signed session cookie, sign-out.

Theory of operation
-------------------
An operator signs in with an account's name and password (accounts are made
with ``randomchat admin add``). The answer sets one cookie holding a JWT:

- signed with a key derived from the server's secret for this use only, and
  carrying ``aud: randomchat-console``, so a session is never accepted as a
  chat or bearer token (PyJWT refuses a token with an audience it was not
  asked to check) and no chat token is accepted as a session;
- valid ``SESSION_SECONDS`` and renewed on use once half of that has passed;
  a renewed cookie keeps the session's id (``sid``);
- ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's
  page sends it), ``Secure`` when the request came over https, path ``/``.

CSRF: besides SameSite, every request authenticated by the cookie must carry
``X-Requested-With: randomchat-console``. A cross-site form cannot set that
header, and a cross-site ``fetch`` that sets it needs a CORS preflight this
server never grants for ``/api/console``.

The session holds the account name and a fingerprint of its password hash;
each request reads the account: a removed account or a changed password ends
its sessions at once, and the role always comes from the database. Signing out
ends the session on the server: its id goes into ``SignedOut``, which refuses
every cookie of that session (copies, and older cookies it was renewed from)
until the last of them has expired.

Sign-in attempts are slowed by ``randomchat.core.signin`` before the password is
checked. An unknown name costs what a known one does: one argon2 verify, against
a decoy hash made with the same parameters. argon2 costs ~50 ms and 64 MiB, so at
most ``MAX_CONCURRENT_HASHES`` run at once, in worker threads.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from randomchat.db import Database
from randomchat.db import accounts as account_store
from randomchat.db.accounts import Account

COOKIE = "rc_console"
AUDIENCE = "randomchat-console"
ALGORITHM = "HS256"
SESSION_SECONDS = 30 * 60
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "randomchat-console"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps a request cheap to refuse
MAX_CONCURRENT_HASHES = 2
# Signed-out sessions remembered at once; past that a sign-out ends every session of
# its account (one record per account), so a sign-out is never forgotten early.
MAX_SIGNED_OUT = 10_000

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


@functools.cache
def _decoy() -> str:
    """A hash of a random password, made on first use with ``_hasher``'s parameters.

    Not at import: that would cost every process (each CLI command, each server
    start) ~0.2 s and 64 MiB.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_sync(stored: str | None, password: str) -> bool:
    # Known or not, one argon2 verify with the same parameters: the answer takes as
    # long for a name that does not exist as for a wrong password, and tells nothing.
    # The decoy is fetched on both paths, so that whichever sign-in comes first
    # pays for making it.
    decoy = _decoy()
    try:
        matched = _hasher.verify(stored if stored is not None else decoy, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and stored is not None


async def verify_password(stored: str | None, password: str, gate: asyncio.Semaphore) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account, same work).

    ``gate`` bounds how many hashes run at once.
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
    sid: str  # the same for every cookie of one sign-in, renewed or not
    fingerprint: str
    issued_at: int
    expires_at: float


def issue(secret: str, account: Account, now: float, sid: str | None = None) -> tuple[str, float]:
    """A session cookie's token and its expiry: a new session, or ``sid`` renewed."""
    expires = int(now) + SESSION_SECONDS
    claims = {
        "sub": account.name,
        "aud": AUDIENCE,
        "sid": sid or secrets.token_urlsafe(16),
        "pwv": fingerprint(account),
        "iat": int(now),
        "exp": expires,
    }
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM), float(expires)


def decode(secret: str, token: str) -> Session | None:
    """The session a token carries, if it is signed by us and unexpired; no database."""
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "sid", "iat", "exp", "aud"]},
        )
    except jwt.InvalidTokenError:
        return None
    name, sid, pwv = claims.get("sub"), claims.get("sid"), claims.get("pwv")
    if not isinstance(name, str) or not isinstance(sid, str) or not isinstance(pwv, str):
        return None
    return Session(name, sid, pwv, int(claims["iat"]), float(claims["exp"]))


async def account_of(db: Database, session: Session) -> Account | None:
    """The session's account, unless it was removed or its password changed since."""
    account = await account_store.get(db, session.name)
    if account is None or not hmac.compare_digest(session.fingerprint, fingerprint(account)):
        return None
    return account


class SignedOut:
    """Sessions ended by sign-out, each remembered until every cookie of it has expired.

    Wall-clock time passed in, as in the cookies. Any cookie of a session was issued
    before its sign-out, so it expires at most ``SESSION_SECONDS`` after it; after
    the sign-out no cookie of it is renewed (renewal needs a session not ended).
    Bounded: past ``max_sessions`` records a sign-out ends all sessions its account
    was issued until then (a cut-off per account, and accounts are few), rather
    than forgetting an earlier sign-out.
    """

    def __init__(self, max_sessions: int = MAX_SIGNED_OUT) -> None:
        self._max = max_sessions
        self._sessions: dict[str, float] = {}  # sid -> forget at; in order of sign-out
        self._cutoffs: dict[str, float] = {}  # account -> sign-out time (the overflow)

    def __len__(self) -> int:
        return len(self._sessions) + len(self._cutoffs)

    def end(self, session: Session, now: float) -> None:
        self._forget(now)
        if len(self._sessions) < self._max:
            self._sessions[session.sid] = now + SESSION_SECONDS
        else:
            self._cutoffs[session.name] = now

    def ended(self, session: Session) -> bool:
        if session.sid in self._sessions:
            return True
        cutoff = self._cutoffs.get(session.name)
        # iat has whole seconds: a session issued in the second of the cut-off ends too.
        return cutoff is not None and session.issued_at <= cutoff

    def _forget(self, now: float) -> None:
        while self._sessions:
            sid = next(iter(self._sessions))
            if self._sessions[sid] > now:
                break
            del self._sessions[sid]
        for name in [n for n, at in self._cutoffs.items() if at + SESSION_SECONDS <= now]:
            del self._cutoffs[name]
