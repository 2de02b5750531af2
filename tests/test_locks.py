"""The locks (requirements/*.txt, made by ``make lock``) stay in step with pyproject.toml.

A dependency added to pyproject.toml without ``make lock`` would be missing from every
install (``uv pip sync`` installs exactly the lock); a lock edited by hand could give
the server image other versions than the tests ran with.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.pure

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name: version`` of a lock, after checking that every pin carries a hash."""
    found: dict[str, str] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for block in blocks:
        match = PIN.match(block)
        if match is None:
            continue
        assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
        found[normal(match.group(1))] = match.group(2)
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    names = {normal(re.split(r"[\[<>=!~;\s]", req, maxsplit=1)[0]) for req in requirements}
    return names - {"randomchat"}


def test_every_dependency_is_locked_with_hashes_and_the_server_lock_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = pins(ROOT / "requirements/dev.txt")
    server = pins(ROOT / "requirements/server.txt")
    runtime = requirement_names(project["dependencies"])
    extras = set().union(*map(requirement_names, project["optional-dependencies"].values()))
    assert runtime <= server.keys(), runtime - server.keys()
    assert runtime | extras <= dev.keys(), (runtime | extras) - dev.keys()
    assert not extras & server.keys() - runtime, "the server lock holds an extra's package"
    assert "aiortc" not in server and "av" not in server  # the slim server (issue 21)
    different = {n: (v, dev.get(n)) for n, v in server.items() if dev.get(n) != v}
    assert not different, f"server.txt and dev.txt disagree: {different}"
    for small in ("uv.txt", "build.txt"):
        assert pins(ROOT / "requirements" / small)
