"""The moderation policy: report reasons, when reports turn into a ban, address keys.

Theory of operation. Guest identities are free, so counting reporter ids would
let one person with three tabs ban anyone. A report therefore carries the
keyed hash of the reporter's network (IPv4 address or IPv6 /64, as seen
through ``--trusted-proxy``) and a weight, and the reports about a user within
the window are tallied so that:

* each reporter counts once (their heaviest report);
* each address counts once (its heaviest reporter): three tabs, or three
  guest sessions from one address, are one voice;
* the weight of a guest's report grows with the age of their session, from
  ``MIN_WEIGHT`` for a session minted just now to 1 at ``full_weight_after``
  seconds (0: every report weighs 1); reports from the operator's own login
  system weigh 1.

A user is banned automatically when the tally has at least ``min_addresses``
distinct addresses and a score (the sum of the addresses' weights) of at least
``threshold``. Reports made before the user's latest ban do not count again:
they were dealt with by that ban (or by the administrator who lifted it).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

REPORT_REASONS = ("nudity", "harassment", "spam", "underage", "other")
MAX_NOTE = 500
AUTO_BANNED_BY = "auto"


MIN_WEIGHT = 0.1
# Keyed hashes of addresses are cut to this many hex characters (128 bits): enough
# never to collide, short enough to show in the console.
ADDRESS_HASH_HEX = 32


def should_ban(distinct_reporters: int, threshold: int) -> bool:
    """Whether this many different reporters within the window earn a ban (unweighted)."""
    return distinct_reporters >= threshold


def address_hash(key: bytes, network: str) -> str:
    """The keyed hash under which a network (``proxy.network_of``) is stored; never the address.

    HMAC-SHA256 with a server secret: without the key, a stored hash cannot be
    turned back into an address by hashing all 2^32 IPv4 addresses.
    """
    digest = hmac.new(key, network.encode(), hashlib.sha256).hexdigest()
    return digest[:ADDRESS_HASH_HEX]


def report_weight(session_age: float | None, full_weight_after: float) -> float:
    """The weight of a report whose reporter's session is ``session_age`` seconds old.

    ``None`` (not a guest session: the operator's login vouches for the user) and
    ``full_weight_after <= 0`` (weighting off) weigh 1.
    """
    if session_age is None or full_weight_after <= 0:
        return 1.0
    return max(MIN_WEIGHT, min(1.0, session_age / full_weight_after))


@dataclass(frozen=True, slots=True)
class Counted:
    """One stored report as the tally sees it."""

    reporter: str
    address: str | None  # keyed hash of the reporter's network; None for old reports
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


def should_auto_ban(counted: Tally, threshold: float, min_addresses: int) -> bool:
    """Whether the reports within the window earn an automatic ban."""
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


def auto_ban_reason(distinct_reporters: int, addresses: int | None = None) -> str:
    users = "user" if distinct_reporters == 1 else "users"
    if addresses is None:
        return f"reported by {distinct_reporters} {users}"
    places = "address" if addresses == 1 else "addresses"
    return f"reported by {distinct_reporters} {users} from {addresses} {places}"


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
