"""How many calls of normal length each user had: part of a reporter's standing.

A report weighs more when its reporter has talked to people before (``core.moderation``):
identities made to report, which wait for one target and report within seconds, have
no such calls. Counted per process, for the users who ended calls here (a cluster's
nodes each count their own); bounded, the least recently counted user forgotten first,
which only makes a forgotten user's next report weigh as a newcomer's.
"""

from __future__ import annotations

from collections import OrderedDict

from randomchat.core.moderation import NORMAL_CALL_SECONDS


class Conversations:
    def __init__(self, max_users: int = 100_000) -> None:
        self._max = max_users
        self._calls: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def ended(self, user_id: str, seconds: float) -> None:
        """A call of ``user_id`` ended after ``seconds``; counted if it was a conversation."""
        if seconds < NORMAL_CALL_SECONDS:
            return
        self._calls[user_id] = self._calls.get(user_id, 0) + 1
        self._calls.move_to_end(user_id)
        if len(self._calls) > self._max:
            self._calls.popitem(last=False)

    def count(self, user_id: str) -> int:
        return self._calls.get(user_id, 0)
