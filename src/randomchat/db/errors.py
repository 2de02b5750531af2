"""The database layer raises ``randomchat.errors.StorageError``; re-exported here."""

from __future__ import annotations

from randomchat.errors import StorageError

__all__ = ["StorageError"]
