"""Calls that outlive the server: the resume ticket of a match, and ``resume-call``.

A server restart loses every socket and pair, but not the media: it flows peer
to peer. So each ``match-found`` carries a ``callId`` and a ``resume`` ticket:
``<payload>.<mac>``, both base64url, where the payload is the JSON
``{"c": callId, "u": [user, user], "r": relay-only, "e": expiry}`` and the mac
is HMAC-SHA256 under a key derived from the server's secret (which survives a
restart: it is in ``--data-dir`` or the configuration). The ticket is opaque
to clients and useless to anyone but the two users: ``resume-call`` checks the
mac, the expiry, that the callId matches and that the sender is one of the two.

After reconnecting as a new socket, each side whose peer connection is still
up sends ``resume-call {callId, resume}``. The first is kept waiting (``Pending``,
per process, for ``window`` seconds); when the other one arrives, the two idle
sockets are paired again (``Store.pair``), their call record restored (relay-only
included, so an ICE restart stays relay-only) and both get ``call-resumed``.
One alone past the window gets ``partner-disconnected``, as when a partner's
socket is gone for good.

On a cluster (``shared``: ``store.redis_resume.RedisResumes``) the two new sockets
may be on two nodes: the first is written to Redis under the call id, for the
window, and the second, on any node, takes it and pairs the two in one script.
Its node tells both; the other side's ``call-resumed`` goes through that side's
node's inbox carrying its call record (as a cross-node ``match-found`` does),
which ``arriving`` takes off and starts there. Each node still keeps its own
waiting sockets here (``Pending``), to tell them when the window is over, and
withdraws from Redis the entries of those that gave up (``forget``) with the next
``expired`` (every 0.25 s): no round trip at disconnect.

Bounds: a ticket is at most ``MAX_TICKET`` characters (checked before any
decoding); one pending resume per socket (a second replaces the first); pending
entries die with their socket or their window; the withdrawals waiting for the
next ``expired`` are at most ``MAX_WITHDRAWN`` (past it, entries expire by
themselves with the window).

The other way back, Socket.IO's connection-state recovery (a dropped transport
within the window, same socket id), is guarded here too: ``recovery_guard`` is
the socket layer's owner check (``sio.recovery``), so a held socket goes back
only to a token of the user that held it. A ticket cannot be used by a third
user either: ``resume-call`` checks the sender against the two users it names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from randomchat import auth
from randomchat.core.state import Phase
from randomchat.errors import AuthError, IllegalMove, StorageError
from randomchat.lobby.arrival import RECORD, record_of
from randomchat.lobby.connections import Connection
from randomchat.lobby.context import Context
from randomchat.lobby.effects import Effect, Emit
from randomchat.protocol import MAX_TICKET, CallResumed, Empty, ServerEvent, parse_requests
from randomchat.store.base import Member
from randomchat.store.shared import CallRecord

log = logging.getLogger(__name__)

TICKET_TTL = 6 * 3600.0  # seconds: a call longer than this cannot be resumed
MAX_WITHDRAWN = 10_000  # entries to withdraw from Redis at the next ``expired``
WAITING = "waiting"  # SharedResumes.offer: the sid waits now


class SharedResumes(Protocol):
    """The pending resumes of a cluster (``store.redis_resume``)."""

    async def offer(self, call_id: str, me: Member, window: float) -> Member | str:
        """The side that waited, now paired with ``me``; else ``WAITING`` or ``"gone"``."""
        ...

    async def withdraw(self, entries: Sequence[tuple[str, str]]) -> None: ...


# The key is derived from the server's secret in ``rules`` (``Rules.resume_key``).


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_call_id() -> str:
    return secrets.token_urlsafe(12)


def mint(key: bytes, call_id: str, users: tuple[str, str], relay: bool, expires: float) -> str:
    """The ticket for one call (both sides get the same one)."""
    payload = json.dumps(
        {"c": call_id, "u": sorted(users), "r": relay, "e": int(expires)}, separators=(",", ":")
    ).encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


@dataclass(frozen=True, slots=True)
class Ticket:
    call_id: str
    users: tuple[str, str]
    relay: bool


def verify(key: bytes, ticket: str, now: float) -> Ticket | None:
    """The ticket's claims if its mac is ours and it has not expired; else None."""
    if len(ticket) > MAX_TICKET or ticket.count(".") != 1:
        return None
    head, tail = ticket.split(".")
    try:
        payload, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        return None
    claims = json.loads(payload)  # ours (the mac matched): well-formed
    if claims["e"] < now:
        return None
    return Ticket(claims["c"], (claims["u"][0], claims["u"][1]), bool(claims["r"]))


@dataclass(slots=True)
class Pending:
    sid: str
    user_id: str
    ticket: Ticket
    deadline: float  # monotonic seconds


def recovery_guard(
    ctx: Context, verifier: auth.Verifier
) -> Callable[[str, dict[str, Any], Any], bool]:
    """``sio.Server.may_resume``: a held socket's pid works only with its own user's token.

    Any other claimant (another user, or no valid token at all) is refused: it
    connects afresh (and its connect handler judges its token), the held socket
    stays for its user, and the refusal is counted (``refused_requests`` with
    event ``recover``) and logged.
    """

    def may_resume(sid: str, environ: dict[str, Any], auth_data: Any) -> bool:
        owner = ctx.connections.get(sid)
        try:
            token = auth.token_from_handshake(auth_data, environ.get("HTTP_AUTHORIZATION"))
            claimant: str | None = verifier.verify(token).user_id
        except AuthError:
            claimant = None
        if owner is not None and claimant == owner.user_id:
            return True
        ctx.metrics.refused_requests.labels("recover").inc()
        log.warning(
            "resume refused: the socket is another user's",
            extra={"sid": sid, "user": claimant, "owner": owner.user_id if owner else None},
        )
        return False

    return may_resume


def ticket_for(ctx: Context, call_id: str, users: tuple[str, str], relay: bool) -> str:
    """A new call's ticket, valid for ``TICKET_TTL``."""
    return mint(ctx.rules.resume_key, call_id, users, relay, ctx.wall() + TICKET_TTL)


class Resume:
    def __init__(self, ctx: Context, shared: SharedResumes | None = None) -> None:
        self.ctx = ctx
        self.key = ctx.rules.resume_key
        self.window = ctx.rules.resume_window
        self._by_call: dict[str, Pending] = {}
        self._by_sid: dict[str, str] = {}  # sid -> call id
        self.shared = shared  # a cluster's, findable from every node (lobby.Shared)
        self._withdrawn: list[tuple[str, str]] = []  # (call id, sid) gone from here

    def __len__(self) -> int:
        return len(self._by_call)

    async def resume_call(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        call_id, raw = parse_requests.resume_call(args)
        conn = self.ctx.count(sid)
        ticket = verify(self.key, raw, self.ctx.wall())
        if ticket is None or ticket.call_id != call_id or conn.user_id not in ticket.users:
            raise IllegalMove("This call cannot be resumed")
        phase = await self.ctx.store.phase_of(sid)
        if phase is not Phase.IDLE:
            raise IllegalMove(
                "Already in a match" if phase is Phase.MATCHED else "Already in queue"
            )
        now = self.ctx.clock.monotonic()
        if self.shared is not None:
            return await self._resume_shared(sid, conn, ticket, now)
        other = self._by_call.get(call_id)
        if other is None or other.deadline < now or other.user_id == conn.user_id:
            if other is not None and other.deadline < now:
                self._drop(other)
            self.forget(sid)
            pending = Pending(sid, conn.user_id, ticket, now + self.window)
            if other is not None and other.user_id == conn.user_id:
                self._drop(other)  # the same user's newer socket takes its place
            self._by_call[call_id] = pending
            self._by_sid[sid] = call_id
            return []
        self._drop(other)
        if not await self.ctx.store.pair(other.sid, sid):
            # The other socket left or searched meanwhile (it was told nothing yet).
            return [Emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty())]
        # They met (again): the new process's repeat rules must know, as after a match.
        await self.ctx.meetings.record(other.user_id, conn.user_id, now)
        mine = CallRecord(other.sid, other.user_id, ticket.relay, call_id=call_id)
        theirs = CallRecord(sid, conn.user_id, ticket.relay, call_id=call_id)
        await self.ctx.calls.start(sid, mine)
        await self.ctx.calls.start(other.sid, theirs)
        resumed = CallResumed(callId=call_id)
        return [
            Emit(other.sid, ServerEvent.CALL_RESUMED, resumed, sid),
            Emit(sid, ServerEvent.CALL_RESUMED, resumed, other.sid),
        ]

    async def _resume_shared(
        self, sid: str, conn: Connection, ticket: Ticket, now: float
    ) -> list[Effect]:
        """``resume_call`` on a cluster: the side that waited may be on any node."""
        assert self.shared is not None
        call_id = ticket.call_id
        me = Member(sid, conn.user_id, conn.username, conn.guest_address)
        found = await self.shared.offer(call_id, me, self.window)
        here = self._by_call.get(call_id)
        if found == WAITING:
            if self._by_sid.get(sid) != call_id:
                self.forget(sid)  # it waited for another call: that entry is withdrawn
            effects: list[Effect] = []
            if here is not None:  # itself again, or the same user's older socket: replaced
                self._drop(here)
                if here.user_id != conn.user_id:  # the other side, whose entry ran out first
                    effects = await self._alone([here])
            self._by_call[call_id] = Pending(sid, conn.user_id, ticket, now + self.window)
            self._by_sid[sid] = call_id
            return effects
        if not isinstance(found, Member):  # it searched meanwhile, or its node died
            return [Emit(sid, ServerEvent.PARTNER_DISCONNECTED, Empty())]
        if here is not None and here.sid == found.sid:
            self._drop(here)
        await self.ctx.meetings.record(found.user_id, conn.user_id, now)
        mine = CallRecord(
            found.sid,
            found.user_id,
            ticket.relay,
            found.address,
            call_id=call_id,
            partner_name=found.username,
        )
        theirs = CallRecord(
            sid,
            conn.user_id,
            ticket.relay,
            conn.guest_address,
            call_id=call_id,
            partner_name=conn.username,
        )
        await self.ctx.calls.start(sid, mine)
        resumed = CallResumed(callId=call_id)
        sent: Any = resumed
        if found.sid in self.ctx.connections:
            await self.ctx.calls.start(found.sid, theirs)
        else:  # its node starts the record as the event arrives there (``arriving``)
            fields = [theirs.partner_sid, theirs.partner_user, theirs.relay]
            sent = {**resumed, RECORD: [*fields, theirs.partner_address, call_id, conn.username]}
        return [
            Emit(found.sid, ServerEvent.CALL_RESUMED, sent, sid),
            Emit(sid, ServerEvent.CALL_RESUMED, resumed, found.sid),
        ]

    async def arriving(self, sid: str, data: Any) -> Any:
        """A ``call-resumed`` from the node that paired ``sid`` (waiting here) with a socket
        there: the call record it carries is taken off and started here."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        record = record_of(data.pop(RECORD, None))
        if record is not None and sid in self.ctx.connections:
            pending = self._by_call.get(record.call_id or "")
            if pending is not None and pending.sid == sid:
                self._drop(pending)
            await self.ctx.calls.start(sid, record, self.ctx.clock.monotonic())
        return data

    async def expired(self) -> list[Effect]:
        """Sides whose partner did not come back within the window (and still wait for it)."""
        await self._withdraw()
        now = self.ctx.clock.monotonic()
        gone = [p for p in self._by_call.values() if p.deadline < now]
        for pending in gone:
            self._drop(pending)
            self._withdrawing(pending)
        return await self._alone(gone)

    async def _alone(self, gone: list[Pending]) -> list[Effect]:
        """Each that still waits is told its partner will not come back."""
        effects: list[Effect] = []
        for pending in gone:
            if await self.ctx.store.phase_of(pending.sid) is Phase.IDLE:
                effects.append(Emit(pending.sid, ServerEvent.PARTNER_DISCONNECTED, Empty()))
        return effects

    def forget(self, sid: str) -> None:
        """``sid`` disconnected, searched or left: it no longer waits for its partner."""
        call_id = self._by_sid.get(sid)
        if call_id is not None:
            pending = self._by_call.get(call_id)
            if pending is not None and pending.sid == sid:
                self._drop(pending)
                self._withdrawing(pending)
            self._by_sid.pop(sid, None)

    def _withdrawing(self, pending: Pending) -> None:
        """Its entry in Redis is to go (with the next ``expired``): nobody may pair with it."""
        if self.shared is not None and len(self._withdrawn) < MAX_WITHDRAWN:
            self._withdrawn.append((pending.ticket.call_id, pending.sid))

    async def _withdraw(self) -> None:
        if self.shared is None or not self._withdrawn:
            return
        batch, self._withdrawn = self._withdrawn, []
        try:
            await self.shared.withdraw(batch)
        except StorageError as exc:  # they expire with the window instead
            log.warning("pending resumes not withdrawn", extra={"error": str(exc)})

    def _drop(self, pending: Pending) -> None:
        if self._by_call.get(pending.ticket.call_id) is pending:
            del self._by_call[pending.ticket.call_id]
        self._by_sid.pop(pending.sid, None)
