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
"""

from __future__ import annotations

import json
import logging
import re
import sys
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
