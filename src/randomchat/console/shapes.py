"""What the moderation APIs read and write: request models, answers, JSON shapes.

Both surfaces, the console's ``/api/console`` and the token API ``/api/admin``
(``randomchat.admin``), parse and render through this module, so a record has
one JSON shape whichever of them serves it. Every answer is ``no-store`` (it
holds moderation data); errors are ``{"detail": ...}`` like the rest of the HTTP
API; the first validation error names its field (422); bodies are JSON of at most
``BODY_LIMIT`` bytes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from randomchat.console import sessions
from randomchat.core.moderation import AUTO_BANNED_BY, REPORT_REASONS
from randomchat.db import Ban, Report, audit, triage
from randomchat.problems import BodyError, read_json

M = TypeVar("M", bound=BaseModel)

ADMIN_ROLE = "admin"
BODY_LIMIT = 16 * 1024
MAX_PAGE = 500
MAX_OFFSET = 1_000_000
MAX_BAN_HOURS = 24 * 3650
MIN_BAN_HOURS = 1 / 60
HOUR = 3600.0
MAX_USER_ID = 255
MAX_AUDIT_EXPORT = 100_000
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
NAME = re.compile(NAME_PATTERN)
NO_STORE = {"Cache-Control": "no-store"}
# Issue 15 stores the keyed hash of the reported user's network with a report, and
# lets a ban hold one; on a schema without them the console says address bans are off.
ADDRESS_BANS = "reported_address" in getattr(Report, "__dataclass_fields__", {})
NO_ADDRESS = "No address was recorded with this report (the user was not a guest)"

UserId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_USER_ID)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptionalReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Hours = Annotated[float, Field(ge=MIN_BAN_HOURS, le=MAX_BAN_HOURS, allow_inf_nan=False)]
Name = Annotated[str, StringConstraints(pattern=f"^{NAME_PATTERN}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=sessions.MAX_PASSWORD)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class SignIn(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Password


class Decision(_Body):
    reason: OptionalReason = ""


class Warning_(_Body):
    reason: Reason


class BanFor(_Body):
    hours: Hours
    reason: Reason


class UserBan(BanFor):
    user_id: UserId


class AdminBan(BanFor):
    """``POST /api/admin/bans``: a user, or the user and address of a report."""

    user_id: UserId | None = None
    report_id: int | None = Field(None, ge=1, le=2**63 - 1)


class Lift(_Body):
    user_id: UserId
    reason: Reason


class NewAccount(_Body):
    name: Name
    role: Literal["admin", "moderator"]
    password: Password


class NewPassword(_Body):
    password: Password


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["open", "dismissed", "warned", "banned", "all"] = "open"
    reason: Literal[REPORT_REASONS] | None = None  # type: ignore[valid-type]
    sort: Literal["newest", "heaviest"] = "newest"
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(200, ge=1, le=MAX_AUDIT_EXPORT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    target: UserId | None = None
    action: Literal[audit.ACTIONS] | None = None  # type: ignore[valid-type]
    format: Literal["json", "jsonl", "csv"] = "json"


class ReportsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    user_id: UserId | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class BanQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    limit: int = Field(200, ge=1, le=MAX_PAGE)


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def invalid(exc: ValidationError) -> JSONResponse:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return problem(422, f"{where}: {err['msg']}")


def ok(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=NO_STORE)


async def parse_body(
    request: Request, model: type[M], example: str = '{"reason": "spam"}'
) -> M | Response:
    try:
        body: Any = await read_json(request, BODY_LIMIT, example)
    except BodyError as exc:
        return exc.response
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        return invalid(exc)


def parse_query(request: Request, model: type[M]) -> M | Response:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return invalid(exc)


def user_id_or_problem(value: str) -> str | Response:
    """A user id from a path, or the 422 for one out of bounds."""
    if not 1 <= len(value) <= MAX_USER_ID:
        return problem(422, f"user_id: at most {MAX_USER_ID} characters")
    return value


def ban_json(ban: Ban) -> dict[str, Any]:
    return {
        "userId": ban.user_id,
        "reason": ban.reason,
        "createdAt": ban.created_at,
        "until": ban.until,
        "createdBy": ban.created_by,
        "addressHash": ban.address_hash,  # a guest's network (keyed hash), banned too
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "reporter": report.reporter,
        "reported": report.reported,
        "reason": report.reason,
        "note": report.note,
        "chat": [
            {"sender": line.sender, "text": line.text, "sentAt": line.sent_at}
            for line in report.chat
        ],
        "createdAt": report.created_at,
        "weight": report.weight,
        "reporterAddress": report.reporter_address,
        "reportedAddress": report.reported_address,
    }


def stats_json(stats: dict[str, int]) -> dict[str, int]:
    return {
        "reportsTotal": stats["reports_total"],
        "reports24h": stats["reports_24h"],
        "activeBans": stats["active_bans"],
        "blocksTotal": stats["blocks_total"],
    }


def ban_row_json(ban: triage.BanRow) -> dict[str, Any]:
    return {
        "userId": ban.user_id,
        "reason": ban.reason,
        "createdAt": ban.created_at,
        "until": ban.until,
        "createdBy": ban.created_by,
        "automatic": ban.created_by == AUTO_BANNED_BY,
        "endedAt": ban.ended_at,
        "address": ban.address,
    }


def reported_address(report: Report) -> str | None:
    """The keyed hash of the reported user's network, where the report holds one."""
    value = getattr(report, "reported_address", None)
    return value if isinstance(value, str) and value else None


def queued_json(item: triage.QueuedReport, names: dict[str, list[str]]) -> dict[str, Any]:
    """A report for the console; ``names`` maps user ids to their names (``triage.names_of``)."""
    return {
        **report_json(item.report),
        "reportedName": item.report.reported_name,
        "reportedNames": names.get(item.report.reported, []),
        "addressKnown": reported_address(item.report) is not None,
        "weight": item.weight,
        "status": item.status,
        "reviewedBy": item.reviewed_by,
        "reviewedAt": item.reviewed_at,
    }
