"""Solving the server's proof-of-work challenges as the page does (its ALTCHA payload)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from altcha import v1


def solve(challenge: Mapping[str, Any]) -> str:
    """The base64 payload ``POST /api/session`` takes as ``altcha`` for ``challenge``
    (``GET /api/altcha``'s answer, or ``ProofOfWork.challenge``'s)."""
    most = challenge.get("maxnumber", challenge.get("maxNumber"))
    solution = v1.solve_challenge(
        str(challenge["challenge"]), str(challenge["salt"]), "SHA-256", int(str(most))
    )
    assert solution is not None
    payload = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
    return base64.b64encode(json.dumps({**payload, "number": solution.number}).encode()).decode()
