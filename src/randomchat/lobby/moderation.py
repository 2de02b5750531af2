"""Moderation: bans at the door and while connected, blocks, reports."""

from __future__ import annotations

import logging
from typing import Any

from randomchat.auth import Identity
from randomchat.core.matching import NETWORK
from randomchat.core.moderation import BanList, address_hash, wide_network
from randomchat.db import Ban
from randomchat.db import evidence as stored_evidence
from randomchat.errors import Banned, IllegalMove
from randomchat.lobby.context import REPORT, STORED_REPORTS, Context
from randomchat.lobby.effects import Effect, Emit, Kick
from randomchat.lobby.search import Search
from randomchat.moderation import attach_picture, record_report
from randomchat.protocol import ClientEvent, Empty, ReportAck, ServerEvent, parse_requests
from randomchat.proxy import aggregates
from randomchat.store.shared import CallRecord

log = logging.getLogger(__name__)

BAN_OVERLAP_SECONDS = 60.0
# How often the ban refresh also deletes report pictures past ``Rules.evidence_seconds``;
# the console refuses an older picture at once, so this only bounds how long it lingers.
EVIDENCE_SWEEP_SECONDS = 600.0


class Moderation:
    def __init__(self, ctx: Context, search: Search) -> None:
        self.ctx = ctx
        self.search = search
        self._bans: BanList[Ban] = BanList()  # a copy of the database's, refreshed
        self._bans_synced_at: float | None = None  # wall time of the last ban refresh
        self._evidence_swept_at: float | None = None  # wall time of the last picture sweep

    def admit(self, identity: Identity) -> None:
        """Raise ``Banned`` if this user may not connect now."""
        ban = self._bans.active(identity.user_id, self.ctx.wall())
        if ban is not None:
            raise Banned(ban.until, ban.reason)

    def admit_address(self, address: str) -> None:
        """Raise ``Banned`` if a ban covers this network (keyed hash): for guests."""
        ban = self.address_ban(address)
        if ban is not None:
            raise Banned(ban.until, ban.reason)

    def ban_of(self, user_id: str, address: str | None) -> Ban | None:
        """The ban that keeps this user (or, for a guest, their network) out now."""
        ban = self._bans.active(user_id, self.ctx.wall())
        if ban is None and address is not None:
            ban = self.address_ban(address)
        return ban

    def address_ban(self, address: str) -> Ban | None:
        """The ban that covers this network (keyed hash) now, if any."""
        return self._bans.active_address(address, self.ctx.wall())

    async def refresh_bans(self) -> list[Effect]:
        """Pick up bans made or lifted elsewhere (the CLI, another process); close the
        connections of users banned.

        The first run loads every active ban; later runs read only the bans made or
        ended since the previous run (minus ``BAN_OVERLAP_SECONDS`` for late commits
        and clock skew), so an idle server with many active bans does no work
        proportional to them.
        """
        db = self.ctx.db
        now = self.ctx.wall()
        if self._bans_synced_at is None:
            active = await db.active_bans(now)
            self._bans.replace(active)
        else:
            since = self._bans_synced_at - BAN_OVERLAP_SECONDS
            active, lifted = await db.ban_changes(since, now)
            for user_id in lifted:
                self._bans.remove(user_id)
        self._bans_synced_at = now
        effects: list[Effect] = []
        for ban in active:
            effects += self.kick_user(ban)
        await self.expire_evidence(now)
        return effects

    async def expire_evidence(self, now: float) -> int:
        """Delete report pictures older than ``Rules.evidence_seconds``, at most once per
        ``EVIDENCE_SWEEP_SECONDS``; how many. Every node may run it: a delete is idempotent."""
        last = self._evidence_swept_at
        if last is not None and now - last < EVIDENCE_SWEEP_SECONDS:
            return 0
        self._evidence_swept_at = now
        gone = await stored_evidence.expire(self.ctx.db, now - self.ctx.rules.evidence_seconds)
        if gone:
            log.info("report pictures expired", extra={"count": gone})
        return gone

    def forget_ban(self, user_id: str) -> None:
        self._bans.remove(user_id)

    def kick_user(self, ban: Ban, spare: str | None = None) -> list[Effect]:
        """Remember the ban; effects that tell every local connection of the user, and every
        local guest connection from the banned network, and close them.

        ``spare``: the user whose report made the ban. On a shared network (a home, a
        school, carrier-grade NAT) the one who asked for help keeps their page.
        """
        known = self._bans.active(ban.user_id, self.ctx.wall()) == ban
        self._bans.add(ban)
        sids = self.ctx.connections.sids_of(ban.user_id)
        # A second guest identity of the same person goes too. The scan runs once per ban,
        # not at every refresh that reads the ban again.
        if ban.address_hash and not known:
            guests = self.ctx.connections.guests_at(ban.address_hash)
            others = (s for s in guests if self.ctx.connections[s].user_id != spare)
            sids = sorted({*sids, *others})
        if sids:
            self.ctx.metrics.bans.inc()
        return [Kick(sid, ban) for sid in sids]

    async def block_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        call_id = parse_requests.block_partner(args)
        ctx = self.ctx
        conn = ctx.count(sid)
        call = await self._recent_call(sid, call_id)
        effects = await self._end_for_moderation(sid, call, "block")
        if await ctx.calls.claim(sid, "blocked", call.call_id):
            await self._keep_apart(conn.user_id, call, ctx.wall())
            log.info("blocked", extra={"user": conn.user_id, "blocked": call.partner_user})
        return [*effects, Emit(sid, ServerEvent.BLOCK_PARTNER_ACK, Empty())]

    async def report_partner(self, sid: str, args: tuple[Any, ...]) -> list[Effect]:
        # A bad note or picture refuses the whole report, before any state.
        parsed = parse_requests.report_partner(args)
        reason, note, picture = parsed.reason, parsed.note, parsed.picture
        ctx = self.ctx
        conn = ctx.count(sid)
        call = await self._recent_call(sid, parsed.call_id)
        if call.reported:
            raise IllegalMove("This call was already reported")
        limited = await ctx.limited(REPORT, sid, conn, ClientEvent.REPORT_PARTNER)
        if conn.guest and not limited:
            # A guest network's daily allowance, counted for its /64 and its /56 and /48.
            for unit in aggregates(conn.network):
                key = address_hash(ctx.rules.address_key, unit)
                limited = await ctx.limited(
                    STORED_REPORTS, sid, conn, ClientEvent.REPORT_PARTNER, key=key
                )
                if limited:
                    break
        if limited:
            return limited
        # By the call's id: the user, back in the queue, may have been matched meanwhile.
        if not await ctx.calls.claim(sid, "reported", call.call_id):
            raise IllegalMove("This call was already reported")
        effects = await self._end_for_moderation(sid, call, "report")
        now = ctx.wall()
        age = now - conn.issued_at if conn.guest and conn.issued_at is not None else None
        report, ban = await record_report(
            ctx.db,
            ctx.rules,
            conn.user_id,
            call.partner_user,
            reason,
            note,
            list(call.chat),
            now,
            reporter_address=address_hash(ctx.rules.address_key, wide_network(conn.network)),
            reported_address=call.partner_address,
            age=age,
            normal_calls=ctx.conversations.count(conn.user_id),
            reported_name=call.partner_name,
        )
        ctx.metrics.reports.labels(reason).inc()
        log.info(
            "reported",
            extra={
                "user": conn.user_id,
                "reported": call.partner_user,
                "reason": reason,
                "call": call.call_id,
            },
        )
        ack = ReportAck(reportId=report.id)
        if picture is not None:
            ack["picture"] = await attach_picture(ctx.db, report, picture, now)
        effects.append(Emit(sid, ServerEvent.REPORT_PARTNER_ACK, ack))
        # A report also blocks: the two are never paired again.
        if await ctx.calls.claim(sid, "blocked", call.call_id):
            await self._keep_apart(conn.user_id, call, now)
        if ban is not None:
            effects += self.kick_user(ban, spare=conn.user_id)
        return effects

    async def _keep_apart(self, user_id: str, call: CallRecord, now: float) -> None:
        """Block the partner: their user (for a guest, their device: ``randomchat.devices``)
        and, for a guest, their network, so that a private window does not bring them back."""
        await self.ctx.blocks.add(user_id, call.partner_user, now)
        if call.partner_address:
            await self.ctx.blocks.add(user_id, NETWORK + call.partner_address, now)

    async def _recent_call(self, sid: str, call_id: str | None) -> CallRecord:
        """The call a report or block is about: the one named (one of this socket's last
        few), or without a name the current or last one, if it ended recently enough
        (``core.recentcalls``). Another user's call id names nothing here."""
        call = await self.ctx.calls.recent(sid, call_id, self.ctx.clock.monotonic())
        if call is None and call_id is None:
            raise IllegalMove("No partner in this call or the last one")
        if call is None:
            raise IllegalMove("No such call of yours in the last few minutes")
        return call

    async def _end_for_moderation(self, sid: str, call: CallRecord, why: str) -> list[Effect]:
        """End the call if it is still on; the partner sees an ordinary ``partner-left``."""
        if await self.ctx.store.partner_of(sid) == call.partner_sid:
            return await self.search.end(sid, why)
        return []
