"""The JSON log line: its own keys win, and no token or query string gets through."""

from __future__ import annotations

import json
import logging

import pytest

from randomchat.logs import JsonFormatter, configure, scrub

pytestmark = pytest.mark.server

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def record(msg: str, args: tuple[object, ...] = (), **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("randomchat.x", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_extra_cannot_overwrite_the_lines_own_keys() -> None:
    line = json.loads(
        JsonFormatter().format(
            record("invalid payload", event="find-partner", level="x", logger="y", ts=1, sid="s")
        )
    )
    assert line["event"] == "invalid payload" and line["level"] == "info"
    assert line["logger"] == "randomchat.x" and line["ts"] != 1
    assert line["event_"] == "find-partner" and line["level_"] == "x" and line["sid"] == "s"


def test_query_strings_and_jwts_are_scrubbed() -> None:
    rec = record('%s - "WebSocket %s" [accepted]', ("1.2.3.4:5", f"/socket.io/?EIO=4&token={JWT}"))
    rec.__dict__["note"] = f"Bearer {JWT}"
    out = JsonFormatter().format(rec)
    assert JWT not in out and "token=" not in out
    line = json.loads(out)  # still valid JSON
    assert line["event"] == '1.2.3.4:5 - "WebSocket /socket.io/?..." [accepted]'
    assert line["note"] == "Bearer [redacted]"
    assert scrub("nothing to see") == "nothing to see"


def test_uvicorn_lines_per_websocket_are_only_written_at_debug() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    uvicorn = logging.getLogger("uvicorn.error")

    def kept(msg: str, *args: object) -> bool:
        return uvicorn.filter(logging.LogRecord(uvicorn.name, logging.INFO, "", 0, msg, args, None))

    try:
        configure("info")
        assert not kept("connection open") and not kept("connection closed")
        assert not kept('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/socket.io/")
        assert kept("Uvicorn running on %s", "http://127.0.0.1:3000")
        assert kept('%s - "WebSocket %s" 403', "127.0.0.1:5", "/socket.io/")
        configure("debug")
        assert kept("connection open")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        uvicorn.filters[:] = []
