"""The numbers the lobby enforces, taken from the settings once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from randomchat import guests
from randomchat.auth import DEFAULT_USERNAME
from randomchat.config import Settings
from randomchat.core.names import NameFilter
from randomchat.core.ratelimit import Limit
from randomchat.turn import IceConfig


def _resume_key(settings: Settings) -> bytes:
    """The call-resume tickets' key: from the server's secret, so tickets outlive a restart."""
    if settings.jwt_secret is None:  # no secret configured: tickets last one process
        return secrets.token_bytes(32)
    return hmac.new(
        settings.jwt_secret.encode(), b"randomchat call resume v1", hashlib.sha256
    ).digest()


@dataclass(frozen=True)
class Rules:
    find_limit: Limit = Limit.one_per(1000)
    chat_limit: Limit = Limit(rate=5, burst=10)
    heartbeat_interval: float = 5.0
    ice: IceConfig = IceConfig()
    interest_wait: float = 5.0
    language_wait: float = 5.0
    repeat_window: float = 600.0
    report_threshold: int = 3
    report_window: float = 24 * 3600.0
    cooldown_seconds: float = 600.0  # what reports alone may do: a short cool-down
    report_limit: Limit = Limit(rate=10 / 3600, burst=3)
    stored_reports_limit: Limit = Limit(rate=50 / 86400, burst=50)  # per guest network a day
    evidence_seconds: float = 7 * 86400.0  # a report's picture is kept at most this
    max_sockets_per_user: int = 4
    max_sockets_per_address: int = 64
    resume_key: bytes = b""  # of the call-resume tickets (lobby.resume)
    resume_window: float = 30.0  # seconds for both sides of a call to resume it
    report_min_addresses: int = 1  # distinct reporter networks; the settings' default is 4
    report_full_weight: float = 0.0  # seconds of session age for a full-weight report; 0: off
    address_key: bytes = b""  # of the keyed hashes of addresses (guests.address_key)
    nicknames: bool = True
    name_filter: NameFilter | None = None

    def shown_name(self, username: str) -> str:
        """The name strangers see: "Stranger" with nicknames off or for a refused name."""
        if not self.nicknames:
            return DEFAULT_USERNAME
        if self.name_filter is not None and not self.name_filter.allows(username):
            return DEFAULT_USERNAME
        return username

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            find_limit=Limit.one_per(settings.find_rate_limit_ms),
            chat_limit=Limit(rate=settings.chat_rate, burst=settings.chat_burst),
            heartbeat_interval=settings.heartbeat_interval,
            ice=settings.ice,
            interest_wait=settings.interest_wait_seconds,
            language_wait=settings.language_wait_seconds,
            repeat_window=settings.repeat_window_minutes * 60,
            report_threshold=settings.report_threshold,
            report_window=settings.report_window_hours * 3600,
            cooldown_seconds=settings.cooldown_minutes * 60,
            report_limit=Limit(rate=settings.reports_per_hour / 3600, burst=3),
            stored_reports_limit=Limit(
                rate=settings.reports_per_network_per_day / 86400,
                burst=settings.reports_per_network_per_day,
            ),
            evidence_seconds=settings.evidence_days * 86400,
            max_sockets_per_user=settings.max_sockets_per_user,
            max_sockets_per_address=settings.max_sockets_per_address,
            resume_key=_resume_key(settings),
            resume_window=settings.recovery_window,
            report_min_addresses=settings.report_min_addresses,
            report_full_weight=settings.report_full_weight_minutes * 60,
            address_key=guests.address_key(settings),
            nicknames=settings.nicknames == "on",
            name_filter=guests.load_name_filter(settings),
        )
