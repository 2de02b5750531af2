"""Language matching through the lobby: the wire's ``languages`` parsed into the one
``SearchOptions``, a shared language preferred, anyone after ``language_wait`` unless
``languagesOnly``, and the shared languages named in ``match-found``. Seed clients that
send nothing are unaffected. (The rules alone: test_matching_facets; the stores:
test_store's spoken-languages case; across nodes: tests/cluster/test_nodes.)"""

from typing import Any

import pytest

from randomchat.auth import Identity
from randomchat.db import Database
from randomchat.errors import InvalidPayload
from randomchat.lobby import Emit, Lobby
from randomchat.metrics import Metrics
from randomchat.protocol import SearchOptions, parse
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from tests.fakes import FakeClock

pytestmark = pytest.mark.pure


def test_languages_parse_to_primary_subtags() -> None:
    options = parse.find_partner(({"languages": ["EN", "pt-BR", "en"], "languagesOnly": True},))
    assert options == SearchOptions(languages=frozenset({"en", "pt"}), languages_only=True)
    # only with languages: "only my languages" without any means nothing
    assert parse.find_partner(({"languagesOnly": True},)) == SearchOptions()
    assert parse.find_partner(({"languages": None},)) == SearchOptions()


@pytest.mark.parametrize(
    ("languages", "error"),
    [
        ("en", "'languages' must be a list"),
        (["en", "fr", "de", "es", "it", "pt"], "at most 5"),
        (["english"], "ISO 639"),
        (["e"], "ISO 639"),
        ([7], "ISO 639"),
        (["x" * 10_000], "ISO 639"),
    ],
)
def test_bad_languages_are_refused(languages: Any, error: str) -> None:
    with pytest.raises(InvalidPayload, match=error):
        parse.next_partner(({"languages": languages},))
    with pytest.raises(InvalidPayload, match="'languagesOnly' must be true or false"):
        parse.next_partner(({"languages": ["en"], "languagesOnly": "yes"},))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def lobby(tmp_path: Any, clock: FakeClock) -> Any:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'lobby.db'}")
    rules = Rules(interest_wait=5.0, language_wait=3.0)
    lobby = Lobby(MemoryStore(), db, clock, Metrics(), rules)
    for sid in ("en", "es", "es2", "plain", "only"):
        await lobby.connect(sid, Identity("u-" + sid, sid.upper()))
    yield lobby
    await db.close()


def matches(effects: list[Any]) -> list[tuple[str, list[str]]]:
    return [
        (e.to, e.data["commonLanguages"])
        for e in effects
        if isinstance(e, Emit) and e.event == "match-found"
    ]


async def test_a_shared_language_is_preferred_and_named(lobby: Lobby, clock: FakeClock) -> None:
    search = lobby.search
    assert not matches(await search.find_partner("en", ({"languages": ["en"]},)))
    # a Spanish speaker does not meet the English speaker who waits...
    assert not matches(await search.find_partner("es", ({"languages": ["es"]},)))
    # ...but a second Spanish speaker meets the first, though the English speaker came first
    found = await search.find_partner("es2", ({"languages": ["es", "fr"]},))
    assert matches(found) == [("es2", ["es"]), ("es", ["es"])]


async def test_anyone_after_the_language_wait_unless_only_shared(
    lobby: Lobby, clock: FakeClock
) -> None:
    search = lobby.search
    await search.find_partner("only", ({"languages": ["de"], "languagesOnly": True},))
    await search.find_partner("es", ({"languages": ["es"]},))
    assert not matches(await search.find_partner("en", ({"languages": ["en"]},)))
    clock.advance(2.9)
    assert not matches(await search.widen_waiting())
    clock.advance(0.1)
    found = await search.widen_waiting()
    assert sorted(matches(found)) == [("en", []), ("es", [])]
    clock.advance(600)  # "only my languages" is never widened
    assert not matches(await search.widen_waiting())


async def test_a_seed_client_that_sends_nothing_is_met_at_once(lobby: Lobby) -> None:
    """A language not stated is unknown, not different: someone who gave languages takes
    a seed client at once (a shared language still ranks first), one who wants only
    their languages does not."""
    search = lobby.search
    await search.find_partner("only", ({"languages": ["de"], "languagesOnly": True},))
    await search.find_partner("en", ({"languages": ["en"]},))
    assert matches(await search.find_partner("plain", ())) == [("plain", []), ("en", [])]
    await search.find_partner("es", ({"languages": ["es"]},))
    found = await search.find_partner("es2", ({"languages": ["es"]},))
    assert matches(found) == [("es2", ["es"]), ("es", ["es"])]  # not "only": no seed left
