"""ICE gathering as a browser does it: every STUN and TURN URL, candidates trickled.

aiortc gathers inside ``setLocalDescription`` and only returns once every candidate is
known, from the first STUN and the first TURN URL alone (aioice's ``Connection`` holds
one of each). A browser instead uses every URL it is given and signals each candidate
as it is found. So this module gathers on the call's aioice ``Connection`` itself,
before ``setLocalDescription``:

- host candidates at once (policy ``all``); aioice's own gathering is then marked done
  so ``setLocalDescription`` returns at once with them in the SDP;
- a server-reflexive candidate per STUN URL, and a relayed one per TURN URL (UDP, TCP
  and TLS alike), all in parallel, each handed to ``on_candidate`` as it arrives, so a
  STUN or TURN server that never answers delays nothing;
- with policy ``relay`` there are no host candidates: the offer waits for the first
  relayed candidate (or for every TURN URL to fail), because aiortc starts ICE only
  when a local candidate exists.

A candidate found after ICE started is paired with the remote candidates already known
(aioice keeps running checks while the remote side has not ended its candidates).
This reaches into aioice's private state (``_local_candidates``, ``_protocols``,
``_pair_remote_candidate``) as ``report`` does for the selected pair: aiortc has no API
for either. aioice 0.13 / aiortc 1.16 are locked, and tests/client and the NAT lab
exercise every path here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aioice import stun
from aioice.candidate import Candidate
from aioice.ice import (
    Connection,
    StunProtocol,
    get_host_addresses,
    relayed_candidate,
    server_reflexive_candidate,
)
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import parse_stun_turn_uri

from randomchat.client.session import IceSettings

log = logging.getLogger("randomchat.client")

STUN_WITHIN = 5.0  # one STUN server's answer; the offer never waits for it
TURN_WITHIN = 10.0  # one allocation (TLS over a slow path takes several round trips)
MAX_URLS = 8  # STUN and TURN URLs used per call: a hostile server cannot make us dial 1000


@dataclass(frozen=True, slots=True)
class TurnServer:
    url: str
    host: str
    port: int
    transport: str  # udp or tcp
    tls: bool
    username: str
    password: str


def turn_servers(ice: IceSettings) -> list[TurnServer]:
    """Every usable TURN URL in ``ice``, in the order given."""
    found = []
    for url, server in ice.urls("turn", "turns")[:MAX_URLS]:
        username, password = server.get("username"), server.get("credential")
        if not isinstance(username, str) or not isinstance(password, str):
            continue
        try:
            parsed = parse_stun_turn_uri(url)
        except ValueError:
            continue
        tls = parsed["scheme"] == "turns"
        if parsed["transport"] not in ("udp", "tcp") or (tls and parsed["transport"] != "tcp"):
            continue
        found.append(
            TurnServer(
                url, parsed["host"], parsed["port"], parsed["transport"], tls, username, password
            )
        )
    return found


def stun_servers(ice: IceSettings) -> list[tuple[str, int]]:
    found = []
    for url, _ in ice.urls("stun")[:MAX_URLS]:
        with contextlib.suppress(ValueError):
            parsed = parse_stun_turn_uri(url)
            found.append((str(parsed["host"]), int(parsed["port"])))
    return found


def connection_of(pc: RTCPeerConnection) -> Connection:
    """The one aioice ``Connection`` of a max-bundle peer connection."""
    transport = pc.getTransceivers()[0].receiver.transport.transport
    connection: Connection = transport.iceGatherer._connection
    return connection


class Gathering:
    """Gathers one call's candidates; ``on_candidate`` trickles each one found later."""

    def __init__(
        self,
        connection: Connection,
        ice: IceSettings,
        on_candidate: Callable[[Candidate | None], Awaitable[None]],
    ) -> None:
        self.connection = connection
        self.ice = ice
        self.on_candidate = on_candidate
        self.relay_only = ice.policy == "relay"
        self.srflx: list[Candidate] = []
        self.failures: list[str] = []  # per URL: why no candidate came from it
        self.relay_urls: dict[tuple[str, int], str] = {}  # relayed address: its TURN URL
        self._tasks: list[asyncio.Task[None]] = []
        self._first = asyncio.Event()
        self._waiter: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()

    async def start(self) -> None:
        """Host candidates now, the rest in the background; returns once the offer or
        answer may be made (at once with host candidates, else at the first relay)."""
        conn = self.connection
        conn._local_candidates_start = True  # aioice's own gathering never runs
        if not self.relay_only:
            addresses = get_host_addresses(use_ipv4=conn._use_ipv4, use_ipv6=conn._use_ipv6)
            conn.stun_server = conn.turn_server = None  # host candidates only, below
            conn._local_candidates += await conn.get_component_candidates(1, addresses)
        hosts = [p for p in conn._protocols if p.local_candidate.type == "host"]
        if not self.relay_only:
            for server in stun_servers(self.ice):
                for protocol in hosts:
                    if ipaddress.ip_address(protocol.local_candidate.host).version == 4:
                        self._spawn(self._srflx(protocol, server))
        for turn in turn_servers(self.ice):
            self._spawn(self._relay(turn))
        # Ends the trickle with end-of-candidates once every server answered or gave up.
        self._waiter = asyncio.ensure_future(self._wait_all())
        if conn._local_candidates:
            self._first.set()
        await self._first.wait()
        conn._local_candidates_end = True  # connect() may start

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._waiter is not None:
            self._waiter.cancel()

    def _spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def _wait_all(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._first.set()  # nothing found at all: the caller fails the call
        self.finished.set()
        if self.connection._local_candidates:
            await self.on_candidate(None)

    async def _srflx(self, protocol: StunProtocol, server: tuple[str, int]) -> None:
        try:
            async with asyncio.timeout(STUN_WITHIN):
                candidate, _ = await server_reflexive_candidate(protocol, server)
        except (TimeoutError, OSError, stun.TransactionError) as exc:
            self.failures.append(f"stun:{server[0]}:{server[1]}: {exc!r}")
            return
        if any(c.host == candidate.host and c.port == candidate.port for c in self.srflx):
            return  # a second STUN server saw the same mapping
        self.srflx.append(candidate)
        await self._found(candidate, None)

    async def _relay(self, turn: TurnServer) -> None:
        conn = self.connection
        try:
            async with asyncio.timeout(TURN_WITHIN):
                candidate, protocol = await relayed_candidate(
                    component=1,
                    hide_related_address=self.relay_only,
                    protocol_factory=lambda: StunProtocol(conn),
                    turn_server=(turn.host, turn.port),
                    turn_username=turn.username,
                    turn_password=turn.password,
                    turn_ssl=turn.tls,
                    turn_transport=turn.transport,
                )
        except (TimeoutError, OSError, ConnectionError, stun.TransactionError) as exc:
            self.failures.append(f"{turn.url}: {exc!r}")
            return
        if conn._closing:
            await protocol.close()
            return
        self.relay_urls[(candidate.host, candidate.port)] = turn.url
        await self._found(candidate, protocol)

    async def _found(self, candidate: Candidate, protocol: StunProtocol | None) -> None:
        conn = self.connection
        if conn._closing:
            return
        conn._local_candidates.append(candidate)
        if protocol is not None:
            conn._protocols.append(protocol)
            # Pair it with what the partner already sent; later remote candidates pair
            # with it by themselves.
            for remote in conn._remote_candidates:
                conn._pair_remote_candidate(remote)
            conn.sort_check_list()
        self._first.set()
        log.debug("gathered %s", candidate)
        await self.on_candidate(candidate)


def selected_relay_url(gathering: Gathering) -> str | None:
    """The TURN URL the selected pair relays through on our side, if it does."""
    pair = gathering.connection._nominated.get(1)
    if pair is None:
        return None
    return gathering.relay_urls.get((pair.local_candidate.host, pair.local_candidate.port))


async def pair_types(connection: Connection) -> tuple[str, str] | None:
    """(local, remote) types of the nominated pair, as the path really is.

    aioice pairs from its sockets, so a pair's local candidate is ``host`` even when the
    packets leave through a NAT (the partner sees a server-reflexive or peer-reflexive
    address), and a symmetric NAT's mapping is never a gathered candidate at all. One
    more binding request on the selected pair asks the partner which address it sees us
    at (XOR-MAPPED-ADDRESS): our own address means ``host``, a gathered mapping
    ``srflx``, anything else ``prflx``. A relay is a relay.
    """
    pair = connection._nominated.get(1)
    if pair is None:
        return None
    local, remote = pair.local_candidate, pair.remote_candidate
    local_type = str(local.type)
    if local_type == "host" and connection.remote_password is not None:
        try:
            async with asyncio.timeout(2.0):
                response, _ = await pair.protocol.request(
                    connection.build_request(pair, nominate=False),
                    pair.remote_addr,
                    integrity_key=connection.remote_password.encode("utf8"),
                    retransmissions=2,
                )
            mapped = response.attributes.get("XOR-MAPPED-ADDRESS")
        except (TimeoutError, stun.TransactionError, OSError):
            mapped = None
        if mapped is not None and (mapped[0], mapped[1]) != (local.host, local.port):
            gathered = {(c.host, c.port) for c in connection._local_candidates if c.type == "srflx"}
            local_type = "srflx" if (mapped[0], mapped[1]) in gathered else "prflx"
    return local_type, str(remote.type)
