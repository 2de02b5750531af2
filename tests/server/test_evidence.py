"""Issue 24: a report's picture, from the report event into the console and out again.

A real server in the test's event loop (real Socket.IO clients, real SQLite, the real
console over HTTP with a signed-in moderator); the lobby's monotonic clock is moved by
hand so that the per-user report limit refills without sleeping, and the retention is
tested with the wall time passed in.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from randomchat.console import sessions
from randomchat.core import evidence as rules
from randomchat.db import accounts as account_store
from randomchat.db import evidence
from randomchat.moderation import attach_picture, record_report
from randomchat.protocol import MAX_PICTURE_BASE64, MAX_PICTURE_BYTES
from randomchat.rules import Rules
from tests.server.harness import Live, Peer, live_server, match, ready
from tests.server.test_report_after_call import HandClock

pytestmark = pytest.mark.server

CSRF = {"X-Requested-With": "randomchat-console"}
PASSWORD = "correct horse battery"
DAY = 24 * 3600.0


def jpeg(size: int = 2000, fill: int = 0x42) -> bytes:
    """Bytes the server takes for a JPEG: SOI and a marker, a body, EOI."""
    return b"\xff\xd8\xff\xe0" + bytes([fill]) * (size - 6) + b"\xff\xd9"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hand_server(clock: HandClock) -> contextlib.AbstractAsyncContextManager[Live]:
    return live_server(clock, evidence_days=2)


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    async with hand_server(HandClock()) as server:
        yield server


@contextlib.asynccontextmanager
async def moderator(live: Live) -> AsyncIterator[httpx.AsyncClient]:
    """A console client signed in as a moderator."""
    hashed = sessions.hash_password(PASSWORD)
    await account_store.add(live.app.db, "mod", "moderator", hashed, time.time())
    async with httpx.AsyncClient(base_url=live.url) as client:
        answer = await client.post(
            "/api/console/session", json={"name": "mod", "password": PASSWORD}, headers=CSRF
        )
        assert answer.status_code == 200, answer.text
        yield client


ANSWERS = ("report-partner-ack", "error", "rate-limited")


async def answer(peer: Peer) -> tuple[str, Any]:
    """The answer to a report, past the events of the call's end."""
    while True:
        got, data = await asyncio.wait_for(peer.events.get(), 5)
        if got in ANSWERS:
            return got, data


async def reported(live: Live, reporter: Peer, partner: str, payload: dict[str, Any]) -> Any:
    """``reporter`` is matched with a new ``partner`` and sends ``payload``; the answer."""
    other = await ready(live.url, partner)
    await match(reporter, other)
    await reporter.emit("report-partner", payload)
    found = await answer(reporter)
    await other.close()
    return found


async def test_a_picture_is_kept_with_its_report_shown_to_a_moderator_and_gone_on_dismiss(
    live: Live,
) -> None:
    a = await ready(live.url, "a")
    picture = jpeg()
    got, ack = await reported(live, a, "b", {"reason": "nudity", "picture": b64(picture)})
    assert got == "report-partner-ack" and ack["picture"] is True
    report_id = ack["reportId"]
    # Anyone not signed in gets nothing.
    async with httpx.AsyncClient(base_url=live.url) as stranger:
        refused = await stranger.get(f"/api/console/reports/{report_id}/picture")
        assert refused.status_code == 401 and refused.content != picture
    async with moderator(live) as console:
        [row] = (await console.get("/api/console/reports")).json()["reports"]
        assert (row["id"], row["picture"]) == (report_id, True)
        shown = await console.get(f"/api/console/reports/{report_id}/picture")
        assert shown.status_code == 200 and shown.content == picture
        assert shown.headers["content-type"] == "image/jpeg"
        assert shown.headers["cache-control"] == "no-store"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in shown.headers["content-security-policy"]
        dismissed = await console.post(
            f"/api/console/reports/{report_id}/dismiss", json={}, headers=CSRF
        )
        assert dismissed.status_code == 200, dismissed.text
        gone = await console.get(f"/api/console/reports/{report_id}/picture")
        assert gone.status_code == 404
        detail = (await console.get(f"/api/console/reports/{report_id}")).json()
        assert detail["picture"] is False
    assert await evidence.with_pictures(live.app.db, [report_id]) == set()
    await a.close()


async def test_a_ban_from_the_report_deletes_its_picture(live: Live) -> None:
    a = await ready(live.url, "a")
    _, ack = await reported(live, a, "b", {"reason": "nudity", "picture": b64(jpeg())})
    report_id = ack["reportId"]
    async with moderator(live) as console:
        banned = await console.post(
            f"/api/console/reports/{report_id}/ban",
            json={"hours": 24, "reason": "flashing"},
            headers=CSRF,
        )
        assert banned.status_code == 201, banned.text
        assert (await console.get(f"/api/console/reports/{report_id}/picture")).status_code == 404
    assert await evidence.with_pictures(live.app.db, [report_id]) == set()
    await a.close()


async def test_a_report_without_a_picture_works_as_the_seed_client_sends_it(live: Live) -> None:
    a = await ready(live.url, "a")
    got, ack = await reported(live, a, "b", {"reason": "spam", "note": "links"})
    assert got == "report-partner-ack" and "picture" not in ack
    assert await evidence.with_pictures(live.app.db, [ack["reportId"]]) == set()
    await a.close()


BAD = {
    "too large": b64(jpeg(MAX_PICTURE_BYTES + 1)),
    "far too large": "A" * (MAX_PICTURE_BASE64 + 4),
    "not a JPEG": b64(b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    "no end marker": b64(jpeg()[:-2]),
    "not base64": "this is not base64!",
    "not a string": 12345,
}


@pytest.mark.parametrize("picture", list(BAD.values()), ids=list(BAD))
async def test_a_bad_picture_refuses_the_whole_report_and_stores_nothing(
    live: Live, picture: Any
) -> None:
    a = await ready(live.url, "a")
    b = await ready(live.url, "b")
    await match(a, b)
    await a.emit("report-partner", {"reason": "nudity", "picture": picture})
    error = await a.expect("error")
    assert error["code"] == "invalid_payload" and "picture" in error["message"]
    assert await live.app.db.reports() == []
    # The call goes on, and the same report without the picture is taken.
    await a.emit("report-partner", {"reason": "nudity"})
    await b.expect("partner-left")
    got, ack = await answer(a)
    assert got == "report-partner-ack" and "picture" not in ack
    assert [r.id for r in await live.app.db.reports()] == [ack["reportId"]]
    for p in (a, b):
        await p.close()


async def test_a_picture_of_exactly_the_bound_is_kept(live: Live) -> None:
    a = await ready(live.url, "a")
    _, ack = await reported(
        live, a, "b", {"reason": "nudity", "picture": b64(jpeg(MAX_PICTURE_BYTES))}
    )
    assert ack["picture"] is True
    await a.close()


async def test_one_reporter_leaves_at_most_the_bound_of_pictures_an_hour(
    live: Live,
) -> None:
    clock = live.app.lobby.ctx.clock
    assert isinstance(clock, HandClock)
    a = await ready(live.url, "a")
    kept = []
    for i in range(rules.PER_REPORTER + 1):
        clock.now += 3600  # the report limit refills; the picture bound counts wall time
        payload = {"reason": "nudity", "picture": b64(jpeg(fill=i))}
        got, ack = await reported(live, a, f"p{i}", payload)
        assert got == "report-partner-ack", ack
        kept.append(ack["picture"])
    # The report past the bound is stored all the same, without its picture.
    assert kept == [True] * rules.PER_REPORTER + [False]
    assert len(await live.app.db.reports()) == rules.PER_REPORTER + 1
    await a.close()


async def test_one_network_leaves_at_most_its_bound_whatever_its_identities(
    live: Live,
) -> None:
    """Guests make identities at will; their network's keyed hash is counted too."""
    db, now = live.app.db, time.time()
    results = []
    for i in range(rules.PER_NETWORK + 1):
        report, _ = await record_report(
            db, Rules(), f"guest-{i}", "flasher", "nudity", "", [], now, reporter_address="net-1"
        )
        results.append(await attach_picture(db, report, jpeg(), now))
    assert results == [True] * rules.PER_NETWORK + [False]
    # Another network, and the same one an hour later, may attach again.
    other, _ = await record_report(
        db, Rules(), "guest-x", "flasher", "nudity", "", [], now, reporter_address="net-2"
    )
    assert await attach_picture(db, other, jpeg(), now)
    later = now + rules.WINDOW + 1
    again, _ = await record_report(
        db, Rules(), "guest-y", "flasher", "nudity", "", [], later, reporter_address="net-1"
    )
    assert await attach_picture(db, again, jpeg(), later)


async def test_pictures_are_deleted_after_the_evidence_days(live: Live) -> None:
    a = await ready(live.url, "a")
    _, ack = await reported(live, a, "b", {"reason": "nudity", "picture": b64(jpeg())})
    report_id = ack["reportId"]
    db, keep_for = live.app.db, live.app.lobby.ctx.rules.evidence_seconds
    assert keep_for == 2 * DAY  # --evidence-days 2
    now = time.time()
    moderation = live.app.lobby.moderation
    moderation._evidence_swept_at = None  # the lifespan's first refresh swept already
    assert await moderation.expire_evidence(now + keep_for - 60) == 0
    assert await evidence.picture(db, report_id, now + keep_for - 60, keep_for) is not None
    # Past the retention the console has it no more, even before a sweep ran...
    assert await evidence.picture(db, report_id, now + keep_for + 1, keep_for) is None
    # ...and the next sweep (one per EVIDENCE_SWEEP_SECONDS) deletes it.
    assert await moderation.expire_evidence(now + keep_for + 1) == 0  # too soon after the last
    assert await moderation.expire_evidence(now + keep_for + 601) == 1
    assert await evidence.with_pictures(db, [report_id]) == set()
    # The report itself stays for the moderators.
    assert [r.id for r in await db.reports()] == [report_id]
    await a.close()
