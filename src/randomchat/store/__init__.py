"""Where the queue and the pairs live. One seam: ``Store``; ``memory`` is the embedded default."""

from randomchat.store.base import Counts, Matched, Member, Queued, SearchResult, Store, Taken
from randomchat.store.memory import MemoryStore

__all__ = ["Counts", "Matched", "Member", "MemoryStore", "Queued", "SearchResult", "Store", "Taken"]
