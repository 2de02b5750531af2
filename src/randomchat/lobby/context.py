"""What every part of the lobby works with: the seams, the rules, the clock, and two helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

from randomchat.clock import Clock
from randomchat.core.conversations import Conversations
from randomchat.db import Database
from randomchat.delivery import CallScope
from randomchat.lobby.connections import Connection, Connections
from randomchat.lobby.effects import Effect, Emit
from randomchat.metrics import Metrics
from randomchat.protocol import MessageId, RateLimited, RateLimitedEvent, ServerEvent
from randomchat.rules import Rules
from randomchat.store import Store
from randomchat.store.shared import Blocks, Calls, Limits, Meetings

# Names of the per-user limits (``Limits``), and the text a person reads when one refuses.
FIND = "find"
CHAT = "chat"
TYPING = "typing"
REPORT = "report"
# Reports stored (each with up to 20 chat lines) per guest network a day, whatever its
# number of guest identities: one address pairing its own guests filed 208 a minute.
STORED_REPORTS = "stored-reports"
_MESSAGES = {
    FIND: "Please wait before searching again",
    CHAT: "You are sending messages too fast",
    REPORT: "You are reporting too often",
    STORED_REPORTS: "You are reporting too often",
}


@dataclass
class Context:
    store: Store  # the queue and the pairs (shareable)
    meetings: Meetings  # the repeat window and previous partners (per user, shareable)
    blocks: Blocks  # per user, shareable
    calls: Calls  # per call, both sides (shareable)
    limits: Limits  # per-user rate limits (shareable)
    connections: Connections  # per connection, this process only
    db: Database
    clock: Clock
    metrics: Metrics
    rules: Rules
    # calls of normal length per user, for the weight of their reports (this process)
    conversations: Conversations = field(default_factory=Conversations)
    # the partner each socket here was last told of (written by the delivery as it
    # writes call events): where a socket's signals, chat and media state go
    told: CallScope = field(default_factory=CallScope)

    def wall(self) -> float:
        """Unix seconds."""
        return self.clock.wall_ms() / 1000

    def count(self, sid: str) -> Connection:
        """The connection of ``sid``, its message counted for connection quality."""
        conn = self.connections[sid]
        conn.metrics.count_message()
        return conn

    async def limited(
        self,
        limit: str,
        sid: str,
        conn: Connection,
        event: RateLimitedEvent,
        msg_id: MessageId | None = None,
        key: str | None = None,
    ) -> list[Effect]:
        """A ``rate-limited`` reply if ``limit`` refuses, naming the event (and message id).

        The limit is the user's unless ``key`` names another bucket (a network)."""
        wait = await self.limits.take(limit, key or conn.user_id, self.clock.monotonic())
        if not wait:
            return []
        self.metrics.rate_limited.labels(event).inc()
        payload = RateLimited(
            message=_MESSAGES[limit], retryAfter=max(1, round(wait * 1000)), event=event
        )
        if msg_id is not None:
            payload["id"] = msg_id
        return [Emit(sid, ServerEvent.RATE_LIMITED, payload)]
