"""The settings: one frozen object, built once from flags and environment.

Every setting is a ``randomchat serve --flag`` and an environment variable
``RANDOMCHAT_FLAG`` (the flag upper-cased, dashes as underscores); a flag wins
over the environment, which wins over the default. The JWT secret is also read
from the seed's ``JWT_ACCESS_SECRET``. List settings take a comma-separated
environment variable or a repeated flag.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from randomchat.errors import ConfigError
from randomchat.static import default_web_dir
from randomchat.turn import IceConfig

MIN_SECRET_LENGTH = 32
DEFAULT_STUN = "stun:stun.l.google.com:19302"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)
    jwt_secret: str | None = Field(None, repr=False)
    data_dir: Path = Path("data")
    web_dir: Path = Field(default_factory=lambda: default_web_dir())
    find_rate_limit_ms: int = Field(1000, ge=0, le=600_000)
    cors_origins: tuple[str, ...] = ()
    ping_interval: float = Field(25.0, gt=0, le=3600)
    ping_timeout: float = Field(60.0, gt=0, le=3600)
    max_message_bytes: int = Field(1_000_000, ge=1024, le=100_000_000)
    guest_sessions: bool = True
    token_ttl_hours: float = Field(24.0, gt=0, le=24 * 365)
    # The seed's public STUN server, so that a plain `make run` on a public host gathers
    # server-reflexive candidates; `--stun-url none` turns STUN off.
    stun_urls: tuple[str, ...] = (DEFAULT_STUN,)
    turn_urls: tuple[str, ...] = ()
    turn_secrets: tuple[str, ...] = Field((), repr=False)
    turn_ttl: int = Field(3600, ge=60, le=7 * 24 * 3600)
    ice_policy: Literal["all", "relay"] = "all"
    allow_privacy_mode: bool = True
    heartbeat_interval: float = Field(5.0, gt=0, le=3600)
    log_level: str = "info"
    database_url: str | None = Field(None, repr=False)
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    forwarded_header: str = "x-forwarded"
    metrics_token: str | None = Field(None, repr=False, min_length=16, max_length=4096)
    request_timeout: float = Field(10.0, gt=0, le=600)
    sessions_per_minute: float = Field(10.0, ge=0, le=100_000)
    session_burst: int = Field(20, ge=1, le=100_000)
    interest_wait_seconds: float = Field(5.0, ge=0, le=3600)
    language_wait_seconds: float = Field(5.0, ge=0, le=3600)
    repeat_window_minutes: float = Field(10.0, ge=0, le=24 * 60)
    chat_rate: float = Field(5.0, ge=0, le=1000)
    chat_burst: int = Field(10, ge=1, le=1000)
    report_threshold: int = Field(3, ge=1, le=1000)
    report_window_hours: float = Field(24.0, gt=0, le=24 * 365)
    cooldown_minutes: float = Field(10.0, gt=0, le=24 * 60)
    reports_per_hour: float = Field(10.0, gt=0, le=3600)
    reports_per_network_per_day: int = Field(50, ge=1, le=1_000_000)
    evidence_days: float = Field(7.0, gt=0, le=365)  # a report's picture is kept at most this
    max_sockets_per_user: int = Field(4, ge=1, le=1000)
    max_sockets_per_address: int = Field(64, ge=1, le=100_000)
    send_buffer_bytes: int | None = Field(None, ge=64 * 1024, le=1_000_000_000)
    events_per_second: float = Field(30.0, ge=0, le=100_000)
    event_burst: int = Field(60, ge=1, le=1_000_000)
    # Seconds a dropped connection (or a call after a restart) may take to come back;
    # docs/protocol.md says why 30. 0 turns connection-state recovery off.
    recovery_window: float = Field(30.0, ge=0, le=600)
    # Safety (issue 15): the rules gate, nicknames, proof of work, report weighting.
    rules_file: Path | None = None
    minimum_age: int = Field(18, ge=13, le=99)
    nicknames: Literal["on", "off"] = "on"
    name_filter_file: Path | None = None
    pow: Literal["never", "auto", "always"] = "auto"
    pow_max_number: int = Field(200_000, ge=10, le=100_000_000)
    pow_ttl_seconds: int = Field(300, ge=10, le=24 * 3600)
    report_min_addresses: int = Field(4, ge=1, le=1000)
    report_full_weight_minutes: float = Field(10.0, ge=0, le=7 * 24 * 60)
    # Scale-out (randomchat.cluster): unset, one process keeps everything in memory.
    redis_url: str | None = Field(None, repr=False)
    node_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    node_timeout: float = Field(10.0, ge=1, le=600)
    redis_prefix: str = Field("rc:", pattern=r"^[A-Za-z0-9_:-]{1,32}$")
    redis_cluster: bool = False
    drain_seconds: float = Field(10.0, ge=0, le=600)
    workers: int = Field(1, ge=1, le=64)

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_SECRET_LENGTH} characters for HS256 "
                "(leave it unset and serve generates one)"
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_explicit(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*":
                raise ValueError("'*' is not allowed: list the page origins explicitly")
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://chat.example.com")
        return value

    @field_validator("stun_urls")
    @classmethod
    def _stun_scheme(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        urls = tuple(url for url in value if url.lower() != "none")
        for url in urls:
            if not url.startswith(("stun:", "stuns:")):
                raise ValueError(f"{url!r} must start with stun: or stuns: (or be 'none')")
        return urls

    @field_validator("turn_urls")
    @classmethod
    def _turn_scheme(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"{url!r} must start with turn: or turns:")
        return value

    @field_validator("turn_secrets")
    @classmethod
    def _turn_secret_length(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(secret) < 16 for secret in value):
            raise ValueError("each TURN secret must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _relay_needs_turn(self) -> Settings:
        if self.ice_policy == "relay" and not (self.turn_urls and self.turn_secrets):
            raise ValueError("--ice-policy relay needs --turn-url and --turn-secret")
        if bool(self.turn_urls) != bool(self.turn_secrets):
            raise ValueError("--turn-url and --turn-secret go together")
        if self.workers > 1 and not self.redis_url:
            raise ValueError("--workers needs --redis-url: the workers share their state there")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or CIDR like 10.0.0.0/8") from None
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_plain(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not item or not item.isprintable() or "/" in item or " " in item:
                raise ValueError(f"{item!r} is not a host name like chat.example.com")
        return value

    @field_validator("forwarded_header")
    @classmethod
    def _known_family(cls, value: str) -> str:
        if value not in ("x-forwarded", "forwarded"):
            raise ValueError("must be x-forwarded or forwarded")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError("must be one of debug, info, warning, error")
        return value.lower()

    @property
    def secret(self) -> str:
        """The JWT secret; only valid after ``with_secret``."""
        if self.jwt_secret is None:
            raise ConfigError("no JWT secret configured")
        return self.jwt_secret

    @property
    def database(self) -> str:
        """The async SQLAlchemy URL: SQLite in ``data_dir`` unless ``database_url`` is set."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'randomchat.db'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file ``database`` names, made absolute; None for a server database."""
        url = self.database
        prefix = "sqlite+aiosqlite:///"
        if not url.startswith(prefix) or url == prefix + ":memory:":
            return None
        return Path(url.removeprefix(prefix).split("?", 1)[0]).absolute()

    @property
    def ice(self) -> IceConfig:
        return IceConfig(
            self.stun_urls,
            self.turn_urls,
            self.turn_secrets,
            self.turn_ttl,
            self.ice_policy,
            self.allow_privacy_mode,
        )


@dataclass(frozen=True)
class _Option:
    field: str
    help: str
    kind: str = "value"  # value | list | bool


_OPTIONS = (
    _Option("host", "interface to listen on"),
    _Option("port", "TCP port"),
    _Option("jwt_secret", "HS256 secret (also JWT_ACCESS_SECRET); generated if unset"),
    _Option("data_dir", "directory for the generated secret and other state"),
    _Option("web_dir", "built web client to serve at / [the one this install carries]"),
    _Option("find_rate_limit_ms", "minimum ms between searches of one user (0: off)"),
    _Option("cors_origins", "an allowed cross-site page origin (repeatable)", "list"),
    _Option("ping_interval", "seconds between Engine.IO pings"),
    _Option("ping_timeout", "seconds without a pong before a connection is dropped"),
    _Option("max_message_bytes", "largest accepted message; larger ones close the socket"),
    _Option("guest_sessions", "issue guest tokens at POST /api/session", "bool"),
    _Option("token_ttl_hours", "lifetime of guest tokens"),
    _Option(
        "stun_urls", f"a STUN server for clients (repeatable; none: off) [{DEFAULT_STUN}]", "list"
    ),
    _Option("turn_urls", "a TURN server for clients: turn: or turns: URL (repeatable)", "list"),
    _Option("turn_secrets", "coturn static-auth-secret (repeatable; the first mints)", "list"),
    _Option("turn_ttl", "lifetime of TURN credentials in seconds (capped at the token's)"),
    _Option("ice_policy", "all, or relay: every call through TURN, no IP shared"),
    _Option("allow_privacy_mode", "let a user ask for a relay-only call", "bool"),
    _Option("heartbeat_interval", "seconds between client heartbeats, for quality"),
    _Option("log_level", "debug, info, warning or error"),
    _Option("database_url", "SQLAlchemy URL (also DATABASE_URL); default SQLite in data-dir"),
    _Option("allowed_hosts", "a Host name served, *.domain or * (repeatable)", "list"),
    _Option("trusted_proxies", "a proxy address or CIDR whose forwarded headers count", "list"),
    _Option("forwarded_header", "which proxy headers to read: x-forwarded or forwarded"),
    _Option("metrics_token", "bearer token for /metrics; unset: loopback peers only"),
    _Option("request_timeout", "seconds to receive a whole HTTP request (headers and body)"),
    _Option("sessions_per_minute", "guest sessions one address may create per minute (0: off)"),
    _Option("session_burst", "guest sessions one address may create at once"),
    _Option("interest_wait_seconds", "wait before a user with interests is paired with anyone"),
    _Option(
        "language_wait_seconds",
        "wait before a user is paired with someone of another language",
    ),
    _Option("repeat_window_minutes", "window in which two users are not paired again"),
    _Option("chat_rate", "chat messages per second per user (0: off)"),
    _Option("chat_burst", "chat messages a user may send at once"),
    _Option("report_threshold", "weight of reports within the window that cools a user down"),
    _Option("report_window_hours", "window in which reports count towards a cool-down"),
    _Option("reports_per_network_per_day", "reports stored from one guest network a day"),
    _Option("evidence_days", "days a report's picture is kept at most (deleted when closed)"),
    _Option("cooldown_minutes", "length of the cool-down reports alone can cause"),
    _Option("reports_per_hour", "reports one user may file per hour (3 at once)"),
    _Option("max_sockets_per_user", "connections one user (token sub) may hold at once"),
    _Option("max_sockets_per_address", "connections from one IPv4 address or IPv6 /64"),
    _Option("send_buffer_bytes", "bytes queued for one slow client before it is closed"),
    _Option("events_per_second", "packets per second one connection may send (0: off)"),
    _Option("event_burst", "packets one connection may send at once before it is closed"),
    _Option("recovery_window", "seconds a dropped connection or call may take to resume (0: off)"),
    _Option("rules_file", "the rules a guest accepts before searching [the package's rules.md]"),
    _Option("minimum_age", "the age a guest confirms with the rules"),
    _Option("nicknames", "on, or off: everyone is shown as Stranger"),
    _Option("name_filter_file", "nickname word list [the package's nickname-words.txt]"),
    _Option("pow", "proof of work for guest sessions: never, auto (past the rate) or always"),
    _Option("pow_max_number", "ALTCHA difficulty: the largest secret number (work ~ half)"),
    _Option("pow_ttl_seconds", "lifetime of an ALTCHA challenge"),
    _Option("report_min_addresses", "distinct reporter networks (/24, /48) a cool-down needs"),
    _Option("report_full_weight_minutes", "guest identity age at which a report weighs 1 (0: off)"),
    _Option("redis_url", "Redis for a cluster of nodes (also REDIS_URL); unset: one process"),
    _Option("node_name", "this node's name in the cluster, stable across restarts [host-port]"),
    _Option("node_timeout", "seconds after which a silent node is evicted by the others"),
    _Option("redis_prefix", "prefix of every Redis key (several deployments on one Redis)"),
    _Option(
        "redis_cluster", "--redis-url names a node of a Redis Cluster (docs/scaling.md)", "bool"
    ),
    _Option("drain_seconds", "on SIGTERM: seconds for new calls to finish negotiating"),
    _Option("workers", "node processes on this port (needs --redis-url; WebSocket clients only)"),
)


# Environment variables other tools already use for the same thing.
_ALIASES = {
    "jwt_secret": "JWT_ACCESS_SECRET",
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
}


def _flag(field: str) -> str:
    return {
        "cors_origins": "cors-origin",
        "stun_urls": "stun-url",
        "turn_urls": "turn-url",
        "turn_secrets": "turn-secret",
        "allowed_hosts": "allowed-host",
        "trusted_proxies": "trusted-proxy",
    }.get(field, field.replace("_", "-"))


def env_name(field: str) -> str:
    return "RANDOMCHAT_" + _flag(field).replace("-", "_").upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; unset flags stay ``None`` so the environment can fill in."""
    for opt in _OPTIONS:
        flag = "--" + _flag(opt.field)
        help_text = f"{opt.help} [env {env_name(opt.field)}]"
        if opt.kind == "list":
            parser.add_argument(flag, dest=opt.field, action="append", help=help_text)
        elif opt.kind == "bool":
            parser.add_argument(
                flag, dest=opt.field, action=argparse.BooleanOptionalAction, help=help_text
            )
        else:
            parser.add_argument(flag, dest=opt.field, help=help_text)


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def load(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Settings:
    """Build the settings from parsed flags and the environment; raise ``ConfigError``."""
    values: dict[str, Any] = {}
    for opt in _OPTIONS:
        raw: Any = flags.get(opt.field)
        if raw is None:
            env = environ.get(env_name(opt.field))
            if env is None and opt.field in _ALIASES:
                env = environ.get(_ALIASES[opt.field])
            if env is None:
                continue
            if opt.kind == "list":
                raw = [item.strip() for item in env.split(",") if item.strip()]
            elif opt.kind == "bool":
                raw = _parse_bool(env_name(opt.field), env)
            else:
                raw = env
        values[opt.field] = tuple(raw) if opt.kind == "list" else raw
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{_flag(str(err['loc'][0]))}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


def from_args(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load(vars(parser.parse_args(list(argv))), environ)
