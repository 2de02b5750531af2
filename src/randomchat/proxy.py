"""Who is asking, and under which name: reverse-proxy headers and the Host allowlist.

Theory of operation
-------------------
Two ASGI middlewares wrap the whole app (HTTP routes and ``/socket.io/``, both
transports), outermost first:

``ForwardedHeaders``
    When the immediate peer is a ``--trusted-proxy`` address or network, the
    request is rewritten as the proxy received it: ``scope["client"]`` becomes
    the real client, ``scope["scheme"]`` the scheme the browser used
    (``https``/``wss`` behind TLS termination, so the same-origin check sees
    ``https://host``), and the ``host`` header the host the browser asked for.
    Exactly one header family is read (``--forwarded-header``): the
    ``X-Forwarded-For``/``-Proto``/``-Host`` family (what nginx, Caddy,
    Traefik and HAProxy send) or RFC 7239 ``Forwarded``; the other is ignored,
    so a client cannot smuggle one the proxy passes through untouched. Proxies
    append to the ``for`` chain, so it is read from the right: the client is the
    first address that is not itself a trusted proxy. Headers from any other
    peer are ignored.

``HostAllowlist``
    Refuses a request whose Host is not allowed (DNS rebinding: a page on
    ``evil.example`` whose name now resolves to this server's address). HTTP
    gets 400; a websocket is closed before it is accepted (the server answers
    403). See ``HostPolicy.from_settings`` for the default list.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = ("x-forwarded", "forwarded")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
# Longest header value we parse; a proxy chain is a few dozen bytes.
MAX_FORWARDED_CHARS = 4096
# Scope key set by ``ForwardedHeaders`` on requests relayed by a trusted proxy.
PROXIED = "randomchat.proxied"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values (addresses or CIDRs) as networks; ``ValueError`` if bad."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def trusted(host: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether ``host`` (an address as text) lies in one of ``networks``."""
    if not host or not networks:
        return False
    addr = _address(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in net for net in networks)


def split_host_port(value: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port or 0)."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, 0
        rest = value[end + 1 :]
        digits = rest[1:] if rest.startswith(":") else ""
        port = int(digits) if digits.isdigit() and len(digits) <= 5 else 0
        return value[1:end], port
    if value.count(":") == 1:
        host, _, digits = value.partition(":")
        return host, int(digits) if digits.isdigit() and len(digits) <= 5 else 0
    return value, 0


def host_name(header: str) -> str:
    """The name in a Host header, lower case, without port, brackets or trailing dot."""
    return split_host_port(header)[0].lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What a trusted proxy said about the request it relayed."""

    client: str | None = None
    port: int = 0
    proto: str | None = None
    host: str | None = None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _forwarded_elements(header: str) -> list[dict[str, str]]:
    """RFC 7239 ``Forwarded``: elements (comma) of pairs (semicolon), values unquoted.

    Quoted strings in this header never hold commas or semicolons in practice
    (addresses, schemes, host names), so a plain split is enough.
    """
    elements = []
    for element in header.split(","):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            name, sep, value = pair.partition("=")
            if sep:
                pairs[name.strip().lower()] = _unquote(value)
        elements.append(pairs)
    return elements


def _pick(chain: list[str], networks: tuple[Network, ...]) -> int:
    """Index of the client in a ``for`` chain: the rightmost untrusted entry, else the first."""
    for index in range(len(chain) - 1, -1, -1):
        if not trusted(split_host_port(chain[index])[0], networks):
            return index
    return 0


def parse_forwarded(header: str, networks: tuple[Network, ...]) -> Forwarded:
    """Read RFC 7239 ``Forwarded``; proto and host come from the client's own element."""
    elements = [e for e in _forwarded_elements(header) if e]
    if not elements:
        return Forwarded()
    index = _pick([e.get("for", "") for e in elements], networks)
    chosen = elements[index]
    client, port = split_host_port(chosen.get("for", ""))
    return Forwarded(
        client=client if _address(client) is not None else None,
        port=port,
        proto=chosen.get("proto"),
        host=chosen.get("host"),
    )


def parse_x_forwarded(
    xff: str | None, proto: str | None, host: str | None, networks: tuple[Network, ...]
) -> Forwarded:
    """Read the ``X-Forwarded-*`` family; for proto and host, the value the last proxy added."""
    client: str | None = None
    port = 0
    if xff:
        chain = [item.strip() for item in xff.split(",")]
        client, port = split_host_port(chain[_pick(chain, networks)])
        if _address(client) is None:
            client, port = None, 0
    return Forwarded(client=client, port=port, proto=_last(proto), host=_last(host))


def _last(value: str | None) -> str | None:
    return value.split(",")[-1].strip() if value else None


def _headers(scope: Scope) -> dict[bytes, str]:
    """The headers we read, repeated ones joined with commas (as HTTP allows)."""
    wanted = {b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
    found: dict[bytes, str] = {}
    for name, value in scope.get("headers", ()):
        if name in wanted:
            text = value.decode("latin-1")
            found[name] = f"{found[name]},{text}" if name in found else text
    return found


class ForwardedHeaders:
    """ASGI middleware: honour proxy headers from trusted peers only (module docstring)."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...], family: str) -> None:
        if family not in FORWARDED_HEADERS:
            raise ValueError(f"family must be one of {FORWARDED_HEADERS}")
        self.app = app
        self.networks = networks
        self.family = family

    def read(self, scope: Scope) -> Forwarded | None:
        """What the trusted proxy said, or None if the peer is not trusted."""
        client = scope.get("client")
        if not trusted(client[0] if client else None, self.networks):
            return None
        found = _headers(scope)
        if any(len(v) > MAX_FORWARDED_CHARS for v in found.values()):
            return Forwarded()  # not from any proxy we know: keep the peer as it is
        if self.family == "forwarded":
            raw = found.get(b"forwarded")
            return parse_forwarded(raw, self.networks) if raw else Forwarded()
        return parse_x_forwarded(
            found.get(b"x-forwarded-for"),
            found.get(b"x-forwarded-proto"),
            found.get(b"x-forwarded-host"),
            self.networks,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            fwd = self.read(scope)
            if fwd is not None:
                scope = dict(scope)
                apply(scope, fwd)
                scope[PROXIED] = True
        await self.app(scope, receive, send)


def apply(scope: Scope, fwd: Forwarded) -> None:
    """Rewrite ``scope`` in place with what a trusted proxy said."""
    if fwd.client is not None:
        scope["client"] = (fwd.client, fwd.port)
    proto = (fwd.proto or "").lower()
    if proto in ("http", "https", "ws", "wss"):
        secure = proto in ("https", "wss")
        if scope["type"] == "websocket":
            scope["scheme"] = "wss" if secure else "ws"
        else:
            scope["scheme"] = "https" if secure else "http"
    if fwd.host and fwd.host.isprintable():
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"host"]
        headers.append((b"host", fwd.host.encode("latin-1", "replace")))
        scope["headers"] = headers


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Which Host names are served.

    ``names`` None means any host. ``exempt_proxied``: requests relayed by a
    trusted proxy are not checked (the proxy's own server names are the list).
    """

    names: frozenset[str] | None
    suffixes: tuple[str, ...] = ()
    exempt_proxied: bool = False

    @classmethod
    def build(
        cls, allowed: Iterable[str], *, bind_host: str, cors_origins: Iterable[str]
    ) -> HostPolicy:
        """The policy for the settings ``--allowed-host``, ``--host`` and ``--cors-origin``.

        - An explicit list is used as it is, for every request; ``*`` allows any
          host, ``*.example.com`` any subdomain.
        - Otherwise, bound to a wildcard address (``0.0.0.0``, ``::``): any host
          (``serve`` warns at start-up).
        - Otherwise: the bound address, the loopback names (localhost, 127.0.0.1,
          ::1) and the hosts of ``--cors-origin``; a request relayed by a trusted
          proxy is not checked.
        """
        explicit = [a.strip().lower().rstrip(".") for a in allowed if a.strip()]
        if explicit:
            if "*" in explicit:
                return cls(names=None)
            names = frozenset(host_name(a) for a in explicit if not a.startswith("*."))
            suffixes = tuple(a[1:] for a in explicit if a.startswith("*."))
            return cls(names=names, suffixes=suffixes)
        if bind_host.strip() in WILDCARD_BINDS:
            return cls(names=None)
        derived = set(LOOPBACK_NAMES) | {host_name(bind_host)}
        derived |= {host_name(urlsplit(origin).netloc) for origin in cors_origins}
        return cls(names=frozenset(derived), exempt_proxied=True)

    def allows(self, host_header: str | None) -> bool:
        if self.names is None:
            return True
        if not host_header:
            return False
        name = host_name(host_header)
        return name in self.names or any(name.endswith(s) for s in self.suffixes)


class HostAllowlist:
    """ASGI middleware: refuse requests for a Host not in the policy."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        log.warning("refused host", extra={"host": _host(scope)[:100]})
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"detail":"Invalid Host header"}'
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, scope: Scope) -> bool:
        if self.policy.exempt_proxied and scope.get(PROXIED, False):
            return True
        return self.policy.allows(_host(scope) or None)


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    return ""


def network_of(address: str) -> str:
    """The unit of per-address limits: an IPv4 address, or the /64 of an IPv6 one.

    One IPv6 subscriber usually holds a whole /64, so keying single addresses
    would limit nobody.
    """
    addr = _address(address)
    if addr is None:
        return address
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def aggregates(network: str) -> tuple[str, ...]:
    """The units a per-address limit counts ``network`` (``network_of``'s) in: itself and,
    for an IPv6 /64, its /56 and /48. One subscriber usually holds a /56 or a /48, so a
    limit per /64 alone would give them 256 or 65,536 times their share."""
    if not network.endswith("/64"):
        return (network,)
    try:
        found = ipaddress.IPv6Network(network)
    except ValueError:
        return (network,)
    return (network, str(found.supernet(new_prefix=56)), str(found.supernet(new_prefix=48)))


def is_local(scope: Scope) -> bool:
    """Whether the real client is this machine: a loopback peer that is not a relay.

    A loopback peer that sends proxy headers without being a trusted proxy is a
    proxy on this machine relaying someone else: not local.
    """
    client = scope.get("client")
    addr = _address(client[0]) if client else None
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if not addr.is_loopback:
        return False
    if scope.get(PROXIED, False):
        return True
    relay = {b"forwarded", b"x-forwarded-for", b"x-real-ip"}
    return not any(name in relay for name, _ in scope.get("headers", ()))
