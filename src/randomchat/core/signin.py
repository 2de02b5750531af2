"""Console sign-in back-off: failed password checks slow later attempts, never lock out.

Theory of operation
-------------------
Three tallies of failed sign-ins, each a bounded table of (count, time of the last
failure):

- per client network (an IPv4 address or an IPv6 /64) over every name it tries:
  what one network may guess in all;
- per (network, name): one network guessing at one account;
- per name over every network: one account guessed at from many networks.

A tally of n failures asks for ``Backoff.wait(n)`` seconds (nothing for the first
``free`` failures, then ``first`` doubling up to ``cap``), counted from the last
failure *of the network asking*. That is what keeps a drip of wrong passwords from
elsewhere from locking the owner out:

- the per-name tally lengthens the wait only of networks that have failed at that
  name themselves; a network that never failed at it is held back by nothing but
  its own tally over all names;
- every wait runs from the asking network's own last failure, which no other
  network can push back; a network that must wait is therefore let in at most
  ``cap`` seconds after its own last failure, whatever others do.

An attempt counts as a failure from the moment it is let through, so a burst sent
at once cannot slip past the wait while its password hashes run; a right password
takes it back (``succeeded``) and forgets the network's failures at that name; an
attempt whose password was never checked (the database was down) is taken back
too (``cancelled``). A refused attempt changes nothing: retrying early neither
helps nor hurts.

The policy never learns whether a name exists: an unknown name is tallied exactly
as a known one, so its answers (401, or 429 and when to retry) cannot tell them
apart.

Bounds: each table holds at most ``max_keys`` records; a record is forgotten
``forget`` seconds after its last failure, and when a table is full the record
with the oldest last failure is dropped first. Dropping a record only shortens a
wait; to have a busy attacker's record dropped takes ``max_keys`` fresher
failures, each of them paid for under the per-network tally.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Backoff:
    """No wait for the first ``free`` failures, then ``first`` seconds doubling to ``cap``."""

    free: int
    first: float
    cap: float

    def wait(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        # The exponent is bounded so that a tally that kept growing cannot overflow.
        return min(self.cap, self.first * 2.0 ** min(failures - self.free - 1, 60))


# A team behind one NAT may mistype a few times between them before anyone waits.
NETWORK = Backoff(free=10, first=1.0, cap=300.0)
# Three typos of one's own password are free; a guesser soon waits 5 minutes a guess.
PAIR = Backoff(free=3, first=2.0, cap=300.0)
# An account under attack: a network that has failed at it waits up to a minute a
# try from its own last failure, and its owner, if they mistype then, a minute too.
ACCOUNT = Backoff(free=10, first=2.0, cap=60.0)
# Well above every cap: a steady guesser never waits long enough to be forgotten.
FORGET_SECONDS = 3600.0
MAX_KEYS = 10_000


@dataclass(slots=True)
class Tally:
    count: int
    last: float  # time of the last failure


class Tallies(Generic[K]):
    """Tallies by key: at most ``max_keys``, each forgotten ``forget`` s after its last failure.

    Kept in order of last failure (``now`` never goes back), so the records to forget
    or to evict are always at the front.
    """

    def __init__(self, max_keys: int, forget: float) -> None:
        self._max_keys = max_keys
        self._forget = forget
        self._tallies: OrderedDict[K, Tally] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tallies)

    def get(self, key: K, now: float) -> Tally | None:
        tally = self._tallies.get(key)
        if tally is not None and now - tally.last >= self._forget:
            del self._tallies[key]
            return None
        return tally

    def strike(self, key: K, now: float) -> None:
        tally = self.get(key, now)
        if tally is None:
            tally = self._tallies[key] = Tally(0, now)
        tally.count += 1
        tally.last = now
        self._tallies.move_to_end(key)
        while self._tallies:
            oldest = next(iter(self._tallies))
            if len(self._tallies) <= self._max_keys and (
                now - self._tallies[oldest].last < self._forget
            ):
                break
            del self._tallies[oldest]

    def take_back(self, key: K) -> None:
        tally = self._tallies.get(key)
        if tally is not None:
            tally.count -= 1
            if tally.count <= 0:
                del self._tallies[key]

    def clear(self, key: K) -> None:
        self._tallies.pop(key, None)


class SignInPolicy:
    """When a sign-in attempt may go on; see the module docstring for the rules."""

    def __init__(
        self,
        network: Backoff = NETWORK,
        pair: Backoff = PAIR,
        account: Backoff = ACCOUNT,
        *,
        forget: float = FORGET_SECONDS,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if forget < max(network.cap, pair.cap, account.cap):
            raise ValueError("forget must outlast the longest wait")
        self.network, self.pair, self.account = network, pair, account
        self.networks: Tallies[str] = Tallies(max_keys, forget)
        self.pairs: Tallies[tuple[str, str]] = Tallies(max_keys, forget)
        self.accounts: Tallies[str] = Tallies(max_keys, forget)

    def wait(self, network: str, name: str, now: float) -> float:
        """Seconds ``network`` must wait before trying ``name``; 0.0 if it may go on."""
        wait = 0.0
        net = self.networks.get(network, now)
        if net is not None:
            wait = self.network.wait(net.count) - (now - net.last)
        pair = self.pairs.get((network, name), now)
        if pair is not None:
            account = self.accounts.get(name, now)
            needed = max(
                self.pair.wait(pair.count),
                self.account.wait(account.count if account is not None else 0),
            )
            wait = max(wait, needed - (now - pair.last))
        return max(wait, 0.0)

    def start(self, network: str, name: str, now: float) -> float:
        """Like ``wait``; when that is 0.0 the attempt is let through and counted as failed."""
        wait = self.wait(network, name, now)
        if wait > 0:
            return wait
        self.networks.strike(network, now)
        self.pairs.strike((network, name), now)
        self.accounts.strike(name, now)
        return 0.0

    def succeeded(self, network: str, name: str) -> None:
        """The password was right: the attempt was no failure, and the network's own
        earlier failures at this name are forgiven (not those of other networks)."""
        self.networks.take_back(network)
        self.accounts.take_back(name)
        self.pairs.clear((network, name))

    def cancelled(self, network: str, name: str) -> None:
        """The password was never checked: the attempt counts for nothing."""
        self.networks.take_back(network)
        self.accounts.take_back(name)
        self.pairs.take_back((network, name))
