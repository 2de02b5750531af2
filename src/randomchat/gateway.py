"""The Socket.IO gateway: events in, lobby calls, effects out as emits.

Handlers run in order per connection (in the socket layer's reader loop): a
client's ICE candidates and descriptions are handled in the order it sent
them; the only task an event may start is the next turn's flush of a
connection's batched ICE candidates. Every handler validates its payload;
a malformed one gets an ``error`` event and changes nothing. Such events are all
counted in the metrics, but their log lines are sampled per connection
(``logs.LogSampler``): a client sending nothing but bad events cannot fill the disk.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from randomchat import auth, guests, proxy, sio
from randomchat.config import Settings
from randomchat.delivery import Delivery
from randomchat.errors import (
    AuthError,
    Banned,
    IllegalMove,
    InvalidPayload,
    StorageError,
    TooManyConnections,
)
from randomchat.lobby import Effect, Emit, FlushLater, Handler, HangUp, Kick, Lobby
from randomchat.logs import LogSampler
from randomchat.metrics import Metrics
from randomchat.protocol import (
    NAMESPACE,
    BanInfo,
    ClientEvent,
    ErrorCode,
    Refusal,
    ServerError,
    ServerEvent,
)
from randomchat.sio.engine import CallLater
from randomchat.sio.recovery import MayResume

log = logging.getLogger(__name__)

NEGOTIATION_SECONDS = 10.0  # a drain lets calls this fresh finish their offer/answer/ICE


def _origin_checker(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """Same origin always; other origins only when listed. Never ``*``."""
    allowed = set(settings.cors_origins)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or origin in allowed:
            return True
        host = environ.get("HTTP_HOST", "")
        scheme = environ.get("wsgi.url_scheme", "http")
        return bool(origin == f"{scheme}://{host}")

    return check


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _error_emit(sid: str, event: str, code: ErrorCode, message: str) -> Emit:
    """The wire shape of every ``error``: the seed's ``message``, plus ``event`` and ``code``."""
    return Emit(sid, ServerEvent.ERROR, ServerError(message=message, event=event, code=code))


def _ban_payload(until: float, reason: str) -> BanInfo:
    return BanInfo(until=int(until * 1000), reason=reason)


def socket_server(
    settings: Settings,
    may_resume: MayResume,
    sid_prefix: str = "",
    *,
    clock: Callable[[], float] | None = None,
    call_later: CallLater | None = None,
) -> sio.Server:
    """The socket layer, from the settings; ``may_resume`` is the owner check of a held
    socket (``lobby.resume.recovery_guard``), ``sid_prefix`` a cluster node's name."""
    server = sio.Server(
        cors_allowed_origins=_origin_checker(settings),
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        max_http_buffer_size=settings.max_message_bytes,
        send_buffer_bytes=settings.send_buffer_bytes,
        events_per_second=settings.events_per_second,
        event_burst=settings.event_burst,
        sid_prefix=sid_prefix,
        # Workers share one port without sticky sessions: a polling session's
        # requests would reach different processes (docs/scaling.md).
        polling=settings.workers == 1,
        recovery_window=settings.recovery_window,
        # Tests pass a hand-driven pair (the socket layer's timers, holds included).
        clock=clock or time.monotonic,
        call_later=call_later,
    )
    server.may_resume = may_resume  # before the server is anyone else's
    return server


class Gateway:
    """Events in from ``server`` (the socket layer), to the lobby; its effects out
    through ``delivery`` (built by ``create_app``: local, or a cluster node's)."""

    def __init__(
        self,
        settings: Settings,
        lobby: Lobby,
        metrics: Metrics,
        delivery: Delivery,
        server: sio.Server,
    ) -> None:
        self.settings = settings
        self.lobby = lobby
        self.metrics = metrics
        self.sio = server
        self.delivery = delivery
        self._tasks: set[asyncio.Task[None]] = set()
        self._verifier = auth.Verifier(settings.secret)
        # A guest token names the rules its holder accepted; older ones must accept again.
        self._rules_version = guests.RulesDocument.load(settings).version
        # Lines caused by a client's malformed, unknown or refused events, per sid.
        self._client_lines = LogSampler()
        self.draining = False  # set by drain(): no new connections or searches here
        self.sio.on("connect", self._connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._disconnect, namespace=NAMESPACE)
        for event, handler in lobby.handlers().items():
            self.sio.on(event, self._wrap(event, handler), namespace=NAMESPACE)
        self.sio.on("*", self._unknown, namespace=NAMESPACE)
        self.sio.on_recovery(NAMESPACE, held=self._held, resumed=self._resumed)

    async def _connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        if self.draining:
            raise self._refuse(sid, "draining", "Server restarting: connect again")
        network = proxy.network_of(environ.get("REMOTE_ADDR", ""))
        try:
            token = auth.token_from_handshake(auth_data, environ.get("HTTP_AUTHORIZATION"))
            identity = self._verifier.verify(token)
            if identity.guest and identity.rules != self._rules_version:
                raise self._refuse(
                    sid,
                    "rules_changed",
                    Refusal.RULES_CHANGED,  # the page signs out, shows the rules again
                    {"code": "rules-changed", "rulesVersion": self._rules_version},
                )
            self.lobby.moderation.admit(identity)
            effects = await self.lobby.connect(sid, identity, network)
        except AuthError as exc:
            raise self._refuse(sid, exc.reason, f"Authentication failed: {exc.detail}") from None
        except Banned as exc:
            raise self._refuse(
                sid, Refusal.BANNED.lower(), Refusal.BANNED, _ban_payload(exc.until, exc.reason)
            ) from None
        except TooManyConnections as exc:
            if exc.scope == "address" and _loopback(environ.get("REMOTE_ADDR", "")):
                # Behind a reverse proxy that is not declared, every client looks local.
                log.warning(
                    "per-address cap reached by a loopback address: "
                    "behind a reverse proxy, declare it with --trusted-proxy"
                )
            raise self._refuse(
                sid, f"too_many_per_{exc.scope}", f"Too many connections: {exc}"
            ) from None
        except StorageError:
            # Redis (a cluster's shared state) is unreachable: an outage, not a fault of
            # this client, and one line says it (no traceback). The page shows that the
            # service is briefly unavailable and connects again by itself.
            raise self._refuse(
                sid,
                "unavailable",
                "Service briefly unavailable: try again in a few seconds",
                {"code": "unavailable"},
            ) from None
        log.debug("connected", extra={"sid": sid, "user": identity.user_id})
        await self.apply(effects)

    def _refuse(
        self, sid: str, reason: str, message: str, data: Any = None
    ) -> sio.ConnectionRefusedError:
        self.metrics.refused.labels(reason).inc()
        log.warning("connection refused", extra={"sid": sid, "reason": reason})
        return sio.ConnectionRefusedError(message, data)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self._client_lines.forget(sid)
        user = self.lobby.user_of(sid)
        if user is None:
            return  # refused at connect: nothing was registered
        log.debug("disconnected", extra={"sid": sid, "user": user, "reason": str(reason)})
        self.delivery.forget(sid)
        await self.apply(await self.lobby.disconnect(sid))

    async def _held(self, sid: str) -> None:
        await self.apply(await self.lobby.held(sid))

    async def _resumed(self, sid: str) -> None:
        await self.apply(await self.lobby.resumed(sid))

    def _wrap(self, event: str, handler: Handler) -> Callable[..., Awaitable[None]]:
        searches = event in (ClientEvent.FIND_PARTNER, ClientEvent.NEXT)

        async def run(sid: str, *args: Any) -> None:
            if searches and self.draining:
                message = f"{event}: this server is restarting; connect again to search"
                await self.apply([_error_emit(sid, event, "unavailable", message)])
                return
            try:
                effects = await handler(sid, args)
            except (InvalidPayload, IllegalMove, StorageError) as exc:
                effects = [self._error(sid, event, exc)]
            except Exception:
                log.exception("handler failed", extra={"sid": sid, "event": event})
                effects = [_error_emit(sid, event, "internal", f"{event}: internal error")]
            await self.apply(effects)

        return run

    def _error(
        self, sid: str, event: str, exc: InvalidPayload | IllegalMove | StorageError
    ) -> Emit:
        """The one conversion of a refused request to the wire ``error``, counted and logged."""
        user = self.lobby.user_of(sid)
        if isinstance(exc, InvalidPayload):
            self.metrics.invalid.labels(event).inc()
            extra = {"sid": sid, "user": user, "event": event, "problem": exc.message}
            self._client_line(logging.WARNING, "invalid payload", extra)
            return _error_emit(sid, event, exc.code, str(exc))
        if isinstance(exc, IllegalMove):
            self.metrics.refused_requests.labels(event).inc()
            self._client_line(logging.INFO, "refused", {"sid": sid, "user": user, "event": event})
            return _error_emit(sid, event, exc.code, exc.message)
        if user is None:
            # The socket closed while its request was in flight (its shared records went
            # with it, hence the error): nothing failed, and nobody is left to tell.
            log.debug("request of a closed socket", extra={"sid": sid, "event": event})
        else:
            # The shared state is out of reach (Redis down or restarting): one line, no
            # traceback per request; the client is told ``unavailable`` and tries again.
            extra = {"sid": sid, "event": event, "error": str(exc)}
            log.warning("shared state unavailable", extra=extra)
        return _error_emit(sid, event, exc.code, f"{event}: temporarily unavailable, try again")

    async def _unknown(self, event: str | int, sid: str, *args: Any) -> None:
        name = str(event)[:64]  # Socket.IO allows numeric event names too
        self.metrics.invalid.labels("unknown").inc()
        self._client_line(logging.WARNING, "unknown event", {"sid": sid, "event": name})
        await self.apply([_error_emit(sid, name, "unknown_event", f"Unknown event '{name}'")])

    def _client_line(self, level: int, message: str, extra: dict[str, Any]) -> None:
        """Log a line a client caused, if the sampler lets it through (see ``LogSampler``)."""
        if not log.isEnabledFor(level):
            return  # not written anyway: no need to spend the client's allowance
        skipped = self._client_lines.take(extra["sid"], self.lobby.clock.monotonic())
        if skipped is None:
            self.metrics.log_lines_skipped.inc()
            return
        if skipped:
            extra["skipped"] = skipped  # this connection's lines left out since its last one
        log.log(level, message, extra=extra)

    async def apply(self, effects: list[Effect]) -> None:
        """Carry out effects: emits now, candidate flushes on the next loop turn, kicks."""
        for effect in effects:
            if isinstance(effect, Emit):
                await self.delivery.emit(effect.to, effect.event, effect.data, effect.source)
            elif isinstance(effect, FlushLater):
                asyncio.get_running_loop().call_soon(self._start_flush, effect.sid)
            elif isinstance(effect, HangUp):
                self.delivery.forget(effect.sid)
            elif isinstance(effect, Kick):
                payload = _ban_payload(effect.ban.until, effect.ban.reason)
                log.info("kicked", extra={"sid": effect.sid, "user": effect.ban.user_id})
                await self.delivery.emit(effect.sid, ServerEvent.BANNED, payload)
                await self.delivery.disconnect(effect.sid)

    async def drain(self, seconds: float) -> None:
        """Stop taking connections and searches; close every socket once fresh calls negotiated.

        A call matched less than ``NEGOTIATION_SECONDS`` ago is still exchanging
        its offer, answer and candidates through this node: the drain waits for
        those (at most ``seconds``), then disconnects everyone, so that clients
        reconnect (through the load balancer) to another node.
        """
        self.draining = True
        log.info("draining", extra={"seconds": seconds})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline and self.lobby.negotiating(NEGOTIATION_SECONDS):  # noqa: ASYNC110 (polls the lobby's clock, no event to wait on)
            await asyncio.sleep(0.1)
        sids = [sid for sid, _ in self.lobby.ctx.connections.items()]
        for sid in sids:
            await self.delivery.drop(sid)  # as a lost transport: its call can resume
        log.info("drained", extra={"closed": len(sids)})

    def asgi(self, other_asgi_app: Any) -> sio.ASGIApp:
        """The ASGI app: Socket.IO at ``/socket.io/``, everything else to ``other_asgi_app``."""
        return sio.ASGIApp(self.sio, other_asgi_app=other_asgi_app, socketio_path="socket.io")

    def _start_flush(self, sid: str) -> None:
        task = asyncio.ensure_future(self._flush(sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, sid: str) -> None:
        try:
            await self.apply(await self.lobby.relay.flush_candidates(sid))
        except Exception:
            log.exception("candidate flush failed", extra={"sid": sid})
