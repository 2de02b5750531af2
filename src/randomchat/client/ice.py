"""STUN binding and TURN allocation probes, for the doctor and the TURN tests.

Both talk to the server directly with aioice's STUN/TURN code, outside any call, so a
failure names the server and the step: no answer, refused credentials, or no relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass

from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc.rtcicetransport import parse_stun_turn_uri

STUN_ATTEMPTS = 3
STUN_RETRY = 0.5  # seconds between binding requests (UDP may lose one)


class ProbeError(Exception):
    """A STUN or TURN probe failed; ``str`` says how."""


@dataclass(frozen=True, slots=True)
class Server:
    scheme: str
    host: str
    port: int
    transport: str  # udp or tcp

    @classmethod
    def parse(cls, url: str) -> Server:
        try:
            parsed = parse_stun_turn_uri(url)
        except ValueError as exc:
            raise ProbeError(f"{url}: {exc}") from exc
        return cls(
            parsed["scheme"], parsed["host"], parsed["port"], parsed.get("transport") or "udp"
        )


class _BindingProtocol(asyncio.DatagramProtocol):
    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answer: asyncio.Future[stun.Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            message = stun.parse_message(data)
        except ValueError:
            return  # not STUN: ignore
        if message.transaction_id == self.transaction_id and not self.answer.done():
            self.answer.set_result(message)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def stun_binding(url: str, *, within: float = 5.0) -> tuple[str, int]:
    """Our address as the STUN server at ``url`` sees it (XOR-MAPPED-ADDRESS)."""
    server = Server.parse(url)
    if server.scheme != "stun":
        raise ProbeError(f"{url}: only stun: URLs are probed")
    loop = asyncio.get_running_loop()
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    try:
        async with asyncio.timeout(within):
            infos = await loop.getaddrinfo(server.host, server.port, type=socket.SOCK_DGRAM)
            host, port = str(infos[0][4][0]), int(infos[0][4][1])
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _BindingProtocol(request.transaction_id), remote_addr=(host, port)
            )
            try:
                for _ in range(STUN_ATTEMPTS):
                    transport.sendto(bytes(request))
                    done, _ = await asyncio.wait({protocol.answer}, timeout=STUN_RETRY)
                    if done:
                        break
                answer = await protocol.answer
            finally:
                transport.close()
    except TimeoutError:
        raise ProbeError(
            f"no answer from {server.host}:{server.port} within {within:g} s"
        ) from None
    except OSError as exc:
        raise ProbeError(f"{server.host}:{server.port}: {exc}") from exc
    mapped = answer.attributes.get("XOR-MAPPED-ADDRESS") or answer.attributes.get("MAPPED-ADDRESS")
    if answer.message_class != stun.Class.RESPONSE or mapped is None:
        raise ProbeError(f"{server.host}:{server.port} answered without a mapped address")
    return str(mapped[0]), int(mapped[1])


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def turn_allocation(
    url: str, username: str, credential: str, *, within: float = 8.0
) -> tuple[str, int]:
    """Allocate a relay on the TURN server at ``url`` with these credentials, then free it.

    Returns the relayed address; ``ProbeError`` says why it failed (``401`` means the
    credentials were refused: a wrong secret or an expired username).
    """
    server = Server.parse(url)
    if server.scheme not in ("turn", "turns"):
        raise ProbeError(f"{url}: not a turn: or turns: URL")
    context = ssl.create_default_context() if server.scheme == "turns" else None
    try:
        async with asyncio.timeout(within):
            transport, protocol = await create_turn_endpoint(
                _Sink,
                (server.host, server.port),
                username=username,
                password=credential,
                ssl=context,
                transport=server.transport,
            )
            relayed = transport.get_extra_info("sockname")
            transport.close()  # deletes the allocation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await protocol.lost
    except TimeoutError:
        raise ProbeError(
            f"no answer from {server.host}:{server.port} within {within:g} s"
        ) from None
    except stun.TransactionFailed as exc:
        raise ProbeError(str(exc)) from exc
    except (stun.TransactionTimeout, OSError, ConnectionError) as exc:
        raise ProbeError(f"{server.host}:{server.port} ({server.transport}): {exc!r}") from exc
    return str(relayed[0]), int(relayed[1])
