"""``randomchat doctor``: checks a deployment from outside, one line per check.

Each check says ``ok``, ``FAIL`` (with what to fix) or ``skipped`` (with why), and the
summary counts each: a skipped check was not checked, so it never reads as passed
(``--strict`` fails on it). The call
check starts an echo bot in this process and pairs with it through a fresh, strict
interest tag, so it never meets a real user waiting in the queue. With TURN
configured the call asks for the privacy mode (relay only) unless ``relay=False``,
so that a passing call proves the TURN path end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import socketio  # type: ignore[import-untyped]

from randomchat.client import BOT_SUFFIX
from randomchat.client.bot import EchoBot
from randomchat.client.ice import ProbeError, stun_binding, turn_allocation
from randomchat.client.peer import CallReport, Media, Peer
from randomchat.client.session import (
    IceSettings,
    JoinError,
    fetch_ice_settings,
    guest_session,
)
from randomchat.protocol import NAMESPACE

Status = Literal["ok", "FAIL", "skipped"]
STATUSES: tuple[Status, ...] = ("ok", "FAIL", "skipped")
DOCTOR_USERNAME = "Doctor" + BOT_SUFFIX
CALL_WITHIN = 25.0
MEDIA_WITHIN = 15.0
# enough to show frames flow both ways, not a bandwidth test
MIN_VIDEO_FRAMES = 10
MIN_AUDIO_FRAMES = 25
# Probe at most this many TURN URLs (each is one allocation).
MAX_TURN_PROBES = 4


def turn_path(url: str) -> str:
    """``udp``, ``tcp`` or ``tls``: the path a TURN URL takes from here."""
    if url.startswith("turns:"):
        return "tls"
    return "tcp" if "transport=tcp" in url else "udp"


def turn_advice(paths: dict[str, bool]) -> str:
    """One sentence on which TURN paths work from here, when some do and some do not."""
    working = [p for p in ("udp", "tcp", "tls") if paths.get(p)]
    failing = [p for p in ("udp", "tcp", "tls") if p in paths and not paths[p]]
    if not working or not failing:
        return ""
    names = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}
    blocked = " and ".join(names[p] for p in failing)
    works = " and ".join(f"TURN over {names[p]}" for p in working)
    verb = "works" if len(working) == 1 else "work"
    return f"{blocked} {'is' if len(failing) == 1 else 'are'} blocked from here; {works} {verb}"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<7}  {self.name:<22} {self.detail}"
        if self.status == "FAIL" and self.fix:
            text += f"\n      fix: {self.fix}"
        return text


@dataclass
class Doctor:
    url: str
    token: str | None = None
    relay: bool | None = None  # None: relay only when TURN is configured
    show: Callable[[Check], None] | None = None

    def __post_init__(self) -> None:
        self.checks: list[Check] = []
        self.turn_paths: dict[str, bool] = {}  # "udp", "tcp", "tls": whether it allocated

    @property
    def failed(self) -> bool:
        return any(c.status == "FAIL" for c in self.checks)

    def summary(self, strict: bool = False) -> str:
        """The last line: what passed, failed and was not checked, never "all passed"
        when something was skipped (a deployment without STUN or TURN is not proven)."""
        named = {status: [c.name for c in self.checks if c.status == status] for status in STATUSES}
        passed, failed, skipped = named["ok"], named["FAIL"], named["skipped"]
        if not failed and not skipped:
            return f"all {len(passed)} checks passed"
        parts = [f"{len(passed)} passed"]
        if failed:
            parts.append(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        if skipped:
            strictly = " (failed: --strict)" if strict else ""
            parts.append(f"{len(skipped)} skipped{strictly}: not checked: {', '.join(skipped)}")
        return "; ".join(parts)

    def exit_code(self, strict: bool = False) -> int:
        """1 when a check failed, or with ``strict`` when one was skipped; else 0."""
        skipped = any(c.status == "skipped" for c in self.checks)
        return 1 if self.failed or (strict and skipped) else 0

    def _add(self, check: Check) -> Check:
        self.checks.append(check)
        if self.show is not None:
            self.show(check)
        return check

    async def run(self) -> list[Check]:
        """Run every check in order; later checks are skipped when what they need failed."""
        token = await self._token()
        if token is None:
            for name in ("websocket", "ICE servers", "call with echo bot"):
                self._add(Check(name, "skipped", "needs a token"))
            return self.checks
        websocket_ok = await self._websocket(token)
        ice = await self._ice_servers(token)
        await self._stun(ice)
        await self._turn(ice)
        if websocket_ok:
            await self._call(ice)
        else:
            self._add(Check("call with echo bot", "skipped", "needs the websocket"))
        return self.checks

    async def _token(self) -> str | None:
        if self.token is not None:
            self._add(Check("token", "ok", "given with --token"))
            return self.token
        try:
            session = await guest_session(self.url, DOCTOR_USERNAME)
        except JoinError as exc:
            fix = (
                "is the URL right and the server up? With --no-guest-sessions, pass --token "
                "(randomchat token prints one)"
            )
            self._add(Check("guest token", "FAIL", str(exc), fix))
            return None
        self._add(Check("guest token", "ok", f"POST /api/session gave user {session.user_id}"))
        return session.token

    async def _websocket(self, token: str) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                self.url,
                namespaces=[NAMESPACE],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=10,
            )
        except Exception as exc:
            fix = (
                "a proxy in front must pass WebSocket upgrades for /socket.io/ "
                "(nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
                'proxy_set_header Connection "upgrade")'
            )
            self._add(Check("websocket", "FAIL", f"{NAMESPACE}: {exc}", fix))
            return False
        finally:
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._add(Check("websocket", "ok", f"connected to {NAMESPACE} over a WebSocket"))
        return True

    async def _ice_servers(self, token: str) -> IceSettings:
        try:
            ice = await fetch_ice_settings(self.url, token)
        except JoinError as exc:
            self._add(Check("ICE servers", "FAIL", str(exc), "see the server's log"))
            return IceSettings()
        if ice is None:
            self._add(Check("ICE servers", "skipped", "no /api/ice-servers (an older server)"))
            return IceSettings()
        stun, turn = ice.urls("stun", "stuns"), ice.urls("turn", "turns")
        detail = f"{len(stun)} STUN, {len(turn)} TURN URL(s), policy {ice.policy}"
        self._add(Check("ICE servers", "ok", detail))
        return ice

    async def _stun(self, ice: IceSettings) -> None:
        urls = ice.urls("stun")
        if not urls:
            self._add(Check("STUN binding", "skipped", "no --stun-url configured"))
            return
        url = urls[0][0]
        try:
            host, port = await stun_binding(url)
        except ProbeError as exc:
            fix = "is the STUN server up and UDP open to it? (--stun-url none turns STUN off)"
            self._add(Check("STUN binding", "FAIL", f"{url}: {exc}", fix))
            return
        self._add(Check("STUN binding", "ok", f"{url}: we are {host}:{port}"))

    async def _turn(self, ice: IceSettings) -> None:
        """Each TURN URL on its own (one allocation each), then what that says about the
        network here: a path that fails while another works is named, as a browser
        would fall back to the one that works."""
        urls = ice.urls("turn", "turns")
        if not urls:
            detail = "no --turn-url configured: calls across some NATs cannot connect"
            self._add(Check("TURN allocation", "skipped", detail))
            return
        paths: dict[str, bool] = {}
        for url, server in urls[:MAX_TURN_PROBES]:
            username, credential = server.get("username"), server.get("credential")
            path = turn_path(url)
            name = f"TURN {path}"
            if not isinstance(username, str) or not isinstance(credential, str):
                self._add(Check(name, "FAIL", f"{url}: no credentials", "set --turn-secret"))
                continue
            try:
                host, port = await turn_allocation(url, username, credential)
            except ProbeError as exc:
                paths[path] = paths.get(path, False)
                fix = (
                    "coturn refused the credentials: --turn-secret must equal coturn's "
                    "static-auth-secret (with use-auth-secret), and the clocks must agree"
                    if "401" in str(exc)
                    else f"is coturn running and reachable there over {path} (a firewall here "
                    "or in front of coturn)?"
                )
                self._add(Check(name, "FAIL", f"{url}: {exc}", fix))
                continue
            paths[path] = True
            self._add(Check(name, "ok", f"{url}: relay allocated at {host}:{port}"))
        advice = turn_advice(paths)
        if advice:
            self._add(Check("TURN paths", "ok", advice))
        self.turn_paths = paths

    async def _call(self, ice: IceSettings) -> None:
        has_turn = bool(ice.urls("turn", "turns"))
        relay = self.relay if self.relay is not None else has_turn
        if relay and not has_turn:
            # The server refuses a privacy search without TURN (privacy_unavailable).
            fix = "configure --turn-url and --turn-secret, or run without --relay"
            self._add(Check("call with echo bot", "FAIL", "relay only: no TURN server", fix))
            self._add(Check("media both ways", "skipped", "no call"))
            return
        tag = "doctor-" + secrets.token_hex(6)
        bot = EchoBot(self.url, interests=(tag,), strict=True, count=1)
        bot_task = asyncio.ensure_future(bot.run())
        peer = Peer(
            self.url,
            username=DOCTOR_USERNAME,
            token=None,
            media=Media("pattern", width=160, height=120),
            interests=(tag,),
            strict=True,
            privacy=relay,
        )
        report: CallReport | None = None
        try:
            async with asyncio.timeout(15):
                await asyncio.wait(
                    {asyncio.ensure_future(bot.ready.wait()), bot_task},
                    return_when=asyncio.FIRST_COMPLETED,
                )
            if bot_task.done():
                bot_task.result()  # raises why the bot could not join
            await peer.connect()
            await peer.search()
            async with asyncio.timeout(15):
                call = await peer.next_call()
            connected = await call.wait_connected(CALL_WITHIN)
            if connected:
                await call.wait_media(
                    video=MIN_VIDEO_FRAMES, audio=MIN_AUDIO_FRAMES, within=MEDIA_WITHIN
                )
            report = call.report()
        except (JoinError, TimeoutError) as exc:
            why = str(exc) or "no match within 15 s"
            self._add(Check("call with echo bot", "FAIL", why, "see the server's log"))
        finally:
            await peer.close()
            with contextlib.suppress(TimeoutError, Exception):
                async with asyncio.timeout(5):
                    await bot_task
            bot_task.cancel()
        if report is None:
            return
        self._report_call(report, bot.reports[0] if bot.reports else None, relay)

    def _report_call(self, ours: CallReport, bots: CallReport | None, relay: bool) -> None:
        mode = "relay only" if relay else f"policy {ours.policy}"
        if ours.connect_ms is None:
            working = [p for p, ok in self.turn_paths.items() if ok]
            if relay and not working and self.turn_paths:
                fix = "no TURN path works from here: see the TURN lines above"
            elif relay or working:
                fix = (
                    "TURN allocates from here but the call did not connect: is the echo "
                    "bot's side reachable, and does coturn refuse the peers' relay "
                    "addresses (denied-peer-ip must not cover its own relay address)?"
                )
            else:
                fix = "no candidate pair worked: configure TURN (--turn-url, --turn-secret)"
            self._add(Check("call with echo bot", "FAIL", f"{mode}: {ours.failure}", fix))
            self._add(Check("media both ways", "skipped", "no call"))
            return
        self._add(Check("call with echo bot", "ok", f"{mode}: connected in {ours.connect_ms} ms"))
        echoed = bots.video_frames if bots else 0
        detail = (
            f"echo bot got {echoed} video frames; we got {ours.video_frames} video, "
            f"{ours.audio_frames} audio frames back (level {ours.audio_level:.2f})"
        )
        flowing = ours.video_frames >= MIN_VIDEO_FRAMES and ours.audio_frames >= MIN_AUDIO_FRAMES
        fix = "media does not pass: a firewall between the peers or the TURN relay ports"
        self._add(Check("media both ways", "ok" if flowing else "FAIL", detail, fix))
        pair = f"{ours.local_candidate} -> {ours.remote_candidate}"
        if relay and ours.local_candidate != "relay":
            fix = "the relay-only call did not go through TURN: check --ice-policy"
            self._add(Check("selected candidates", "FAIL", pair, fix))
        else:
            self._add(Check("selected candidates", "ok", pair))
