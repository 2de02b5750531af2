"""The audit log as JSON lines or CSV, for a download.

CSV cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return first) get a leading apostrophe: reasons are typed by
moderators, but targets are user ids and user ids come from tokens.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from randomchat.db.audit import AuditEntry

FIELDS = ("id", "at", "time", "actor", "action", "target", "reason", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "time": datetime.fromtimestamp(entry.at, UTC).isoformat(timespec="seconds"),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "reason": entry.reason,
        "detail": entry.detail,
    }


def json_lines(entries: Iterable[AuditEntry]) -> str:
    return "".join(json.dumps(entry_json(e), ensure_ascii=False) + "\n" for e in entries)


def _cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(entries: Iterable[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for entry in entries:
        row = entry_json(entry)
        writer.writerow([_cell(row[field]) for field in FIELDS])
    return out.getvalue()
