"""Issue 15 on a real server: who meets whom again, modes, media state, the rules gate,
names, the proof of work, address bans, and report spam.

Clients on this machine are given addresses of their own through a trusted proxy
(``--trusted-proxy 127.0.0.1`` and ``X-Forwarded-For``), as behind nginx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import socketio

from randomchat.config import Settings
from randomchat.guests import RulesDocument
from tests.conftest import SECRET
from tests.powsolve import solve
from tests.server.harness import NS, Live, Peer, live_server, make_token

pytestmark = pytest.mark.server

RULES = RulesDocument.load(Settings()).version
PROXY = {"trusted_proxies": ("127.0.0.1",)}


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def session(live: Live, address: str, name: str = "Guest", **extra: Any) -> httpx.Response:
    body = {"username": name, "rulesVersion": RULES, **extra}
    async with httpx.AsyncClient(base_url=live.url) as http:
        return await http.post("/api/session", json=body, headers=at(address))


async def guest(live: Live, address: str, name: str = "Guest") -> str:
    resp = await session(live, address, name)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


async def peer(live: Live, name: str, address: str, token: str | None = None) -> Peer:
    p = await Peer(name).connect(live.url, token=token, headers=at(address))
    await p.expect("connection-quality")
    return p


async def waiting(p: Peer, options: dict[str, Any] | None = None) -> None:
    await (p.emit("find-partner", options) if options else p.emit_raw("find-partner"))
    await p.expect("waiting-for-partner")


async def meet(waiter: Peer, seeker: Peer, options: dict[str, Any] | None = None) -> Any:
    await waiting(waiter, options)
    await (seeker.emit("find-partner", options) if options else seeker.emit_raw("find-partner"))
    found = await seeker.expect("match-found")
    await waiter.expect("match-found")
    return found


async def connect_error(live: Live, token: str, address: str) -> Any:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            live.url,
            namespaces=[NS],
            transports=["websocket"],
            auth={"token": token},
            headers=at(address),
            wait_timeout=5,
        )
    await client.disconnect()
    assert len(errors) == 1
    return errors[0]


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    async with live_server(**PROXY) as server:
        yield server


# -- skip and report keep people apart ---------------------------------------------------


@pytest.mark.parametrize("how", ["next", "leave", "partner-gone", "report", "block"])
async def test_a_pair_does_not_meet_again_after_any_way_out(live: Live, how: str) -> None:
    a = await peer(live, "a", "198.51.100.1")
    b = await peer(live, "b", "198.51.100.2")
    await meet(a, b)
    if how == "next":
        await b.emit_raw("next")
        await a.expect("partner-left")
        await b.expect("waiting-for-partner")
    elif how == "leave":
        await b.emit_raw("leave")
        await a.expect("partner-left")
        await waiting(b)
    elif how == "partner-gone":
        await b.close()
        await a.expect("partner-disconnected")
        b = await peer(live, "b", "198.51.100.2")  # the same user, a new connection
        await waiting(b)
    elif how == "report":
        await b.emit("report-partner", {"reason": "spam"})
        await a.expect("partner-left")
        await b.expect("report-partner-ack")
        await waiting(b)
    else:
        await b.emit_raw("block-partner")
        await a.expect("partner-left")
        await b.expect("block-partner-ack")
        await waiting(b)
    # Nobody else online: the two keep waiting (an exclusion, not a preference).
    await a.emit_raw("find-partner")
    await a.expect("waiting-for-partner")
    await a.quiet(0.3)
    await b.quiet(0.1)
    # A third user meets the one who waited longest.
    c = await peer(live, "c", "198.51.100.3")
    await c.emit_raw("find-partner")
    assert (await c.expect("match-found"))["partnerName"] == "b"
    assert (await b.expect("match-found"))["partnerName"] == "c"
    for p in (a, b, c):
        await p.close()


async def test_after_the_window_a_pair_may_meet_again_unless_reported() -> None:
    async with live_server(repeat_window_minutes=0, **PROXY) as live:
        a = await peer(live, "a", "198.51.100.1")
        b = await peer(live, "b", "198.51.100.2")
        await meet(a, b)
        await b.emit_raw("next")
        await a.expect("partner-left")
        await b.expect("waiting-for-partner")
        await a.emit_raw("find-partner")
        assert (await a.expect("match-found"))["partnerName"] == "b"  # window 0: allowed
        await b.expect("match-found")
        await b.emit("report-partner", {"reason": "harassment"})  # a report blocks for good
        await a.expect("partner-left")
        await b.expect("report-partner-ack")
        await waiting(b)
        await a.emit_raw("find-partner")
        await a.expect("waiting-for-partner")
        await a.quiet(0.3)
        for p in (a, b):
            await p.close()


# -- modes and media state -----------------------------------------------------------------


async def test_modes_meet_only_their_own_and_a_bare_search_is_video(live: Live) -> None:
    text1 = await peer(live, "text1", "198.51.100.1")
    video = await peer(live, "video", "198.51.100.2")
    await waiting(text1, {"mode": "text"})
    await video.emit_raw("find-partner")  # the seed's bare search: a video user
    await video.expect("waiting-for-partner")
    text2 = await peer(live, "text2", "198.51.100.3")
    await text2.emit("find-partner", {"mode": "text"})
    found = await text2.expect("match-found")
    assert found["partnerName"] == "text1" and found["mode"] == "text"
    assert (await text1.expect("match-found"))["mode"] == "text"
    seed = await peer(live, "seed", "198.51.100.4")
    await seed.emit_raw("find-partner")
    found = await seed.expect("match-found")
    assert found["partnerName"] == "video" and found["mode"] == "video"
    await video.expect("match-found")
    await text2.emit("find-partner", {"mode": "audio"})
    assert (await text2.expect("error"))["code"] == "invalid_payload"
    for p in (text1, text2, video, seed):
        await p.close()


async def test_media_state_is_relayed_to_the_partner_only(live: Live) -> None:
    a = await peer(live, "a", "198.51.100.1")
    await a.emit("media-state", {"video": False, "audio": True})  # no partner: nothing
    await a.quiet(0.2)
    b = await peer(live, "b", "198.51.100.2")
    await meet(a, b)
    await b.emit("media-state", {"video": False, "audio": True})
    assert await a.expect("media-state") == {"video": False, "audio": True}
    await b.emit("media-state", {"video": "off"})
    error = await b.expect("error")
    assert error["code"] == "invalid_payload" and error["event"] == "media-state"
    for _ in range(30):  # past the rate: dropped quietly, never an error
        await b.emit("media-state", {"video": True, "audio": True})
    got = 0
    while True:
        try:
            event, _ = await asyncio.wait_for(a.events.get(), 0.5)
        except TimeoutError:
            break
        assert event == "media-state"
        got += 1
    assert 1 <= got < 30
    await b.quiet(0.1)
    for p in (a, b):
        await p.close()


# -- the rules gate and names ---------------------------------------------------------------


async def test_rules_are_served_and_required_for_a_guest_session(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        rules = (await http.get("/api/rules")).json()
    assert rules["version"] == RULES and rules["minimumAge"] == 18 and rules["nicknames"]
    assert "18" in rules["text"]
    for body in ({"username": "Ann"}, {"username": "Ann", "rulesVersion": "0" * 12}):
        async with httpx.AsyncClient(base_url=live.url) as http:
            resp = await http.post("/api/session", json=body)
        assert resp.status_code == 400
        assert resp.json()["code"] == "rules-not-accepted"
        assert resp.json()["rulesVersion"] == RULES
    resp = await session(live, "198.51.100.1", "Ann")
    claims = jwt.decode(resp.json()["token"], SECRET, algorithms=["HS256"])
    assert claims["guest"] is True and claims["rules"] == RULES


async def test_names_are_filtered_and_nicknames_can_be_off(live: Live) -> None:
    resp = await session(live, "198.51.100.1", "B1TCH")
    assert resp.status_code == 400 and resp.json()["code"] == "name-refused"
    # A name in an operator's token is not refused but shown to strangers as Stranger.
    rude = await Peer("rude").connect(live.url, token=make_token("xXfuckXx", sub="u-rude"))
    await rude.expect("connection-quality")
    nice = await peer(live, "nice", "198.51.100.2")
    found = await meet(rude, nice)
    assert found["partnerName"] == "Stranger"
    for p in (rude, nice):
        await p.close()
    async with live_server(nicknames="off", **PROXY) as off:
        resp = await session(off, "198.51.100.1", "Alice")
        assert resp.status_code == 201 and resp.json()["username"] == "Stranger"
        async with httpx.AsyncClient(base_url=off.url) as http:
            assert (await http.get("/api/rules")).json()["nicknames"] is False
            bare = await http.post("/api/session", json={"rulesVersion": RULES})
        assert bare.status_code == 201
        a = await Peer("a").connect(off.url, token=make_token("Alice", sub="u-a"))
        b = await Peer("b").connect(off.url, token=make_token("Bob", sub="u-b"))
        for p in (a, b):
            await p.expect("connection-quality")
        found = await meet(a, b)
        assert found["partnerName"] == "Stranger"
        for p in (a, b):
            await p.close()


# -- the proof of work ----------------------------------------------------------------------


async def solved(live: Live) -> str:
    async with httpx.AsyncClient(base_url=live.url) as http:
        return solve((await http.get("/api/altcha")).json())


async def test_pow_always_is_required_verified_and_used_once() -> None:
    async with live_server(pow="always", pow_max_number=5000, **PROXY) as live:
        resp = await session(live, "198.51.100.1")
        assert resp.status_code == 403 and resp.json()["code"] == "pow-required"
        resp = await session(live, "198.51.100.1", altcha="bm9uc2Vuc2U=")
        assert resp.status_code == 403 and resp.json()["code"] == "pow-invalid"
        payload = await solved(live)
        assert (await session(live, "198.51.100.1", altcha=payload)).status_code == 201
        replayed = await session(live, "198.51.100.2", altcha=payload)
        assert replayed.status_code == 403 and replayed.json()["code"] == "pow-invalid"


async def test_pow_auto_only_past_the_per_address_rate() -> None:
    settings = {"sessions_per_minute": 1, "session_burst": 2, "pow_max_number": 5000}
    async with live_server(**settings, **PROXY) as live:
        for _ in range(2):
            assert (await session(live, "198.51.100.1")).status_code == 201
        past = await session(live, "198.51.100.1")
        assert past.status_code == 403 and past.json()["code"] == "pow-required"
        assert (await session(live, "198.51.100.2")).status_code == 201  # another address
        ok = await session(live, "198.51.100.1", altcha=await solved(live))
        assert ok.status_code == 201
        # With a proof of work, up to five times the rate; then 429 with Retry-After.
        codes = [
            (await session(live, "198.51.100.1", altcha=await solved(live))).status_code
            for _ in range(12)
        ]
        assert 201 in codes and codes[-1] == 429
    async with live_server(**settings, pow="never", **PROXY) as live:
        for _ in range(2):
            assert (await session(live, "198.51.100.1")).status_code == 201
        limited = await session(live, "198.51.100.1")
        assert limited.status_code == 429 and limited.json()["code"] == "rate-limited"
        assert int(limited.headers["retry-after"]) >= 1


# -- address bans, report spam ----------------------------------------------------------------


async def report_from(live: Live, victim: Peer, address: str, token: str | None = None) -> None:
    reporter = await peer(live, f"r-{address}", address, token)
    await meet(victim, reporter)
    await reporter.emit("report-partner", {"reason": "nudity"})
    await victim.expect("partner-left")
    await reporter.expect("report-partner-ack")
    await reporter.close()


async def test_three_tabs_from_one_address_cannot_ban_anyone(live: Live) -> None:
    victim = await peer(live, "victim", "203.0.113.9", await guest(live, "203.0.113.9", "Vic"))
    for _ in range(3):  # three guest sessions, three tabs, one address
        await report_from(live, victim, "198.51.100.66", await guest(live, "198.51.100.66"))
    await victim.quiet(0.3)  # no ban
    reports = await live.app.db.reports()
    assert len(reports) == 3 and len({r.reporter for r in reports}) == 3
    assert len({r.reporter_address for r in reports}) == 1
    await victim.close()


async def test_fresh_guest_reports_weigh_little(live: Live) -> None:
    """Three fresh guests from three networks, who never talked to anyone: each weighs
    a tenth for its age times a tenth for its conversations (core.moderation)."""
    victim = await peer(live, "victim", "203.0.113.9", await guest(live, "203.0.113.9", "Vic"))
    for n in range(3):
        address = f"198.51.{n + 1}.1"
        await report_from(live, victim, address, await guest(live, address))
    await victim.quiet(0.3)
    assert {r.weight for r in await live.app.db.reports()} == {0.01}
    await victim.close()


async def test_reports_alone_cool_down_the_user_never_their_housemates_or_network() -> None:
    """Four full-weight reporters from four /24s: the reported guest gets a short cool-down
    at once; another guest on the same /64 (another browser: a housemate) keeps their
    call, and new guest sessions from that network are still welcome."""
    async with live_server(report_full_weight_minutes=0, **PROXY) as live:
        bad_at = "2001:db8:1:2:aaaa::1"
        victim = await peer(live, "bad", bad_at, await guest(live, bad_at, "Bad"))
        housemate = await peer(live, "mate", "2001:db8:1:2::2", await guest(live, bad_at, "Mate"))
        for n in range(4):
            await report_from(live, victim, f"198.51.{n + 1}.1")
        banned = await asyncio.wait_for(victim.expect("banned"), 2)
        assert banned["reason"] == "cool-down: reported by 4 users from 4 networks"
        assert banned["until"] - time.time() * 1000 <= 10 * 60 * 1000
        await housemate.quiet(0.3)
        assert not housemate.disconnected.is_set()
        bans = await live.app.db.active_bans(time.time())
        assert len(bans) == 1 and bans[0].address_hash is None
        assert (await session(live, "2001:db8:1:2:bbbb::7", "Innocent")).status_code == 201
        await housemate.close()


async def test_admin_bans_by_the_address_of_a_report_and_lifts_it(live: Live) -> None:
    bad_at = "192.0.2.44"
    bad = await peer(live, "bad", bad_at, await guest(live, bad_at, "Bad"))
    await report_from(live, bad, "198.51.100.1")
    report = (await live.app.db.reports())[0]
    admin = {"Authorization": f"Bearer {make_token('root', sub='admin-1', role='admin')}"}
    async with httpx.AsyncClient(base_url=live.url, headers=admin) as http:
        resp = await http.post(
            "/api/admin/bans", json={"reportId": report.id, "hours": 1, "reason": "nudity"}
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["addressHash"] == report.reported_address
        assert (await bad.expect("banned"))["reason"] == "nudity"
        assert (await session(live, bad_at)).json()["code"] == "banned"
        listed = (await http.get("/api/admin/reports")).json()["reports"][0]
        assert listed["weight"] == 1.0 and listed["reportedAddress"] == report.reported_address
        gone = await http.delete(f"/api/admin/address-bans/{report.reported_address}")
        assert gone.status_code == 204
        assert (
            await http.delete(f"/api/admin/address-bans/{report.reported_address}")
        ).status_code == 404
    assert (await session(live, bad_at)).status_code == 201


async def test_an_operator_token_with_a_bare_search_is_a_video_user(live: Live) -> None:
    """The seed's clients: no rules claim, no proof of work, a bare find-partner."""
    a = await Peer("a").connect(live.url, token=make_token("Ann", sub="op-a"))
    b = await Peer("b").connect(live.url, token=make_token("Bob", sub="op-b"))
    for p in (a, b):
        await p.expect("connection-quality")
    found = await meet(a, b)
    assert found["mode"] == "video" and found["partnerName"] == "Ann"
    for p in (a, b):
        await p.close()


def test_cli_bans_by_the_address_of_a_report_and_lifts_it(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from randomchat import cli
    from randomchat.db import Database

    url = f"sqlite:///{tmp_path / 'rc.db'}"
    flags = ["--database-url", url, "--data-dir", str(tmp_path)]

    async def setup() -> int:
        db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'rc.db'}")
        try:
            plain = await db.report("r1", "op-user", reason="spam", note="", chat=[], now=1.0)
            await db.report(
                "r2", "g-bad", reason="nudity", note="", chat=[], now=2.0, reported_address="h" * 32
            )
            return plain.id
        finally:
            await db.close()

    plain_id = asyncio.run(setup())
    assert (
        cli.main(["ban", "--report", str(plain_id), "--hours", "1", "--reason", "x", *flags]) == 2
    )
    assert "the report has no address" in capsys.readouterr().err
    assert (
        cli.main(["ban", "--report", str(plain_id + 1), "--hours", "1", "--reason", "x", *flags])
        == 0
    )
    assert f"banned g-bad and address {'h' * 32}" in capsys.readouterr().out
    # A later ban of the user alone still covers the address they were reported from.
    assert cli.main(["ban", "g-bad", "--hours", "2", "--reason", "again", *flags]) == 0
    assert "and address" in capsys.readouterr().out
    assert cli.main(["unban", "--address", "h" * 32, *flags]) == 0
    assert "unbanned address" in capsys.readouterr().out
    assert cli.main(["unban", "--address", "h" * 32, *flags]) == 1
    assert cli.main(["ban", "--hours", "1", "--reason", "x", *flags]) == 2
