"""One protocol module per side, kept in step: the page's types are generated from the server's."""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path

import pytest

from randomchat import protocol, wiregen
from randomchat.db import Database
from randomchat.errors import InvalidPayload
from randomchat.lobby import Lobby
from randomchat.metrics import Metrics
from randomchat.protocol import parse, parse_requests
from randomchat.rules import Rules
from randomchat.store import MemoryStore
from tests.fakes import FakeClock

pytestmark = pytest.mark.pure

ROOT = Path(__file__).resolve().parent.parent


def test_the_pages_wire_types_are_generated_from_the_server_module() -> None:
    """Fails when protocol.py changed and `make protocol` was not run, or wire.gen.ts was edited."""
    generated = (ROOT / wiregen.GENERATED).read_text()
    assert generated == wiregen.typescript(), (
        "run `make protocol` and commit web/src/lib/wire.gen.ts"
    )


def test_docs_name_every_event() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text()
    documented = set(re.findall(r"`([a-z]+(?:-[a-z]+)*)`", text))
    events = {str(e) for e in protocol.ClientEvent} | {str(e) for e in protocol.ServerEvent}
    assert events - documented == set()


def test_every_event_has_a_payload_entry() -> None:
    assert set(protocol.SERVER_PAYLOADS) == set(protocol.ServerEvent)
    assert set(protocol.CLIENT_PAYLOADS) == set(protocol.ClientEvent)


# -- event names come only from the enums ------------------------------------------------

SRC = ROOT / "src" / "randomchat"
PROTOCOL = SRC / "protocol"
# Words that are event names and, in these modules, something else. Each entry must still
# be used (a stale one fails), and lines inside a logging call are not counted at all.
NOT_EVENTS: dict[str, dict[str, str]] = {
    "banstatus.py": {"banned": "the field of GET /api/ban"},
    "config.py": {"error": "a log level"},
    "problems.py": {"banned": "an HTTP problem code", "rate-limited": "an HTTP problem code"},
    "console/actions.py": {"banned": "a report's status after review"},
    "console/desk.py": {"banned": "a field of the console's user view"},
    "console/shapes.py": {"banned": "a report's status"},
    "db/safety.py": {"banned": "a report's status"},
    "db/triage.py": {"banned": "a report's status"},
    "core/state.py": {"leave": "a move of the state table"},
    "sio/sockets.py": {"leave": "a socket's state"},
    "lobby/context.py": {"typing": "the name of a per-user limit"},
}
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _logging_call(node: ast.AST) -> bool:
    """A logging call, or the ``extra = {...}`` built for one."""
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "extra" for t in node.targets)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _LOG_METHODS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"log", "logger", "logging"}
    )


def event_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of each string constant equal to an event name, outside logging."""
    names = {str(e) for e in protocol.ClientEvent} | {str(e) for e in protocol.ServerEvent}
    tree = ast.parse(source)
    logged: set[int] = set()
    for node in ast.walk(tree):
        if _logging_call(node):
            logged |= {id(inner) for inner in ast.walk(node)}
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in names
        and id(node) not in logged
    )


def test_no_event_name_is_spelled_outside_the_protocol_package() -> None:
    found, allowed_seen = [], set()
    for path in sorted(SRC.rglob("*.py")):
        if PROTOCOL in path.parents:
            continue
        rel = path.relative_to(SRC).as_posix()
        for line, value in event_literals(path.read_text()):
            if value in NOT_EVENTS.get(rel, {}):
                allowed_seen.add((rel, value))
            else:
                found.append(f"src/randomchat/{rel}:{line}: {value!r}")
    assert found == [], "use ClientEvent / ServerEvent:\n" + "\n".join(found)
    stale = {(f, v) for f, words in NOT_EVENTS.items() for v in words} - allowed_seen
    assert stale == set(), "NOT_EVENTS names a word no longer used there"


def test_the_scan_finds_an_event_name_and_skips_logging() -> None:
    """The scan above cannot pass by finding nothing."""
    source = 'emit("match-found")\nlog.info("x", extra={"error": 1})\nlog.info("banned")\n'
    assert event_literals(source) == [(1, "match-found")]
    assert event_literals('extra = {"error": 1}\nsend("error")\n') == [(2, "error")]


def test_the_protocol_package_is_a_leaf() -> None:
    """It imports nothing of the server but its errors (core, lobby, store... import it)."""
    for path in PROTOCOL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("randomchat"):
                assert node.module in {"randomchat.errors"} or node.module.startswith(
                    "randomchat.protocol"
                ), f"{path.name} imports {node.module}"


# -- every client event is parsed and handled ----------------------------------------------


def test_every_client_event_has_a_parser() -> None:
    assert set(protocol.PARSERS) == set(protocol.ClientEvent)
    for event, parser in protocol.PARSERS.items():
        with pytest.raises(InvalidPayload) as info:
            parser(("not an object", "and another"))
        assert info.value.event == event, parser.__name__


async def test_every_client_event_has_a_handler(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'lobby.db'}")
    try:
        lobby = Lobby(MemoryStore(), db, FakeClock(), Metrics(), Rules())
        assert set(lobby.handlers()) == set(protocol.ClientEvent)
    finally:
        await db.close()


def test_search_options_parse_to_the_one_value() -> None:
    options = parse.find_partner(({"interests": ["A"], "strict": True, "mode": "text"},))
    assert options == protocol.SearchOptions(frozenset({"a"}), True, False, "text")
    assert parse.next_partner(()) == protocol.SearchOptions()
    with pytest.raises(InvalidPayload, match="next: 'mode' must be one of video, text"):
        parse.next_partner(({"mode": "audio"},))


def test_a_report_is_parsed_whole() -> None:
    jpeg = base64.b64encode(b"\xff\xd8\xff" + b"\0" * 10 + b"\xff\xd9").decode()
    payload = {"reason": "spam", "note": " hi ", "callId": "c1", "picture": jpeg}
    report = parse_requests.report_partner((payload,))
    assert report == parse_requests.Report("spam", "hi", "c1", base64.b64decode(jpeg))
    with pytest.raises(InvalidPayload, match="'picture' is not a JPEG"):
        parse_requests.report_partner(({"reason": "spam", "picture": "AAAA"},))
    with pytest.raises(InvalidPayload, match="'callId' must be"):
        parse_requests.block_partner(({"callId": ""},))
