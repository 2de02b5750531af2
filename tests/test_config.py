import os
import stat
from pathlib import Path

import pytest

from randomchat import config, datadir
from randomchat.errors import ConfigError

pytestmark = pytest.mark.pure

GOOD = "s" * 40


def test_defaults() -> None:
    settings = config.from_args([], environ={})
    assert (settings.host, settings.port, settings.find_rate_limit_ms) == ("127.0.0.1", 3000, 1000)
    assert (settings.ping_interval, settings.ping_timeout) == (25.0, 60.0)
    assert settings.max_message_bytes == 1_000_000 and settings.cors_origins == ()
    assert settings.jwt_secret is None and settings.guest_sessions is True
    assert not hasattr(settings, "socket_layer")  # one socket layer since the fallback went


def test_flag_beats_environment_beats_default() -> None:
    env = {
        "RANDOMCHAT_PORT": "4000",
        "RANDOMCHAT_HOST": "0.0.0.0",
        "RANDOMCHAT_STUN_URL": "stun:a:3478, stun:b:3478",
        "RANDOMCHAT_GUEST_SESSIONS": "false",
        "JWT_ACCESS_SECRET": GOOD,
    }
    settings = config.from_args(["--port", "5000"], environ=env)
    assert settings.port == 5000 and settings.host == "0.0.0.0"
    assert settings.stun_urls == ("stun:a:3478", "stun:b:3478")
    assert settings.ice.servers("u", 0, None) == [{"urls": "stun:a:3478"}, {"urls": "stun:b:3478"}]
    assert settings.guest_sessions is False and settings.jwt_secret == GOOD
    both = config.from_args([], environ={"RANDOMCHAT_JWT_SECRET": "r" * 40, **env})
    assert both.jwt_secret == "r" * 40


def test_settings_are_frozen() -> None:
    settings = config.from_args([], environ={})
    with pytest.raises(Exception, match="frozen"):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--port", "70000"], {}, "--port: Input should be less than or equal to 65535"),
        (["--port", "abc"], {}, "--port: Input should be a valid integer"),
        (["--jwt-secret", "short"], {}, "--jwt-secret: Value error, must be at least 32"),
        (["--cors-origin", "*"], {}, "'*' is not allowed"),
        (["--cors-origin", "chat.example.com"], {}, "is not an origin"),
        (["--stun-url", "http://x"], {}, "must start with stun:"),
        ([], {"RANDOMCHAT_GUEST_SESSIONS": "maybe"}, "expected true or false"),
        (["--log-level", "loud"], {}, "must be one of"),
        (["--find-rate-limit-ms", "-1"], {}, "greater than or equal to 0"),
    ],
)
def test_invalid_settings_are_refused_clearly(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.from_args(argv, environ=env)
    assert message in str(info.value)


def test_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    settings = config.from_args(["--data-dir", str(tmp_path / "d")], environ={})
    first, created = datadir.with_secret(settings)
    assert created and len(first.secret) >= 32
    path = tmp_path / "d" / datadir.SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, created_again = datadir.with_secret(settings)
    assert not created_again and again.secret == first.secret


def test_http_and_proxy_settings_from_flags_and_environment() -> None:
    env = {
        "RANDOMCHAT_ALLOWED_HOST": "chat.example.com, *.example.org",
        "RANDOMCHAT_TRUSTED_PROXY": "10.0.0.0/8,::1",
        "RANDOMCHAT_METRICS_TOKEN": "t" * 20,
    }
    settings = config.from_args(["--trusted-proxy", "127.0.0.1", "--request-timeout", "3"], env)
    assert settings.allowed_hosts == ("chat.example.com", "*.example.org")
    assert settings.trusted_proxies == ("127.0.0.1",)  # a flag wins over the environment
    assert settings.metrics_token == "t" * 20 and "t" * 20 not in repr(settings)
    assert settings.request_timeout == 3.0
    assert config.from_args([], env).trusted_proxies == ("10.0.0.0/8", "::1")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trusted-proxy", "proxy.local"], "not an address or CIDR"),
        (["--allowed-host", "https://chat.example.com/"], "not a host name"),
        (["--forwarded-header", "x-real-ip"], "x-forwarded or forwarded"),
        (["--metrics-token", "short"], "--metrics-token"),
        (["--request-timeout", "0"], "--request-timeout"),
        (["--sessions-per-minute", "inf"], "--sessions-per-minute"),
    ],
)
def test_bad_http_and_proxy_settings_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.from_args(argv, {})


def test_the_data_directory_is_created_private(tmp_path: Path) -> None:
    data = tmp_path / "new"
    datadir.with_secret(config.from_args(["--data-dir", str(data)], {}))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
