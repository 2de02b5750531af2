"""The moderation policy: report reasons, what reports do on their own, address keys.

Theory of operation. Guest identities are free, so nothing automatic may rest on how
many identities report someone: one person with three tabs, or a patient attacker
with sixty aged guest sessions, must not be able to get anyone thrown out. So:

* reports on their own never ban: past the bar below they put the reported user in a
  short cool-down (``--cooldown-minutes``, on the user, which for a guest is their
  device: ``randomchat.devices``; never on an address) and at the top of the
  moderators' queue. Longer bans and address bans come from moderators;
* a person is cooled down at most once an hour (``COOLDOWN_GAP``), however many more
  reports arrive;
* each reporter counts once (their heaviest report), and each reporter network counts
  once (its heaviest reporter), where a network is an IPv4 /24 or an IPv6 /48
  (``wide_network``): three addresses of one subscriber, or one /48 split into /64s,
  are one voice. The bar is reporters from ``min_addresses`` networks (default 4)
  and a score (the sum of the networks' weights) of ``threshold``;
* a report weighs by its reporter's standing (``report_weight``): the age of their
  identity, how many calls of normal length they had before, and what moderators
  made of their earlier reports. An identity that just arrived, never talked to
  anyone and reports weighs next to nothing; one whose reports moderators upheld
  weighs more. Reports from the operator's own login system weigh 1.

Reports made before the user's latest ban or cool-down do not count again: they were
dealt with by it (or by the moderator who lifted it).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

# The wire's (a report names one reason; its note is bounded), re-exported for the console.
from randomchat.protocol import MAX_NOTE as MAX_NOTE
from randomchat.protocol import REPORT_REASONS as REPORT_REASONS

AUTO_BANNED_BY = "auto"


MIN_WEIGHT = 0.1
# Keyed hashes of addresses are cut to this many hex characters (128 bits): enough
# never to collide, short enough to show in the console.
ADDRESS_HASH_HEX = 32


def address_hash(key: bytes, network: str) -> str:
    """The keyed hash under which a network (``proxy.network_of``) is stored; never the address.

    HMAC-SHA256 with a server secret: without the key, a stored hash cannot be
    turned back into an address by hashing all 2^32 IPv4 addresses.
    """
    digest = hmac.new(key, network.encode(), hashlib.sha256).hexdigest()
    return digest[:ADDRESS_HASH_HEX]


COOLDOWN_GAP = 3600.0  # seconds: one automatic cool-down per person per hour
NORMAL_CALL_SECONDS = 30.0  # a call this long is a conversation, not a skip
CALLS_FOR_FULL_WEIGHT = 3  # calls of normal length before a guest's report weighs fully
UPHELD_BONUS = 0.25  # weight a reporter gains per upheld report (up to four)


def wide_network(network: str) -> str:
    """The unit a reporter counts in: the /24 of an IPv4 address, the /48 of an IPv6
    address or /64 (``proxy.network_of``'s unit). One subscriber holds a /48 or a few
    neighbouring IPv4 addresses; counting finer would count one attacker many times."""
    try:
        found = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return network
    prefix = 24 if found.version == 4 else 48
    if found.prefixlen <= prefix:
        return str(found)
    return str(found.supernet(new_prefix=prefix))


@dataclass(frozen=True, slots=True)
class Standing:
    """What the server knows of a reporter beyond their identity's age."""

    normal_calls: int = 0  # calls of at least NORMAL_CALL_SECONDS before this report
    upheld: int = 0  # their earlier reports that moderators acted on (warned or banned)
    dismissed: int = 0  # their earlier reports that moderators dismissed
    filed_today: int = 0  # reports they filed within the last day, this one included


def report_weight(
    age: float | None, full_weight_after: float, standing: Standing = Standing()
) -> float:
    """The weight of a report by a reporter whose identity is ``age`` seconds old.

    ``None`` (not a guest: the operator's login vouches for the user) and
    ``full_weight_after <= 0`` (weighting off) weigh 1. A guest's weight is the product
    of its age's share of ``full_weight_after`` and its share of
    ``CALLS_FOR_FULL_WEIGHT`` calls of normal length (each at least ``MIN_WEIGHT``),
    plus ``UPHELD_BONUS`` per upheld report, divided by one more than its dismissed
    reports; a reporter who filed more than twice as many reports today as they had
    calls weighs a tenth of that.
    """
    if age is None or full_weight_after <= 0:
        return 1.0
    aged = max(MIN_WEIGHT, min(1.0, age / full_weight_after))
    talked = max(MIN_WEIGHT, min(1.0, standing.normal_calls / CALLS_FOR_FULL_WEIGHT))
    weight = aged * talked + UPHELD_BONUS * min(standing.upheld, 4)
    weight /= 1 + standing.dismissed
    if standing.filed_today > 2 * (standing.normal_calls + 1) + standing.upheld:
        weight *= MIN_WEIGHT
    return round(max(MIN_WEIGHT * MIN_WEIGHT, min(1.0, weight)), 4)


@dataclass(frozen=True, slots=True)
class Counted:
    """One stored report as the tally sees it."""

    reporter: str
    address: str | None  # keyed hash of the reporter's wide network; None for old reports
    weight: float


@dataclass(frozen=True, slots=True)
class Tally:
    reporters: int  # distinct reporter ids
    addresses: int  # distinct reporter addresses, each reporter counted at one of them
    score: float  # the sum over addresses of their heaviest reporter's weight


def tally(reports: Iterable[Counted]) -> Tally:
    """Count reports: each reporter once (heaviest report), each address once (heaviest)."""
    by_reporter: dict[str, Counted] = {}
    for report in reports:
        best = by_reporter.get(report.reporter)
        if best is None or report.weight > best.weight:
            by_reporter[report.reporter] = report
    by_address: dict[str, float] = {}
    for report in by_reporter.values():
        # A report stored before addresses were recorded stands for its reporter alone.
        key = report.address if report.address is not None else "user:" + report.reporter
        by_address[key] = max(by_address.get(key, 0.0), report.weight)
    return Tally(len(by_reporter), len(by_address), sum(by_address.values()))


def should_cool_down(counted: Tally, threshold: float, min_addresses: int) -> bool:
    """Whether the reports within the window earn an automatic cool-down."""
    # A small tolerance: three weights of 1/3 must reach a threshold of 1.
    return counted.addresses >= min_addresses and counted.score >= threshold - 1e-9


def counting_since(now: float, window_seconds: float, last_ban_at: float | None) -> float:
    """The earliest report time that still counts towards a ban at ``now``.

    Reports strictly after the last ban count: the report that triggered a ban
    carries the ban's own time, hence the next float up.
    """
    start = now - window_seconds
    if last_ban_at is None:
        return start
    return max(start, math.nextafter(last_ban_at, math.inf))


def cooldown_reason(distinct_reporters: int, networks: int) -> str:
    users = "user" if distinct_reporters == 1 else "users"
    places = "network" if networks == 1 else "networks"
    return f"cool-down: reported by {distinct_reporters} {users} from {networks} {places}"


class _Ban(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def until(self) -> float: ...


B = TypeVar("B", bound=_Ban)


class BanList(Generic[B]):
    """The active bans, held in memory so that admitting a connection reads no database.

    The database stays the record; this list is filled from it once at start,
    then kept current by the changes the periodic refresh reads (bans made by
    the CLI or another process arrive that way) and at once for bans made
    here. Entries are anything with ``user_id`` and ``until``, and optionally
    ``address_hash``: the keyed hash of a guest's network, banned with them.

    Expired bans are dropped as time passes: a heap of end times, popped when a
    lookup sees that its earliest end has passed (O(log n) per expired ban).
    Entries left behind in the heap by a lifted or replaced ban are skipped
    when popped, and the heap is rebuilt when they outnumber the bans. The
    address index holds, per address, the users whose ban carries it; it is
    kept in step with the bans, so it never outgrows them.
    """

    def __init__(self) -> None:
        self._bans: dict[str, B] = {}
        self._ends: list[tuple[float, str]] = []
        self._by_address: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._bans)

    def replace(self, bans: Iterable[B]) -> None:
        """Hold exactly ``bans`` (the start-up load)."""
        self._bans = {}
        self._by_address = {}
        for ban in bans:
            self._put(ban)
        self._rebuild()

    def add(self, ban: B) -> None:
        """Hold ``ban`` as the user's ban; adding the same ban again costs nothing."""
        if self._bans.get(ban.user_id) == ban:
            return
        self._put(ban)
        heapq.heappush(self._ends, (ban.until, ban.user_id))
        if len(self._ends) > 2 * len(self._bans) + 1024:
            self._rebuild()

    def remove(self, user_id: str) -> None:
        ban = self._bans.pop(user_id, None)
        if ban is not None:
            self._unindex(ban)

    def active(self, user_id: str, now: float) -> B | None:
        """The ban that keeps ``user_id`` out at ``now``, if any."""
        self.prune(now)
        ban = self._bans.get(user_id)
        return ban if ban is not None and now < ban.until else None

    def active_address(self, address: str, now: float) -> B | None:
        """The longest ban that keeps the network with this keyed hash out at ``now``."""
        self.prune(now)
        found: B | None = None
        for user_id in self._by_address.get(address, ()):
            ban = self._bans[user_id]
            if now < ban.until and (found is None or ban.until > found.until):
                found = ban
        return found

    def prune(self, now: float) -> None:
        """Forget the bans that ended at or before ``now``."""
        ends = self._ends
        while ends and ends[0][0] <= now:
            _, user_id = heapq.heappop(ends)
            ban = self._bans.get(user_id)
            if ban is not None and ban.until <= now:
                del self._bans[user_id]
                self._unindex(ban)

    def _put(self, ban: B) -> None:
        old = self._bans.get(ban.user_id)
        if old is not None:
            self._unindex(old)
        self._bans[ban.user_id] = ban
        address = _address_of(ban)
        if address is not None:
            self._by_address.setdefault(address, set()).add(ban.user_id)

    def _unindex(self, ban: B) -> None:
        address = _address_of(ban)
        users = self._by_address.get(address) if address is not None else None
        if users is not None:
            users.discard(ban.user_id)
            if not users:
                del self._by_address[address]  # type: ignore[arg-type]

    def _rebuild(self) -> None:
        self._ends = [(ban.until, ban.user_id) for ban in self._bans.values()]
        heapq.heapify(self._ends)


def _address_of(ban: _Ban) -> str | None:
    address = getattr(ban, "address_hash", None)
    return address if isinstance(address, str) and address else None
