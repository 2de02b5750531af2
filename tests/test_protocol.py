"""One protocol module per side, kept in step: the page's types are generated from the server's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from randomchat import protocol, wiregen

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
