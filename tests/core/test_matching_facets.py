"""Spoken languages, the second preference: matched, ranked, indexed and widened exactly
like interests (each after its own wait), by the rules alone."""

import random
from dataclasses import replace

import pytest

from randomchat.core.matching import (
    ANY,
    EMPTY,
    INTERESTS,
    LANGUAGES,
    MatchQueue,
    Seeker,
    Waiting,
    common_ground,
    entry_lists,
    pick,
    seeker_lists,
    widening,
)
from randomchat.protocol import SearchOptions

pytestmark = pytest.mark.pure

WAITS = {INTERESTS: 5.0, LANGUAGES: 2.0}


def opts(
    interests: str = "", languages: str = "", strict: bool = False, only: bool = False
) -> SearchOptions:
    return SearchOptions(
        frozenset(interests.split()),
        strict,
        languages=frozenset(languages.split()),
        languages_only=only,
    )


def test_a_shared_language_is_needed_until_it_widens_and_ranks_after_interests() -> None:
    fr = Seeker("s", "u-s", opts(languages="fr"))
    assert common_ground(fr, Waiting("de", "u-de", 0.0, opts(languages="de"))) is None
    # a partner who gave no language is unknown, not different: taken at once, unless
    # only shared languages will do
    none = Waiting("none", "u-n", 0.0, opts())
    assert common_ground(fr, none) == {}
    assert common_ground(Seeker("s", "u-s", opts(languages="fr", only=True)), none) is None
    assert (
        common_ground(Seeker("p", "u-p", opts()), Waiting("fr", "u-f", 0.0, opts(languages="fr")))
        == {}
    )
    wide = Waiting("de", "u-de", 0.0, opts(languages="de"), frozenset({LANGUAGES}))
    assert common_ground(replace(fr, widened=frozenset({LANGUAGES})), wide) == {}
    both = Seeker("s", "u-s", opts("chess", "fr"))
    queue = [
        Waiting("lang", "u-1", 1.0, opts("go", "fr"), frozenset({INTERESTS})),
        Waiting("topic", "u-2", 2.0, opts("chess", "fr")),
    ]
    found = pick(both, queue)
    assert found is not None and found.entry.sid == "topic"
    assert found.shared == {INTERESTS: {"chess"}, LANGUAGES: {"fr"}}


def test_each_preference_widens_after_its_own_wait_unless_strict_about_it() -> None:
    entry = Waiting("a", "u-a", 10.0, opts("chess", "fr"))
    assert widening(entry, 11.9, WAITS) == EMPTY
    assert widening(entry, 12.0, WAITS) == {LANGUAGES}
    assert widening(entry, 15.0, WAITS) == {LANGUAGES, INTERESTS}
    only = Waiting("b", "u-b", 10.0, opts("chess", "fr", only=True))
    assert widening(only, 99.0, WAITS) == {INTERESTS}
    queue = MatchQueue()
    queue.add(entry)
    queue.add(only)
    assert queue.due_to_widen(12.0, WAITS) == [("a", frozenset({LANGUAGES}))]
    queue.widen("a", frozenset({LANGUAGES}))
    assert queue.due_to_widen(15.0, WAITS) == [
        ("a", frozenset({LANGUAGES, INTERESTS})),
        ("b", frozenset({INTERESTS})),
    ]
    assert ANY not in entry_lists(queue.get("a"))  # type: ignore[arg-type]
    queue.widen("a", frozenset({INTERESTS}))
    assert ANY in entry_lists(queue.get("a"))  # type: ignore[arg-type]


def test_the_lists_a_seeker_reads_hold_every_entry_it_could_meet_and_take_agrees() -> None:
    rng = random.Random(25)
    tags, langs = ["a", "b", "c"], ["en", "fr"]
    facets = [INTERESTS, LANGUAGES]
    for _ in range(500):
        queue = MatchQueue()
        for i in range(rng.randint(0, 14)):
            widened = frozenset(f for f in facets if rng.random() < 0.3)
            options = opts(
                " ".join(rng.sample(tags, rng.randint(0, 2))),
                " ".join(rng.sample(langs, rng.randint(0, 2))),
                strict=rng.random() < 0.2,
                only=rng.random() < 0.2,
            )
            previous = f"u{rng.randint(0, 9)}" if rng.random() < 0.3 else None
            queue.add(
                Waiting(f"s{i}", f"u{rng.randint(0, 9)}", float(i), options, widened, previous)
            )
        seeker = Seeker(
            "new",
            f"u{rng.randint(0, 9)}",
            opts(
                " ".join(rng.sample(tags, rng.randint(0, 2))),
                " ".join(rng.sample(langs, rng.randint(0, 2))),
            ),
            frozenset(f for f in facets if rng.random() < 0.3),
            recent=frozenset({f"u{rng.randint(0, 9)}"}),
            previous=f"u{rng.randint(0, 9)}",
        )
        read = set(seeker_lists(seeker))
        for entry in queue:
            if common_ground(seeker, entry) is not None:
                assert read & set(entry_lists(entry)), (seeker, entry)
        expected = pick(seeker, list(queue))
        found = queue.take(seeker)
        assert (found and found.entry.sid) == (expected and expected.entry.sid)
