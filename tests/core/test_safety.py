"""Issue 15's rules in the pure core: modes, the repeat exclusion, the report tally,
address bans in the ban list, the name filter, used challenges, and the proof of work."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass

import pytest

from randomchat.config import Settings
from randomchat.core.matching import MatchQueue, pick
from randomchat.core.moderation import (
    MIN_WEIGHT,
    BanList,
    Counted,
    Standing,
    address_hash,
    report_weight,
    should_cool_down,
    tally,
    wide_network,
)
from randomchat.core.names import NameFilter
from randomchat.core.replay import ReplayCache
from randomchat.errors import InvalidPayload
from randomchat.guests import ProofOfWork, RulesDocument, load_name_filter
from randomchat.protocol import parse, parse_requests
from randomchat.rules import Rules
from tests.matchers import make_seeker, make_waiting
from tests.powsolve import solve

pytestmark = pytest.mark.pure

# -- modes and the repeat exclusion --------------------------------------------------


def test_users_meet_only_their_own_mode() -> None:
    queue = MatchQueue()
    assert queue.add(make_waiting("t1", "u-t1", 1.0, mode="text")) == 1
    assert queue.add(make_waiting("v1", "u-v1", 2.0)) == 1  # positions count within a mode
    assert queue.add(make_waiting("t2", "u-t2", 3.0, mode="text")) == 2
    assert queue.position("t2") == 2 and queue.position("v1") == 1
    found = queue.take(make_seeker("v2", "u-v2"))
    assert found is not None and found.entry.sid == "v1"
    assert queue.take(make_seeker("v3", "u-v3")) is None  # only text users wait
    found = queue.take(make_seeker("t3", "u-t3", mode="text"))
    assert found is not None and found.entry.sid == "t1"
    assert queue.position("t2") == 1 and len(queue) == 1


def test_a_partner_within_the_window_is_excluded_even_when_alone() -> None:
    queue = MatchQueue()
    queue.add(make_waiting("a", "u-a", 1.0))
    assert queue.take(make_seeker("b", "u-b", recent=frozenset({"u-a"}))) is None
    assert len(queue) == 1  # a keeps waiting for someone else
    found = queue.take(make_seeker("c", "u-c", recent=frozenset({"u-b"})))
    assert found is not None and found.entry.sid == "a"


def test_indexed_take_agrees_with_the_reference_across_modes() -> None:
    rng = random.Random(15)
    for _ in range(400):
        queue = MatchQueue()
        for i in range(rng.randint(0, 12)):
            interests = frozenset(rng.sample(["a", "b", "c"], rng.randint(0, 2)))
            queue.add(
                make_waiting(
                    f"s{i}",
                    f"u{rng.randint(0, 9)}",
                    float(i),
                    interests,
                    widened=rng.random() < 0.3,
                    previous=f"u{rng.randint(0, 9)}" if rng.random() < 0.3 else None,
                    mode=rng.choice(["video", "text"]),
                )
            )
        seeker = make_seeker(
            "new",
            f"u{rng.randint(0, 9)}",
            frozenset(rng.sample(["a", "b", "c"], rng.randint(0, 2))),
            widened=rng.random() < 0.3,
            recent=frozenset({f"u{rng.randint(0, 9)}"}),
            previous=f"u{rng.randint(0, 9)}",
            mode=rng.choice(["video", "text"]),
        )
        expected = pick(seeker, list(queue))
        found = queue.take(seeker)
        assert (found and found.entry.sid) == (expected and expected.entry.sid)
        if found is not None:
            assert found.entry.mode == seeker.mode
            assert found.entry.user_id not in seeker.recent


def test_search_options_mode_and_media_state_validation() -> None:
    assert parse.find_partner(()).mode == "video"  # the seed's clients
    assert parse.next_partner(({"mode": "text"},)).mode == "text"
    assert parse.next_partner(({"mode": None},)).mode == "video"
    for bad in ("audio", 1, ["text"]):
        with pytest.raises(InvalidPayload, match="'mode' must be one of video, text"):
            parse.find_partner(({"mode": bad},))
    assert parse_requests.media_state(({"video": False, "audio": True},)) == (False, True)
    for bad_state in ({"video": 1, "audio": True}, {"video": True}, {}):
        with pytest.raises(InvalidPayload, match="'video' and 'audio'"):
            parse_requests.media_state((bad_state,))
    with pytest.raises(InvalidPayload):
        parse_requests.media_state(("on",))


# -- the report tally ------------------------------------------------------------------


def test_three_tabs_from_one_address_are_one_voice() -> None:
    tabs = [Counted(f"guest{n}", "addr-1", 1.0) for n in range(3)]
    counted = tally(tabs)
    assert (counted.reporters, counted.addresses, counted.score) == (3, 1, 1.0)
    assert not should_cool_down(counted, 3, 3)
    assert not should_cool_down(counted, 3, 1)  # even without the address minimum: score 1


def test_each_reporter_counts_once_at_its_heaviest() -> None:
    reports = [Counted("r1", "a1", 0.2), Counted("r1", "a1", 0.9), Counted("r1", "a2", 0.5)]
    counted = tally(reports)
    assert (counted.reporters, counted.addresses, counted.score) == (1, 1, 0.9)


def test_a_cool_down_needs_enough_networks_and_weight() -> None:
    three = tally(Counted(f"r{n}", f"a{n}", 1.0) for n in range(3))
    assert should_cool_down(three, 3, 3)
    assert not should_cool_down(three, 3, 4)
    fresh = tally(Counted(f"r{n}", f"a{n}", MIN_WEIGHT) for n in range(3))
    assert not should_cool_down(fresh, 3, 3)
    thirds = tally(Counted(f"r{n}", f"a{n}", 1 / 3) for n in range(3))
    assert should_cool_down(thirds, 1, 3)  # float sums reach their threshold
    old = tally([Counted("r1", None, 1.0), Counted("r2", None, 1.0)])  # before addresses
    assert old.addresses == 2


def test_report_weight_grows_with_age_and_conversations() -> None:
    talked = Standing(normal_calls=3)
    assert report_weight(None, 600) == 1.0  # the operator's own users
    assert report_weight(0, 600, talked) == MIN_WEIGHT
    assert report_weight(300, 600, talked) == 0.5
    assert report_weight(6000, 600, talked) == 1.0
    assert report_weight(0, 0) == 1.0  # weighting off
    # Aged, but never talked to anyone: next to nothing.
    assert report_weight(6000, 600) == MIN_WEIGHT
    assert report_weight(6000, 600, Standing(normal_calls=1)) == pytest.approx(1 / 3, abs=1e-3)


def test_report_weight_follows_what_moderators_made_of_earlier_reports() -> None:
    base = report_weight(6000, 600, Standing(normal_calls=1))
    assert report_weight(6000, 600, Standing(normal_calls=1, upheld=2)) > base
    assert report_weight(0, 600, Standing(upheld=4)) == 1.0  # a proven reporter
    assert report_weight(6000, 600, Standing(normal_calls=3, dismissed=1)) == 0.5
    # Reporting much and calling little: a tenth.
    spammer = Standing(normal_calls=3, filed_today=20)
    assert report_weight(6000, 600, spammer) == pytest.approx(MIN_WEIGHT)


def test_reporters_count_by_ipv4_24_and_ipv6_48() -> None:
    assert wide_network("198.51.100.7") == "198.51.100.0/24"
    assert wide_network("2001:db8:1:2::/64") == "2001:db8:1::/48"
    assert wide_network("2001:db8:1:ff00::/64") == "2001:db8:1::/48"
    assert wide_network("not an address") == "not an address"


def test_address_hashes_are_keyed_and_never_the_address() -> None:
    one = address_hash(b"k1", "203.0.113.7")
    assert one == address_hash(b"k1", "203.0.113.7") and len(one) == 32
    assert one != address_hash(b"k2", "203.0.113.7")
    assert one != address_hash(b"k1", "203.0.113.8")
    assert "203" not in one


# -- address bans in the ban list --------------------------------------------------------


@dataclass(frozen=True)
class B:
    user_id: str
    until: float
    address_hash: str | None = None


def test_address_bans_follow_their_user_bans() -> None:
    bans: BanList[B] = BanList()
    bans.add(B("u1", 10.0, "net-a"))
    bans.add(B("u2", 20.0, "net-a"))
    bans.add(B("u3", 20.0))
    assert bans.active_address("net-a", 5.0) == B("u2", 20.0, "net-a")  # the longest
    assert bans.active_address("net-b", 5.0) is None
    bans.remove("u2")
    assert bans.active_address("net-a", 5.0) == B("u1", 10.0, "net-a")
    assert bans.active_address("net-a", 10.0) is None  # expired with its user ban
    bans.add(B("u3", 30.0, "net-c"))  # a replacement carries its own address
    assert bans.active_address("net-c", 11.0) == B("u3", 30.0, "net-c")
    bans.add(B("u3", 40.0))
    assert bans.active_address("net-c", 11.0) is None
    bans.replace([B("u9", 50.0, "net-z")])
    assert bans.active_address("net-z", 11.0) is not None and bans.active("u3", 11.0) is None
    assert bans._by_address == {"net-z": {"u9"}}  # the index never outgrows the bans


# -- names, used challenges, the proof of work, the rules ----------------------------------


def test_the_default_name_filter() -> None:
    names = load_name_filter(Settings())
    for ok in ("Alice", "Cassandra", "Scunthorpe", "Hitchcock", "Sussex", "Echo (bot)", "דנה"):
        assert names.allows(ok), ok
    for bad in ("B1TCH", "b.i.t.c.h", "xXfuckXx", "Big Cock", "\uff42\uff49\uff54\uff43\uff48"):
        assert not names.allows(bad), bad


def test_a_custom_list_whole_words_and_anywhere() -> None:
    names = NameFilter.parse("# comment\nfoo\n*barbaz  # anywhere\n\n")
    assert len(names) == 2
    assert not names.allows("the foo") and names.allows("food")
    assert not names.allows("xxBARBAZxx") and not names.allows("bar baz")


def test_shown_names() -> None:
    rules = Rules(name_filter=NameFilter(["troll"]))
    assert rules.shown_name("Alice") == "Alice"
    assert rules.shown_name("Troll") == "Stranger"
    assert Rules(nicknames=False).shown_name("Alice") == "Stranger"


def test_replay_cache_once_until_expiry_and_bounded() -> None:
    cache = ReplayCache(max_entries=2)
    assert cache.claim("c1", expires=10.0, now=0.0)
    assert not cache.claim("c1", expires=10.0, now=1.0)
    assert cache.claim("c2", expires=20.0, now=1.0)
    # Full: c1, the soonest to expire, makes room (issue 22: filling the cache must not
    # refuse honest solutions), and stays refused: nothing dropped can be replayed.
    assert cache.claim("c3", expires=20.0, now=2.0)
    assert not cache.claim("c1", expires=10.0, now=3.0)
    assert len(cache) == 2


def test_proof_of_work_verifies_once_and_expires() -> None:
    pow_ = ProofOfWork("s" * 40, max_number=2000, ttl=60)
    now = 1_800_000_000.0
    solved = solve(pow_.challenge(now))
    assert not ProofOfWork("t" * 40, 2000, 60).verify(solved, now)  # another server's key
    assert pow_.verify(solved, now + 1)
    assert not pow_.verify(solved, now + 2)  # used
    late = solve(pow_.challenge(now))
    assert not pow_.verify(late, now + 61)  # expired
    data = json.loads(base64.b64decode(solve(pow_.challenge(now))))
    for forged in ({**data, "number": data["number"] + 1}, {**data, "number": True}, [1]):
        assert not pow_.verify(base64.b64encode(json.dumps(forged).encode()).decode(), now)
    for junk in ("", "!!!", "x" * 5000, base64.b64encode(b"[[[[").decode()):
        assert not pow_.verify(junk, now)


def test_rules_version_follows_the_text(tmp_path: object) -> None:
    default = RulesDocument.load(Settings())
    assert len(default.version) == 12 and "18" in default.text and default.minimum_age == 18
    path = tmp_path / "rules.md"  # type: ignore[operator]
    path.write_text("Be kind.\n")
    mine = RulesDocument.load(Settings(rules_file=path, minimum_age=21))
    assert mine.version != default.version and mine.minimum_age == 21
