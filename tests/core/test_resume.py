"""Resuming a call after a server restart: tickets, both sides, one side, refusals."""

from typing import Any

import pytest

from randomchat.auth import Identity
from randomchat.db import Database
from randomchat.errors import IllegalMove, InvalidPayload
from randomchat.lobby import Emit, Lobby
from randomchat.lobby.resume import mint, verify
from randomchat.metrics import Metrics
from randomchat.protocol import ClientEvent
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from tests.fakes import FakeClock, written

pytestmark = pytest.mark.pure

KEY = b"k" * 32
WINDOW = 30.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Any) -> Any:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'resume.db'}")
    yield database
    await database.close()


def lobby_of(clock: FakeClock, db: Database) -> Lobby:
    rules = Rules(resume_key=KEY, resume_window=WINDOW)
    return Lobby(MemoryStore(), db, clock, Metrics(), rules)


async def matched(lobby: Lobby) -> dict[str, Any]:
    """Users a and b in a call; b's match-found."""
    for sid in ("a", "b"):
        await lobby.connect(sid, Identity("u-" + sid, sid.upper()))
    await lobby.search.find_partner("a", ())
    effects = written(lobby, await lobby.search.find_partner("b", ()))
    found = effects[0].data  # type: ignore[union-attr]
    assert effects[1].data["callId"] == found["callId"]  # type: ignore[union-attr]
    return dict(found)


async def restart(clock: FakeClock, db: Database) -> Lobby:
    """A new process: same secret, nothing else; a and b reconnect as a2 and b2."""
    lobby = lobby_of(clock, db)
    for sid in ("a2", "b2"):
        await lobby.connect(sid, Identity("u-" + sid[0], sid[0].upper()))
    return lobby


def ask(found: dict[str, Any]) -> tuple[Any, ...]:
    return ({"callId": found["callId"], "resume": found["resume"]},)


def test_a_ticket_verifies_until_it_expires_and_not_under_another_key() -> None:
    ticket = mint(KEY, "c1", ("u-b", "u-a"), True, expires=100)
    claims = verify(KEY, ticket, now=99)
    assert claims is not None and claims.users == ("u-a", "u-b") and claims.relay
    assert verify(KEY, ticket, now=101) is None
    assert verify(b"x" * 32, ticket, now=0) is None
    head, mac = ticket.split(".")
    assert verify(KEY, head[:-2] + "AA." + mac, now=0) is None  # a changed payload
    for junk in ["", ".", "a.b.c", "%%%.%%%", "x" * 2000]:
        assert verify(KEY, junk, now=0) is None


async def test_both_sides_resume_and_the_call_works_again(clock: FakeClock, db: Database) -> None:
    found = await matched(lobby_of(clock, db))
    lobby = await restart(clock, db)
    assert await lobby.resume.resume_call("a2", ask(found)) == []
    clock.advance(WINDOW - 1)
    resumed = {"callId": found["callId"]}
    assert written(lobby, await lobby.resume.resume_call("b2", ask(found))) == [
        Emit("a2", "call-resumed", resumed, "b2"),
        Emit("b2", "call-resumed", resumed, "a2"),
    ]
    assert await lobby.store.partner_of("a2") == "b2"
    assert await lobby.ctx.meetings.previous("u-a") == "u-b"  # the repeat rules know they met
    # chat flows again, and next ends it for the other side as usual
    effects = await lobby.chat.chat_message("a2", ({"text": "still here", "id": 1},))
    assert Emit("a2", "chat-message-ack", {"id": 1}) in effects
    assert [e.to for e in effects if e.event == "chat-message"] == ["b2"]  # type: ignore[union-attr]
    assert len(lobby.resume) == 0 and await lobby.resume.expired() == []


async def test_one_side_alone_gets_partner_disconnected_after_the_window(
    clock: FakeClock, db: Database
) -> None:
    found = await matched(lobby_of(clock, db))
    lobby = await restart(clock, db)
    await lobby.resume.resume_call("a2", ask(found))
    clock.advance(WINDOW)
    assert await lobby.resume.expired() == []
    clock.advance(0.1)
    assert await lobby.resume.expired() == [Emit("a2", "partner-disconnected", {})]
    # the late partner waits alone in turn
    assert await lobby.resume.resume_call("b2", ask(found)) == []


async def test_a_side_that_searched_meanwhile_is_not_pulled_back(
    clock: FakeClock, db: Database
) -> None:
    found = await matched(lobby_of(clock, db))
    lobby = await restart(clock, db)
    await lobby.resume.resume_call("a2", ask(found))
    await lobby.handlers()[ClientEvent.FIND_PARTNER]("a2", ())  # gave up waiting
    assert await lobby.resume.resume_call("b2", ask(found)) == []  # b2 now waits alone
    clock.advance(WINDOW + 1)
    assert await lobby.resume.expired() == [Emit("b2", "partner-disconnected", {})]


async def test_refusals(clock: FakeClock, db: Database) -> None:
    found = await matched(lobby_of(clock, db))
    lobby = await restart(clock, db)
    await lobby.connect("c", Identity("u-c", "C"))
    with pytest.raises(IllegalMove):  # not one of the two users
        await lobby.resume.resume_call("c", ask(found))
    with pytest.raises(IllegalMove):  # the ticket names another call
        await lobby.resume.resume_call("a2", ({"callId": "other", "resume": found["resume"]},))
    with pytest.raises(IllegalMove):  # a forged ticket
        await lobby.resume.resume_call("a2", ({"callId": found["callId"], "resume": "x.y"},))
    for bad in [(), (None,), ({"callId": 1, "resume": "x"},), ({"callId": "c"},), (1, 2)]:
        with pytest.raises(InvalidPayload):
            await lobby.resume.resume_call("a2", bad)
    await lobby.search.find_partner("a2", ())
    with pytest.raises(IllegalMove):  # already searching
        await lobby.resume.resume_call("a2", ask(found))


async def test_a_disconnected_side_is_forgotten(clock: FakeClock, db: Database) -> None:
    found = await matched(lobby_of(clock, db))
    lobby = await restart(clock, db)
    await lobby.resume.resume_call("a2", ask(found))
    await lobby.disconnect("a2")
    assert len(lobby.resume) == 0
