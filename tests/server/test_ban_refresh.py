"""The periodic ban refresh reads only what changed and survives bad rows (issue 8 item 14)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from randomchat.app import create_app
from randomchat.auth import Identity
from randomchat.config import Settings
from randomchat.db import Database
from randomchat.db.database import MAX_UNTIL
from randomchat.db.schema import bans
from randomchat.errors import Banned
from tests.conftest import SECRET
from tests.server.harness import live_server, ready

pytestmark = pytest.mark.server

ACTIVE = 2000


async def _insert(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db._engine.begin() as conn:
        await conn.execute(bans.insert(), rows)


async def test_refresh_after_the_first_reads_changes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(jwt_secret=SECRET, data_dir=tmp_path, web_dir="/nonexistent")
    db = await Database.open(settings.database)
    try:
        now = time.time()
        await _insert(
            db,
            [
                {
                    "user_id": f"u{i}",
                    "reason": "x",
                    "created_at": now - 3600,
                    "until": now + 3600,
                    "created_by": "t",
                }
                for i in range(ACTIVE)
            ],
        )
        app = create_app(settings, db)
        await app.refresh_bans()  # the start-up load reads them all, once

        async def no_full_reads(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the periodic refresh read every active ban")

        monkeypatch.setattr(db, "active_bans", no_full_reads)
        await app.refresh_bans()

        # Made elsewhere (the CLI): a new ban, a lift, and a row with an infinite end
        # as older versions could store; one bad row must not stop the others.
        await db.ban("new", until=time.time() + 60, reason="x", created_by="cli", now=time.time())
        await db.unban("u7", time.time())
        await _insert(
            db,
            [
                {
                    "user_id": "forever",
                    "reason": "x",
                    "created_at": time.time(),
                    "until": float("inf"),
                    "created_by": "old",
                }
            ],
        )
        await app.refresh_bans()
        for user, until in [("new", None), ("forever", MAX_UNTIL), ("u8", None)]:
            with pytest.raises(Banned) as refused:
                app.lobby.moderation.admit(Identity(user, user))
            if until is not None:
                assert refused.value.until == until
        app.lobby.moderation.admit(Identity("u7", "u7"))  # lifted: admitted again
    finally:
        await db.close()


async def test_a_ban_made_elsewhere_disconnects_the_user() -> None:
    async with live_server() as live:
        peer = await ready(live.url, "Troll")
        await live.app.refresh_bans()  # past the start-up load
        now = time.time()
        await live.app.db.ban(peer.sub, until=now + 60, reason="spam", created_by="cli", now=now)
        await live.app.refresh_bans()
        banned = await peer.expect("banned")
        assert banned["reason"] == "spam"
        await peer.close()
