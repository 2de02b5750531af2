from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.turn.coturn import Coturn, running_coturn


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    """A real coturn on loopback with ``use-auth-secret``, for one test."""
    with running_coturn(tmp_path) as turn:
        yield turn
