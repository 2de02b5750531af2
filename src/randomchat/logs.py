"""Structured logs: one JSON object per line, with whatever ``extra`` a call passes.

Callers pass user ids and sids in ``extra``, never tokens or SDP bodies. Two
guards stand behind that rule, for text we do not write ourselves (uvicorn's
lines name the request path with its query string, where a client may have
put ``?token=...``):

- query strings are cut from every path-like value (``/x?a=b`` -> ``/x?...``);
- anything shaped like a JWT (``eyJ...``) is replaced by ``[redacted]``.

The line's own keys (``ts``, ``level``, ``logger``, ``event``, ``exc``) cannot be
overwritten by an ``extra`` of the same name: that one is written as
``event_`` (and so on) instead.

Lines a client can cause at will (its malformed or refused events) go through a
``LogSampler``, so that no client fills the disk; the metrics count every event.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
RESERVED = ("ts", "level", "logger", "event", "exc")

# A JWT: base64url header starting {"  (eyJ), payload, optional signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
# A query string after a path: "/socket.io/?EIO=4&token=..." up to a space or quote.
_QUERY = re.compile(r"(/[^\s\"'?\\]*)\?[^\s\"'\\]*")


def scrub(text: str) -> str:
    """``text`` without query strings or JWTs."""
    if "?" in text:
        text = _QUERY.sub(r"\1?...", text)
    if "eyJ" in text:
        text = _JWT.sub("[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key + "_" if key in RESERVED else key] = value
        line = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **line,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str))


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own lines (start-up, websocket handshakes, errors) in the same
    # format and through the same scrubbing; its access log is switched off in
    # httpserver.py.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    uvicorn_lines = logging.getLogger("uvicorn.error")
    uvicorn_lines.filters[:] = [] if root.level < logging.INFO else [_per_websocket_lines]


# At info, uvicorn and websockets write three lines for every websocket ("[accepted]",
# "connection open", "connection closed"): most of a call's lines, each costing CPU. Our
# own lines say what an operator needs (one per finished call, refusals, bans, reports);
# uvicorn's other lines (start-up, shutdown, rejected handshakes) stay.
_PER_WEBSOCKET = frozenset(
    {'%s - "WebSocket %s" [accepted]', "connection open", "connection closed"}
)


def _per_websocket_lines(record: logging.LogRecord) -> bool:
    return record.msg not in _PER_WEBSOCKET


@dataclass(slots=True)
class _Seen:
    written: int = 0
    last: float = 0.0  # when its last line was written
    skipped: int = 0  # lines not written since


class LogSampler:
    """Which of the lines a client causes at will to write, per key (a connection).

    Per key: the first ``first`` lines, then one per ``every`` seconds; across all keys,
    at most ``overall`` lines per ``every`` seconds. A written line is told how many of
    its key's lines were skipped before it, so nothing goes unmentioned.

    Why this shape: the first lines of a connection carry what an operator debugging a
    broken client needs (which event, what was wrong), and later ones mostly repeat
    them; one line a minute then shows the client is still at it. Per key alone, a
    client that reconnects over and over would get ``first`` lines each time, hence the
    overall cap: with the defaults a flood writes at most 100 lines a minute (about
    25 KB) whatever it does. Pure: the caller passes the time; ``forget`` drops a key
    (its connection closed), and at most ``max_keys`` are kept, oldest dropped first (a
    late line of a socket that closed meanwhile adds its key back: the bound catches it).
    """

    def __init__(
        self, first: int = 5, every: float = 60.0, overall: int = 100, max_keys: int = 10_000
    ) -> None:
        self.first = first
        self.every = every
        self.overall = overall
        self.max_keys = max_keys
        self._seen: dict[str, _Seen] = {}
        self._window = float("-inf")  # start of the current overall window
        self._in_window = 0

    def __len__(self) -> int:
        return len(self._seen)

    def take(self, key: str, now: float) -> int | None:
        """None: skip this line. Else write it, saying how many of ``key``'s were skipped."""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _Seen()
            if len(self._seen) > self.max_keys:
                del self._seen[next(iter(self._seen))]
        due = seen.written < self.first or now - seen.last >= self.every
        if not due or not self._within_overall(now):
            seen.skipped += 1
            return None
        skipped, seen.skipped = seen.skipped, 0
        seen.written += 1
        seen.last = now
        return skipped

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def _within_overall(self, now: float) -> bool:
        if now - self._window >= self.every:
            self._window, self._in_window = now, 0
        if self._in_window >= self.overall:
            return False
        self._in_window += 1
        return True
