"""The page's side of the wire protocol, generated from ``randomchat.protocol``.

``make protocol`` (``python -m randomchat.wiregen``) writes ``web/src/lib/wire.gen.ts``:
the aliases, one TypeScript interface per payload TypedDict, the two event maps, and the
values the page checks against (report reasons, the note's bound, the connect refusals).
A test fails when that file differs from what this module generates.
"""

import types
import typing
from pathlib import Path
from typing import Any, Literal

from randomchat.protocol import (
    ALIASES,
    CLIENT_PAYLOADS,
    MAX_NOTE,
    REPORT_REASONS,
    SERVER_PAYLOADS,
    ClientEvent,
    Refusal,
    ServerEvent,
    payloads,
)
from randomchat.protocol.parse import MAX_LANGUAGES

GENERATED = Path("web/src/lib/wire.gen.ts")


def _ts(tp: Any, aliases: dict[int, str]) -> str:
    """The TypeScript for one Python type annotation."""
    if id(tp) in aliases:
        return aliases[id(tp)]
    if tp is None or tp is type(None):
        return "null"
    if tp is str:
        return "string"
    if tp in (int, float):
        return "number"
    if tp is bool:
        return "boolean"
    if typing.is_typeddict(tp):
        return str(tp.__name__)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return " | ".join(f"'{value}'" for value in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_ts(arg, aliases) for arg in args)
    if origin is list:
        inner = _ts(args[0], aliases)
        return f"({inner})[]" if " " in inner else f"{inner}[]"
    raise TypeError(f"no TypeScript for {tp!r}")


def _interface(td: Any, aliases: dict[int, str]) -> str:
    hints = typing.get_type_hints(td)
    if not hints:
        return f"export type {td.__name__} = Record<string, never>;\n"
    lines = [f"export interface {td.__name__} {{"]
    for name, hint in hints.items():
        optional = "?" if name in td.__optional_keys__ else ""
        lines.append(f"  {name}{optional}: {_ts(hint, aliases)};")
    return "\n".join(lines) + "\n}\n"


def _typeddicts() -> list[Any]:
    return [
        value
        for value in vars(payloads).values()
        if typing.is_typeddict(value) and value.__module__ == payloads.__name__
    ]


def typescript() -> str:
    """The page's ``wire.gen.ts``: aliases, one interface per payload, the two event maps."""
    aliases = {id(tp): name for name, tp in ALIASES.items()}
    out = [
        "// Generated from src/randomchat/protocol/ by `make protocol`: do not edit.",
        "// A test fails when this file and the server's protocol module disagree.",
        "",
    ]
    for name, tp in ALIASES.items():
        out.append(f"export type {name} = {_ts(tp, {})};")
    out.append("")
    out += [_interface(td, aliases) for td in _typeddicts()]
    out.append("/** server -> client: event name -> payload (undefined: none) */")
    out.append("export interface ServerEvents {")
    for event, payload in SERVER_PAYLOADS.items():
        ts = "undefined" if payload is None else _ts(payload, aliases)
        out.append(f"  '{event}': {ts};")
    out.append("}\n")
    out.append("/** client -> server: event name -> the arguments of emit after the name */")
    out.append("export interface ClientEvents {")
    for client_event, payload in CLIENT_PAYLOADS.items():
        if payload is None:
            args = ""
        elif isinstance(payload, tuple):
            args = f"options?: {_ts(payload[0], aliases)}"
        else:
            args = _ts(payload, aliases)
        out.append(f"  '{client_event}': [{args}];")
    out.append("}\n")
    names = ", ".join(f"'{event}'" for event in ServerEvent)
    out.append(f"export const SERVER_EVENTS = [{names}] as const;")
    names = ", ".join(f"'{event}'" for event in ClientEvent)
    out.append(f"export const CLIENT_EVENTS = [{names}] as const;")
    out.append("")
    reasons = ", ".join(f"'{reason}'" for reason in REPORT_REASONS)
    out.append(f"export const REPORT_REASONS: readonly ReportReason[] = [{reasons}];")
    out.append(f"export const MAX_REPORT_NOTE = {MAX_NOTE};")
    out.append(f"export const MAX_LANGUAGES = {MAX_LANGUAGES};  /* SearchRequest.languages */")
    out.append(
        "/** `err.message` of a connect_error the page acts on (the others are for people). */"
    )
    out.append("export const REFUSAL = {")
    out += [f"  {refusal.name}: '{refusal}'," for refusal in Refusal]
    out.append("} as const;")
    return "\n".join(out) + "\n"


def main() -> None:
    """Write ``web/src/lib/wire.gen.ts`` (run from the repository's root)."""
    GENERATED.write_text(typescript())
    print(f"wrote {GENERATED}")


if __name__ == "__main__":
    main()
