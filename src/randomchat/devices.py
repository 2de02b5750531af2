"""Device keys: what keeps a guest the same person across "Change" and new sessions.

A guest session costs one click, so everything keyed to a session's ``sub`` (blocks,
reports, the repeat window, bans) was undone by pressing "Change". A device key is a
random id the server issues with a browser's first guest session and signs; the page
keeps it (``localStorage``) and sends it with every later ``POST /api/session``, and
the guest's ``sub`` is derived from it. So a new nickname from the same browser is the
same user to every protection, with no new state on the server.

It is not a fingerprint: nothing is read from the browser, and a person who clears
their storage or opens a private window gets a new key. What follows that person is
their network instead: a guest's block and report also hold against its network
(``core.matching.NETWORK``), and a moderator's ban may cover it.

A key is ``<id>.<created>.<mac>``: 128 random bits, the Unix second it was issued
(a report weighs by the age of the reporter's device, not of their session) and an
HMAC of both under a key derived from the JWT secret, so a client can neither pick
another browser's id nor backdate its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

MAX_KEY = 96  # what POST /api/session accepts as ``device`` (a key is 66 characters)
_SHAPE = re.compile(r"^([0-9a-f]{32})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")
GUEST_PREFIX = "d"  # a guest's sub is this and the device id


@dataclass(frozen=True, slots=True)
class Device:
    id: str  # 32 hex digits
    created: int  # Unix seconds

    @property
    def user_id(self) -> str:
        """The ``sub`` of every guest session from this device."""
        return GUEST_PREFIX + self.id


class DeviceKeys:
    """Issues and checks device keys with one secret key (``keys_for``)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, now: float) -> tuple[Device, str]:
        device = Device(secrets.token_hex(16), int(now))
        return device, self._sign(device)

    def check(self, key: str | None, now: float) -> Device | None:
        """The device a key names, or None for a missing, malformed, forged or future key."""
        if not key or len(key) > MAX_KEY:
            return None
        found = _SHAPE.fullmatch(key)
        if found is None:
            return None
        device = Device(found.group(1), int(found.group(2)))
        if device.created > now + 300:  # a little clock skew between nodes, no more
            return None
        if not hmac.compare_digest(self._sign(device), key):
            return None
        return device

    def _sign(self, device: Device) -> str:
        body = f"{device.id}.{device.created}"
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:16]
        return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def keys_for(secret: str) -> DeviceKeys:
    """Device keys signed with a key derived from the JWT secret (every node shares it)."""
    return DeviceKeys(
        hmac.new(secret.encode(), b"randomchat device key v1", hashlib.sha256).digest()
    )
