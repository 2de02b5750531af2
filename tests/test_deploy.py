"""deploy/: the compose file, its .env.example, nginx.conf, the Dockerfile and its context.

Docker is not needed: the compose file is read as YAML and its ``${...}`` filled in
from .env.example the way Compose does, and each app node's environment is loaded
into real ``Settings``. With an ``nginx`` binary, nginx.conf (its upstream pointed at
loopback, its certificate a throwaway one) is checked with ``nginx -t``, and then run
in front of two real nodes on a real redis-server: a long-polling client and a
WebSocket client connect through it over TLS and are paired.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import yaml

from randomchat import config
from randomchat.cluster import NODE_NAME
from tests.conftest import free_port
from tests.redisserver import RedisServer, redis_server  # noqa: F401 (fixture)
from tests.server.harness import NS, Peer, match

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SETTING_ENV = {config.env_name(field) for field in config.Settings.model_fields}
# Names other tools use, read by config.load as well (checked below, not assumed).
ALIASES = {"REDIS_URL": "redis_url", "DATABASE_URL": "database_url"}
ALIASES_SECRET = "JWT_ACCESS_SECRET"
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
)


def compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text()


def compose() -> dict[str, Any]:
    doc = yaml.safe_load(compose_text())  # resolves the << merges of the x- anchors
    assert isinstance(doc, dict)
    return doc


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            values[name.strip()] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    def one(found: re.Match[str]) -> str:
        name, op, arg = found.group(1), found.group(2), found.group(3)
        value = env.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op is not None and op.endswith("?") and missing:
            raise AssertionError(f"compose would refuse to start: {name}: {arg}")
        if op is not None and op.endswith("-") and missing:
            return arg
        return value or ""

    return VARIABLE.sub(one, text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def app_nodes(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Service name -> raw environment, for every service that runs a randomchat node."""
    return {
        name: environment(service)
        for name, service in doc["services"].items()
        if "RANDOMCHAT_NODE_NAME" in environment(service)
    }


# -- the compose file and its .env.example --------------------------------------------


def test_app_nodes_have_distinct_names_and_share_everything_else() -> None:
    doc = compose()
    nodes = app_nodes(doc)
    assert len(nodes) >= 2, "a cluster needs several app nodes"
    names = [env["RANDOMCHAT_NODE_NAME"] for env in nodes.values()]
    assert len(set(names)) == len(names), f"node names must be distinct: {names}"
    assert all(NODE_NAME.match(name) for name in names), names
    shared = [
        {k: v for k, v in env.items() if k != "RANDOMCHAT_NODE_NAME"} for env in nodes.values()
    ]
    assert all(env == shared[0] for env in shared), "app nodes differ beyond their name"
    for needed in (
        "REDIS_URL",
        "DATABASE_URL",
        "JWT_ACCESS_SECRET",
        "RANDOMCHAT_TURN_URL",
        "RANDOMCHAT_TURN_SECRET",
        "RANDOMCHAT_TRUSTED_PROXY",
        "RANDOMCHAT_ALLOWED_HOST",
    ):
        assert needed in shared[0], f"app nodes lack {needed}"
    services = [doc["services"][name] for name in nodes]
    assert all(s.get("build") == services[0].get("build") for s in services)
    assert all(s.get("image") == services[0].get("image") for s in services)


def test_every_randomchat_variable_is_a_real_setting() -> None:
    used = set(referenced_variables())
    for env in app_nodes(compose()).values():
        used |= set(env)
    used |= set(env_example())
    unknown = {name for name in used if name.startswith("RANDOMCHAT_")} - SETTING_ENV
    assert not unknown, f"not settings of randomchat.config: {sorted(unknown)}"


def referenced_variables() -> list[str]:
    """Every ``${NAME}`` of compose.yaml (in its values: comments are not interpolated)."""

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key)
                yield from strings(value)
        elif isinstance(node, list):
            for item in node:
                yield from strings(item)
        elif isinstance(node, str):
            yield node

    return [found.group(1) for text in strings(compose()) for found in VARIABLE.finditer(text)]


def test_the_other_names_are_read_by_the_settings() -> None:
    environ = {
        "REDIS_URL": "redis://redis:6379/0",
        "DATABASE_URL": "postgresql://u@h/d",
        ALIASES_SECRET: "s" * 40,
    }
    settings = config.load({}, environ)
    for name, field in ALIASES.items():
        assert getattr(settings, field) == environ[name], name
    assert settings.jwt_secret == environ[ALIASES_SECRET]


def test_env_example_explains_exactly_what_compose_reads() -> None:
    example = env_example()
    referenced = set(referenced_variables())
    assert referenced - set(example) == set(), "compose reads variables .env.example omits"
    assert set(example) - referenced == set(), ".env.example lists variables compose ignores"
    # Each variable, or the group of variables it is in, has a comment right above it.
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            j = i - 1
            while j >= 0 and lines[j].strip() and not lines[j].startswith("#"):
                j -= 1
            assert j >= 0 and lines[j].startswith("#"), f"{line} has no explanation above it"


def test_example_values_make_valid_settings_on_every_node() -> None:
    doc = compose()
    example = env_example()
    loaded = {}
    for name, raw in app_nodes(doc).items():
        env = {key: interpolate(value, example) for key, value in raw.items()}
        loaded[name] = config.load({}, env)  # raises ConfigError on a bad value
    for name, settings in loaded.items():
        assert settings.node_name == raw_name(doc, name)
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.database.startswith("postgresql+asyncpg://randomchat:")
        assert settings.database.endswith("@postgres:5432/randomchat")
        assert settings.turn_secrets == (example["RANDOMCHAT_TURN_SECRET"],)
        assert settings.allowed_hosts == (example["PUBLIC_HOST"],)
        assert all(example["PUBLIC_HOST"] in url for url in settings.turn_urls)
        assert {url.rsplit("=", 1)[1] for url in settings.turn_urls} == {"udp", "tcp"}
        # The trusted proxy is the network nginx reaches the nodes on.
        edge = doc["networks"]["edge"]["ipam"]["config"][0]["subnet"]
        assert settings.trusted_proxies == (interpolate(edge, example),)
    db_password = example["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", db_password), "the password goes into a URL"


def raw_name(doc: dict[str, Any], service: str) -> str:
    return environment(doc["services"][service])["RANDOMCHAT_NODE_NAME"]


def test_nginx_and_the_nodes_share_the_edge_network_and_the_rest_stays_behind() -> None:
    doc = compose()
    services = doc["services"]
    for name in app_nodes(doc):
        assert "edge" in services[name]["networks"] and "back" in services[name]["networks"]
    assert list(services["nginx"]["networks"]) == ["edge"]
    assert services["redis"]["networks"] == ["back"] and services["postgres"]["networks"] == [
        "back"
    ]
    assert doc["networks"]["back"].get("internal") is True
    assert "ports" not in services["redis"] and "ports" not in services["postgres"]
    # No persistence for Redis: live state only (docs/scaling.md says why).
    command = services["redis"]["command"]
    assert command[command.index("--save") + 1] == "" and "--appendonly" in command


def test_coturn_checks_the_credentials_the_nodes_mint() -> None:
    doc = compose()
    command = [str(arg) for arg in doc["services"]["coturn"]["command"]]
    assert "--use-auth-secret" in command
    secret_args = [arg for arg in command if arg.startswith("--static-auth-secret=")]
    assert secret_args == ["--static-auth-secret=${RANDOMCHAT_TURN_SECRET}"]
    for env in app_nodes(doc).values():
        assert VARIABLE.findall(env["RANDOMCHAT_TURN_SECRET"])[0][0] == "RANDOMCHAT_TURN_SECRET"
    port = next(arg for arg in command if arg.startswith("--listening-port="))
    for env in app_nodes(doc).values():
        for url in env["RANDOMCHAT_TURN_URL"].split(","):
            assert f":{port.split('=')[1]}?" in url


# -- nginx.conf -------------------------------------------------------------------------


def nginx_text() -> str:
    return (DEPLOY / "nginx.conf").read_text()


UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([A-Za-z0-9_.-]+):(\d+)([^;]*);", re.M)


def test_nginx_upstream_is_every_app_node_and_sticky() -> None:
    upstream = re.search(r"upstream randomchat \{(.*?)\n    \}", nginx_text(), re.S)
    assert upstream, "nginx.conf has no upstream randomchat"
    body = "\n".join(line.split("#")[0] for line in upstream.group(1).splitlines())
    servers = {(host, int(port)) for _, host, port, _ in UPSTREAM_SERVER.findall(body)}
    default_port = config.Settings.model_fields["port"].default
    assert servers == {(name, default_port) for name in app_nodes(compose())}
    # Long-polling needs every request of a client on one node.
    assert re.search(r"^\s*(hash \$remote_addr consistent|ip_hash);", body, re.M)


def test_nginx_waits_longer_than_a_socket_may_stay_silent() -> None:
    location = re.search(r"location /socket\.io/ \{(.*?)\}", nginx_text(), re.S)
    assert location
    timeout = re.search(r"proxy_read_timeout (\d+)s;", location.group(1))
    assert timeout
    fields = config.Settings.model_fields
    assert int(timeout.group(1)) > fields["ping_interval"].default + fields["ping_timeout"].default


def nginx_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out.stderr + out.stdout)
    assert found, out.stderr
    return tuple(int(x) for x in found.groups())


def write_certificate(directory: Path) -> None:
    """A throwaway self-signed certificate for 127.0.0.1 (nginx -t loads it)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def local_nginx_conf(
    binary: str, directory: Path, upstream_ports: list[int], http_port: int, https_port: int
) -> Path:
    """deploy/nginx.conf for this machine: every change asserted, nothing else touched.

    The app hosts become loopback ports; listen on loopback ports; the certificate,
    pid, temp and webroot paths in ``directory``. An nginx older than 1.27.3 has no
    ``resolve`` for upstream servers (re-resolving the containers' names): it is
    dropped there, and only there.
    """
    text = nginx_text()
    servers = UPSTREAM_SERVER.findall(text)
    assert len(servers) == len(upstream_ports)
    keep_resolve = nginx_version(binary) >= (1, 27, 3)
    ports = iter(upstream_ports)

    def upstream(found: re.Match[str]) -> str:
        params = found.group(4) if keep_resolve else found.group(4).replace(" resolve", "")
        return f"{found.group(1)}127.0.0.1:{next(ports)}{params};"

    text = UPSTREAM_SERVER.sub(upstream, text)
    write_certificate(directory)
    (directory / "acme").mkdir()
    (directory / "mime.types").write_text("types { text/html html; }\n")
    temp = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/nginx/tls/", f"{directory}/"),
        ("pid /tmp/nginx.pid;", f"pid {directory / 'nginx.pid'};"),
        ("include /etc/nginx/mime.types;", f"include {directory / 'mime.types'};"),
        ("root /var/www/acme;", f"root {directory / 'acme'};"),
        ("http {\n", "http {\n" + temp),
    ):
        assert old in text, f"nginx.conf changed: {old!r} is gone (update this test)"
        text = text.replace(old, new)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def require_nginx() -> str:
    if NGINX is None:
        pytest.skip("no nginx binary (apt-get install nginx) to check deploy/nginx.conf")
    return NGINX


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    binary = require_nginx()
    conf = local_nginx_conf(binary, tmp_path, [free_port() for _ in range(3)], 1080, 1443)
    result = subprocess.run(
        [binary, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def nginx_in_front(
    server_factory: Any,
    redis_server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> Iterator[str]:
    """Two real nodes on a real Redis behind deploy/nginx.conf; yields the https URL."""
    binary = require_nginx()
    nodes = [
        server_factory(
            redis_url=redis_server.url,
            node_name=f"edge{i}",
            trusted_proxy="127.0.0.1",
            find_rate_limit_ms=0,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        )
        for i in (1, 2)
    ]
    ports = [node.port for node in nodes]
    directory = tmp_path / "nginx"
    directory.mkdir()
    https_port = free_port()
    # deploy/ has three app nodes; the third points at the first (the same node twice).
    conf = local_nginx_conf(binary, directory, [*ports, ports[0]], free_port(), https_port)
    log = (directory / "nginx.log").open("wb")
    process = subprocess.Popen(
        [binary, "-e", "stderr", "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (directory / "nginx.log").read_text()
            try:
                if httpx.get(url + "/healthz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class TlsPeer(Peer):
    """A ``Peer`` that accepts the throwaway certificate and sends a browser's Origin."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.client = socketio.AsyncClient(reconnection=False, ssl_verify=False)

        async def catch_all(event: str, *args: Any) -> None:
            await self.events.put((event, args[0] if args else None))

        self.client.on("*", catch_all, namespace=NS)
        self.client.on("disconnect", self.disconnected.set, namespace=NS)


async def test_long_polling_and_websockets_through_nginx(nginx_in_front: str) -> None:
    url = nginx_in_front
    # The nodes accept this Origin only if they believe nginx's X-Forwarded-Proto (https)
    # and Host (with its port): the trusted proxy and the headers both work...
    polling = await TlsPeer("polly").connect(url, transports=["polling"], headers={"Origin": url})
    socket = await TlsPeer("wes").connect(url, transports=["websocket"], headers={"Origin": url})
    assert polling.client.transport() == "polling" and socket.client.transport() == "websocket"
    for peer in (polling, socket):
        await peer.expect("connection-quality")
    # ...and that check is on: another site's page is refused.
    mallory = TlsPeer("mallory")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await mallory.connect(
            url, transports=["websocket"], headers={"Origin": "https://evil.example"}
        )
    if mallory.client.eio.http is not None:  # a refused connect leaves its session open
        await mallory.client.eio.http.close()
    # Polling is a series of requests: each must reach the node holding the session
    # (round robin over the two nodes would lose it within a few requests).
    found, _ = await match(polling, socket)
    caller, callee = (socket, polling) if found["role"] == "initiator" else (polling, socket)
    await caller.emit("signal-offer", {"offer": {"type": "offer", "sdp": "v=0 offer"}})
    assert (await callee.expect("signal-offer"))["offer"]["sdp"] == "v=0 offer"
    await caller.expect("signal-offer-ack")
    await callee.emit("signal-answer", {"answer": {"type": "answer", "sdp": "v=0 answer"}})
    assert (await caller.expect("signal-answer"))["answer"]["sdp"] == "v=0 answer"
    await callee.expect("signal-answer-ack")
    for sender, receiver in ((polling, socket), (socket, polling)):
        for i in range(10):
            await sender.emit("signal-ice-candidate", {"candidate": {"candidate": f"c:{i}"}})
        assert await candidates(receiver, 10) == [f"c:{i}" for i in range(10)]
    await polling.emit("leave")
    await socket.expect("partner-left")
    for peer in (polling, socket):
        await peer.close()


async def candidates(peer: Peer, count: int) -> list[str]:
    got: list[str] = []
    while len(got) < count:
        event, data = await asyncio.wait_for(peer.events.get(), 10)
        if event == "signal-ice-candidates-batch":
            got += [c["candidate"] for c in data["candidates"]]
        else:
            assert event == "signal-ice-candidate", event
            got.append(data["candidate"]["candidate"])
    return got


# -- the image ---------------------------------------------------------------------------


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or a parent of it decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            matches = any(fnmatch(c.rsplit("/", 1)[-1], pattern[3:]) for c in candidates)
        else:
            matches = any(fnmatch(c, pattern) for c in candidates)
        if matches:
            excluded = not negated
    return excluded


def test_the_build_context_has_what_the_dockerfile_copies_and_nothing_heavy() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    sources = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for src in line.split()[1:-1]
    ]
    assert sources, "the Dockerfile copies nothing from the context"
    for src in sources:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
        assert not dockerignore_excludes(src.rstrip("/")), f".dockerignore leaves out {src}"
    for heavy in (
        ".venv/bin/python",
        "web/node_modules/react/index.js",
        "data/randomchat.db",
        "web/dist/index.html",
        "test-output/trace.zip",
        "tests/test_deploy.py",
        ".git/HEAD",
        "src/randomchat/__pycache__/app.cpython-311.pyc",
    ):
        assert dockerignore_excludes(heavy), f".dockerignore lets {heavy} in"
    assert not dockerignore_excludes("src/randomchat/data/rules.md")


def test_the_image_runs_serve_as_an_unprivileged_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = dockerfile.split("\nFROM ")
    runtime = stages[-1]
    assert runtime.startswith("python:3.11-slim")
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    users = re.findall(r"^USER (\S+)", runtime, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", runtime, re.M | re.S)
    assert re.search(r"^EXPOSE 3000$", runtime, re.M)
    assert 'CMD ["randomchat", "serve", "--host", "0.0.0.0"]' in runtime
    assert "[dev]" not in dockerfile


def load_healthcheck() -> Any:
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_sends_a_host_the_node_allows() -> None:
    host_header = load_healthcheck().host_header
    assert host_header("") == "localhost"
    assert host_header("chat.example.com,other.example") == "chat.example.com"
    assert host_header("*, *.example.com") == "healthcheck.example.com"


def test_the_health_check_against_a_real_node(server_factory: Any) -> None:
    # 127.0.0.1 too: the factory waits for the node's /healthz under that name.
    node = server_factory(allowed_host=["chat.example.com", "127.0.0.1"])

    def check(allowed: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RANDOMCHAT_")}
        env["RANDOMCHAT_PORT"] = str(node.port)
        if allowed is not None:
            env["RANDOMCHAT_ALLOWED_HOST"] = allowed
        return subprocess.run(
            [sys.executable, str(DEPLOY / "healthcheck.py")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    assert check("chat.example.com").returncode == 0
    refused = check(None)  # Host: localhost, which this node does not serve
    assert refused.returncode == 1 and "400" in refused.stderr
