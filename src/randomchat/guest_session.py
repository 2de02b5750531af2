"""``POST /api/session``: a guest session, and what it needs (``Guests``).

A guest session is given, in this order of checks: to an address within its rate
(``--sessions-per-minute``; past it, with ``--pow auto``, only with a solved proof
of work, up to ``POW_RATE_FACTOR`` times the rate), not banned (before the body is
read at all), that accepted the current rules version (``GET /api/rules``), with a
nickname the word filter allows (unless ``--nicknames off``), and with a solved
ALTCHA challenge (``GET /api/altcha``) when ``--pow always`` or past the rate.
Refusals are JSON problems ``{"detail", "code", ...}`` (``problems.problem``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from randomchat import auth, devices, guests, proxy
from randomchat.config import Settings
from randomchat.core.moderation import address_hash
from randomchat.core.names import NameFilter
from randomchat.core.powcost import Pressure
from randomchat.core.ratelimit import Limit
from randomchat.core.replay import SharedReplay
from randomchat.db import Ban
from randomchat.errors import StorageError
from randomchat.problems import (
    BodyError,
    banned_problem,
    plain_problem,
    problem,
    rate_limited,
    read_json,
)
from randomchat.protocol.text import clean_text
from randomchat.store.address_limits import SharedFactory, Take, limiter

# A session request is {"username": <32 characters>}: a few dozen bytes.
SESSION_BODY_LIMIT = 4096
# With --pow auto, an address past its session rate may go on with a solved proof of
# work, up to this many times the rate (then 429 again).
POW_RATE_FACTOR = 5
UNAVAILABLE = "Sessions are unavailable for a moment; try again"


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    # Optional only with --nicknames off (everyone is "Stranger" then).
    username: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None
    ) = None
    rules_version: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, alias="rulesVersion"
    )
    altcha: Annotated[str, StringConstraints(max_length=guests.MAX_POW_PAYLOAD)] | None = None
    # The device key this browser was given before (randomchat.devices); a missing or
    # invalid one gets a new key, as a browser with cleared storage would.
    device: Annotated[str, StringConstraints(max_length=devices.MAX_KEY)] | None = None

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # What chat text keeps (ZWJ emoji, ZWNJ, direction marks) a name may hold too;
        # what chat text loses (controls, bidi overrides) is refused, not silently dropped.
        if value is not None and clean_text(value) != value:
            raise ValueError("must contain printable characters only")
        return value


@dataclass(frozen=True, slots=True)
class Guests:
    """What a guest session is checked against and issued with (``Guests.build``)."""

    settings: Settings
    address_ban: Callable[[str], Ban | None] | None  # the ban of a network's keyed hash
    sessions: Take  # POST /api/session per address
    with_pow: Take  # the same past the rate, with a proof of work (--pow auto)
    rules: guests.RulesDocument
    name_filter: NameFilter
    address_key: bytes
    device_keys: devices.DeviceKeys
    pow: guests.ProofOfWork
    pressure: Pressure  # sessions past the rate (core.powcost)

    @classmethod
    def build(
        cls,
        settings: Settings,
        address_ban: Callable[[str], Ban | None] | None = None,
        replay: SharedReplay | None = None,
        address_limits: SharedFactory | None = None,
    ) -> Guests:
        rate = settings.sessions_per_minute / 60
        burst = settings.session_burst
        factor = POW_RATE_FACTOR
        return cls(
            settings=settings,
            address_ban=address_ban,
            sessions=limiter("sessions", Limit(rate=rate, burst=burst), address_limits),
            with_pow=limiter(
                "pow", Limit(rate=rate * factor, burst=burst * factor), address_limits
            ),
            rules=guests.RulesDocument.load(settings),
            name_filter=guests.load_name_filter(settings),
            address_key=guests.address_key(settings),
            device_keys=devices.keys_for(settings.secret),
            pow=guests.ProofOfWork(
                settings.secret, settings.pow_max_number, settings.pow_ttl_seconds, shared=replay
            ),
            pressure=Pressure(rate, burst),
        )

    @property
    def nicknames(self) -> bool:
        return self.settings.nicknames == "on"


async def _admit(deps: Guests, client: str) -> bool | Response:
    """Whether ``client`` needs a proof of work, or the refusal (rate, ban, Redis)."""
    settings = deps.settings
    try:
        wait = await deps.sessions(client)
        need_pow = settings.pow == "always"
        if wait > 0:
            if settings.pow != "auto":
                return rate_limited(wait)
            need_pow = True  # past the rate: go on only with a proof of work
            hard = await deps.with_pow(client)
            if hard > 0:
                return rate_limited(hard)
    except StorageError:  # a cluster's limiter: Redis out of reach
        return plain_problem(503, UNAVAILABLE)
    if deps.address_ban is not None:
        ban = deps.address_ban(address_hash(deps.address_key, proxy.network_of(client)))
        if ban is not None:
            return banned_problem(ban)
    return need_pow


async def _session_request(deps: Guests, request: Request) -> SessionRequest | Response:
    try:
        body: Any = await read_json(
            request, SESSION_BODY_LIMIT, '{"username": "Alice", "rulesVersion": "..."}'
        )
    except BodyError as exc:
        return exc.response
    try:
        req = SessionRequest.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return plain_problem(422, f"{where}: {err['msg']}")
    if req.rules_version != deps.rules.version:
        return problem(
            400,
            "rules-not-accepted",
            "Please read and accept the current rules first",
            rulesVersion=deps.rules.version,
        )
    return req


def _username(deps: Guests, req: SessionRequest) -> str | Response:
    if not deps.nicknames:
        return auth.DEFAULT_USERNAME
    if req.username is None:
        return plain_problem(422, "username: Field required")
    if not deps.name_filter.allows(req.username):
        return problem(400, "name-refused", "Please choose another nickname")
    return req.username


async def _check_pow(deps: Guests, req: SessionRequest, client: str, now: float) -> Response | None:
    """The refusal of a missing, wrong or used proof of work; None when it is good."""
    if req.altcha is None:
        return problem(403, "pow-required", "Please solve the challenge from GET /api/altcha")
    # A challenge at least as dear as this address must pay now (a cheaper one,
    # fetched elsewhere or earlier, is refused), used once in the process or cluster.
    network = proxy.network_of(client)
    solved = deps.pow.solved(req.altcha, time.time(), deps.pressure.level(network, now))
    try:
        fresh = solved is not None and await deps.pow.use(solved, time.time())
    except StorageError:
        return plain_problem(503, UNAVAILABLE)
    if not fresh:
        return problem(403, "pow-invalid", "The challenge was not solved; try a new one")
    return None


def _issue(deps: Guests, username: str, device_key: str | None) -> Response:
    """The guest token, for the device this browser holds the key of (or a new one)."""
    settings = deps.settings
    wall = time.time()
    device = deps.device_keys.check(device_key, wall)
    if device is None:
        device, device_key = deps.device_keys.issue(wall)
    token, identity, expires = auth.issue(
        settings.secret,
        username,
        settings.token_ttl_hours * 3600,
        user_id=device.user_id,
        now=wall,
        guest=True,
        rules=deps.rules.version,
        since=device.created,
    )
    payload = {
        "token": token,
        "userId": identity.user_id,
        "username": identity.username,
        "expiresAt": expires,
        "device": device_key,
    }
    return JSONResponse(payload, status_code=201)


async def create_session(deps: Guests, request: Request) -> Response:
    if not deps.settings.guest_sessions:
        return plain_problem(403, "Guest sessions are disabled on this server")
    client = request.client.host if request.client else ""
    now = time.monotonic()
    admitted = await _admit(deps, client)  # before the body is read at all
    if isinstance(admitted, Response):
        return admitted
    req = await _session_request(deps, request)
    if isinstance(req, Response):
        return req
    username = _username(deps, req)
    if isinstance(username, Response):
        return username
    if admitted:
        refused = await _check_pow(deps, req, client, now)
        if refused is not None:
            return refused
        if deps.settings.pow == "auto":  # past the rate: this address pays more next time
            deps.pressure.add(proxy.network_of(client), now)
    return _issue(deps, username, req.device)
