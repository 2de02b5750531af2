"""``StorageError``: the one error the database layer raises.

It lives here until it joins the tree in ``randomchat.errors``.
"""

from __future__ import annotations

from randomchat.errors import RandomChatError


class StorageError(RandomChatError):
    """The database refused or failed an operation; the cause is chained."""
