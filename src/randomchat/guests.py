"""What a guest session needs beyond a name: the rules, the name filter, the address key,
and the proof of work.

* ``RulesDocument``: the rules text a guest accepts (``--rules-file``, default the
  package's ``data/rules.md``) and its version, the first 12 hex characters of
  the SHA-256 of the text: a changed text is a new version, which guests must
  accept again.
* ``load_name_filter``: ``--name-filter-file`` or the package's default list.
* ``address_key``: the key of the keyed hashes under which addresses are stored,
  derived from the JWT secret (a new secret makes new hashes: address bans made
  before it stop matching, user bans stay).
* ``ProofOfWork``: ALTCHA challenges (the ``altcha`` package's v1 scheme: find
  the number that, appended to the salt, hashes with SHA-256 to the challenge)
  signed with a key derived from the JWT secret, and their verification, each
  solved challenge usable once until it expires (``core.replay.ReplayCache`` in
  this process; with ``shared``, the cluster's cache in Redis, so a solution
  used on one node is refused on every other). A challenge's largest number
  grows with its address's pressure (``core.powcost``); the salt carries it
  (``m``, signed with the rest), and a solution is accepted only from a
  challenge at least as hard as its address's level asks now, so a script
  cannot bring cheap challenges fetched elsewhere or earlier.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qs

from altcha import v1 as altcha_v1

from randomchat.config import Settings
from randomchat.core import powcost
from randomchat.core.names import NameFilter
from randomchat.core.replay import ReplayCache, SharedReplay
from randomchat.errors import ConfigError

RULES_VERSION_HEX = 12
MAX_RULES_BYTES = 64 * 1024
MAX_FILTER_BYTES = 1024 * 1024
# A v1 payload is base64 of a small JSON object: a few hundred bytes.
MAX_POW_PAYLOAD = 2048
POW_ALGORITHM: Final[Literal["SHA-256"]] = "SHA-256"


def _package_text(name: str) -> str:
    return resources.files("randomchat").joinpath("data", name).read_text(encoding="utf-8")


def _read(path: Path, limit: int, what: str) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc}") from exc
    if len(data) > limit:
        raise ConfigError(f"the {what} {path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the {what} {path} is not UTF-8: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RulesDocument:
    text: str
    version: str
    minimum_age: int

    @classmethod
    def load(cls, settings: Settings) -> RulesDocument:
        if settings.rules_file is None:
            text = _package_text("rules.md")
        else:
            text = _read(settings.rules_file, MAX_RULES_BYTES, "rules file")
        if not text.strip():
            raise ConfigError("the rules text is empty")
        version = hashlib.sha256(text.encode()).hexdigest()[:RULES_VERSION_HEX]
        return cls(text, version, settings.minimum_age)


def load_name_filter(settings: Settings) -> NameFilter:
    if settings.name_filter_file is None:
        return NameFilter.parse(_package_text("nickname-words.txt"))
    return NameFilter.parse(_read(settings.name_filter_file, MAX_FILTER_BYTES, "name filter"))


def _derived(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def address_key(settings: Settings) -> bytes:
    """From the JWT secret; without one (settings not yet through ``datadir.with_secret``), a key
    of this process only: hashes made with it match nothing after a restart."""
    if settings.jwt_secret is None:
        return secrets.token_bytes(32)
    return _derived(settings.jwt_secret, "randomchat address hash v1")


@dataclass(frozen=True, slots=True)
class Solved:
    """A correct solution of one of our challenges; not yet used (``ProofOfWork.use``)."""

    challenge: str
    expires: float  # Unix seconds


class ProofOfWork:
    """ALTCHA v1 challenges and their one-time verification. Time is passed in."""

    def __init__(
        self,
        secret: str,
        max_number: int,
        ttl: float,
        max_used: int = 100_000,
        shared: SharedReplay | None = None,
    ) -> None:
        self._key = _derived(secret, "randomchat altcha v1").hex()
        self.max_number = max_number
        self.ttl = ttl
        self._used = ReplayCache(max_used)
        self.shared = shared  # a cluster's replay cache (Redis); None: this process's

    def __len__(self) -> int:
        return len(self._used)

    def challenge(self, now: float, level: int = 0) -> dict[str, Any]:
        """A fresh challenge, as the page's solver (``altcha-lib/v1``) and widget take it;
        ``level`` doubles its largest number that many times (``core.powcost``)."""
        expires = datetime.datetime.fromtimestamp(now + self.ttl, datetime.UTC)
        largest = powcost.max_number(self.max_number, level)
        made = altcha_v1.create_challenge(
            altcha_v1.ChallengeOptions(
                algorithm=POW_ALGORITHM,
                max_number=largest,
                hmac_key=self._key,
                expires=expires,
                params={"m": str(largest)},
            )
        )
        return {
            "algorithm": made.algorithm,
            "challenge": made.challenge,
            "maxnumber": made.max_number,  # the widget's spelling
            "maxNumber": made.max_number,
            "salt": made.salt,
            "signature": made.signature,
        }

    def solved(self, payload: str, now: float, level: int = 0) -> Solved | None:
        """``payload`` (base64 JSON) if it solves an unexpired challenge of ours made at
        ``level`` or above; whether it was used before is ``use``'s to tell."""
        if not isinstance(payload, str) or not 0 < len(payload) <= MAX_POW_PAYLOAD:
            return None
        try:
            data = json.loads(base64.b64decode(payload, validate=True))
        except (ValueError, binascii.Error, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("algorithm") != POW_ALGORITHM:
            return None
        number, salt = data.get("number"), data.get("salt")
        challenge, signature = data.get("challenge"), data.get("signature")
        if isinstance(number, bool) or not isinstance(number, int):
            return None
        if not (isinstance(salt, str) and isinstance(challenge, str)):
            return None
        if not isinstance(signature, str):
            return None
        # A salt without ``m`` comes from a node of an older version: the base number.
        largest = _salt_number(salt, "m") or self.max_number
        if largest < powcost.max_number(self.max_number, level):
            return None  # cheaper than this address must pay now: fetch a new one
        if not 0 <= number <= largest:
            return None
        expires = _salt_number(salt, "expires")
        # Expired, or further ahead than we ever sign (a forged salt fails the HMAC anyway).
        if expires is None or expires <= now or expires > now + self.ttl + 60:
            return None
        solution = altcha_v1.Payload(POW_ALGORITHM, challenge, number, salt, signature)
        ok, _ = altcha_v1.verify_solution(solution, self._key, check_expires=False)
        return Solved(challenge, float(expires)) if ok else None

    async def use(self, solved: Solved, now: float) -> bool:
        """Spend ``solved``: True the first time, in this process or the whole cluster."""
        if self.shared is not None:
            return await self.shared.claim(solved.challenge, solved.expires, now)
        return self._used.claim(solved.challenge, solved.expires, now)

    def verify(self, payload: str, now: float, level: int = 0) -> bool:
        """``solved`` and spent in this process's cache at once (no shared cache)."""
        solved = self.solved(payload, now, level)
        return solved is not None and self._used.claim(solved.challenge, solved.expires, now)


def _salt_number(salt: str, name: str) -> int | None:
    """A whole-number parameter of a salt (``<hex>?expires=<unix seconds>&m=<n>&``)."""
    _, _, query = salt.partition("?")
    values = parse_qs(query).get(name)
    if not values or len(values) != 1 or len(values[0]) > 12:
        return None
    value = values[0]
    return int(value) if value.isascii() and value.isdigit() else None
