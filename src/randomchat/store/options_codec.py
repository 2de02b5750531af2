"""A search's options as one string in a shared store's record, and back.

Compact JSON of the ``SearchOptions`` fields, read from the dataclass itself: a
field added to the options is stored, read back and round-trip tested
(tests/core/test_search_options_encoding.py) with no edit here. Sets are sorted
lists; a field absent from a stored value takes its default (a record written
before the field existed). The layout of the record around it is another matter:
docs/scaling.md, "Rolling deploys", says when all nodes must change together.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from typing import Any

from randomchat.protocol import SearchOptions


def encode(options: SearchOptions) -> str:
    out: dict[str, Any] = {}
    for f in fields(options):
        value = getattr(options, f.name)
        out[f.name] = sorted(value) if isinstance(value, frozenset) else value
    return json.dumps(out, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def decode(raw: str) -> SearchOptions:
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("stored search options are not an object")
    values: dict[str, Any] = {}
    for f in fields(SearchOptions):
        if f.name not in data:
            continue
        value = data[f.name]
        default = f.default if f.default is not MISSING else None
        if isinstance(default, frozenset):
            value = frozenset(value)
        elif isinstance(default, tuple):
            value = tuple(value)
        values[f.name] = value
    return SearchOptions(**values)
