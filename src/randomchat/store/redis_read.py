"""A search's read of the Redis queue, and its ranking of what it read (``store.redis``)."""

from __future__ import annotations

from redis.commands.core import AsyncScript

from randomchat.core.matching import Pick, Seeker, Waiting, ideal, pick
from randomchat.store import redis_scripts as lua
from randomchat.store.redis_base import text

SCAN_LIMIT = 512  # entries read per index list per search at most: the oldest of each
PAGE = 32  # entries read per index list at a time
CLAIM_BATCH = 16  # candidates one claim script tries, best first


async def read_entries(
    read_page: AsyncScript, keys: list[str], prefix: str, seeker: Seeker
) -> tuple[list[tuple[int, Waiting]], int]:
    """The waiting entries on the index lists ``keys`` (``core.matching.seeker_lists``
    of ``seeker``), oldest first, and the arrival counter as of the read (entries that
    arrive later are not in it).

    Page by page (``PAGE`` of each index list, one ``READ`` script call each): usually
    the first page holds an entry nothing could rank above, and the read stops there; at
    most ``SCAN_LIMIT`` of each list are read.
    """
    entries: list[tuple[int, Waiting]] = []
    seen = {seeker.sid}
    read_at: int | None = None
    for start in range(0, SCAN_LIMIT, PAGE):
        reply = await read_page(keys=keys, args=[prefix, seeker.sid, start, start + PAGE - 1])
        if read_at is None:
            read_at = int(reply[0])  # the first page's: a later arrival may be unread
        rows = [reply[i : i + lua.ENTRY] for i in range(2, len(reply), lua.ENTRY)]
        fresh = [row for row in rows if text(row[0]) not in seen]
        seen.update(text(row[0]) for row in fresh)
        entries += lua.entries((text(row[0]) for row in fresh), (row[1:] for row in fresh))
        if "1" not in text(reply[1]):
            break  # every list read to its end
        best = pick(seeker, (entry for _, entry in sorted(entries, key=lambda e: e[0])))
        if best is not None and ideal(seeker, best):
            break
    return sorted(entries, key=lambda pair: pair[0]), read_at or 0


def best_of(seeker: Seeker, entries: list[tuple[int, Waiting]]) -> list[tuple[Pick, int]]:
    """The ``CLAIM_BATCH`` best candidates for ``seeker``, in ``core.matching.pick``'s order."""
    ranked: list[tuple[Pick, int]] = []
    rest = entries
    while rest and len(ranked) < CLAIM_BATCH:
        best = pick(seeker, (entry for _, entry in rest))
        if best is None:
            break
        seq = next(seq for seq, entry in rest if entry is best.entry)
        ranked.append((best, seq))
        rest = [pair for pair in rest if pair[1] is not best.entry]
    return ranked
