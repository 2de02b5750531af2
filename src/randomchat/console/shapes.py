"""What the console API reads and writes: request models, answers, JSON shapes.

Every answer is ``no-store`` (it holds moderation data); errors are
``{"detail": ...}`` like the rest of the HTTP API; the first validation error
names its field (422); bodies are JSON of at most ``BODY_LIMIT`` bytes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from randomchat import admin
from randomchat.console import sessions
from randomchat.core.moderation import AUTO_BANNED_BY, REPORT_REASONS
from randomchat.db import Report, audit, triage
from randomchat.http import BodyError, read_json

M = TypeVar("M", bound=BaseModel)

BODY_LIMIT = 16 * 1024
MAX_PAGE = 500
MAX_AUDIT_EXPORT = 100_000
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
NAME = re.compile(NAME_PATTERN)
NO_STORE = {"Cache-Control": "no-store"}
# Issue 15 stores the keyed hash of the reported user's network with a report, and
# lets a ban hold one; on a schema without them the console says address bans are off.
ADDRESS_BANS = "reported_address" in getattr(Report, "__dataclass_fields__", {})
NO_ADDRESS = "No address was recorded with this report (the user was not a guest)"

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptionalReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Hours = Annotated[float, Field(ge=admin.MIN_BAN_HOURS, le=admin.MAX_BAN_HOURS, allow_inf_nan=False)]
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
    user_id: admin.UserId


class Lift(_Body):
    user_id: admin.UserId
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
    offset: int = Field(0, ge=0, le=admin.MAX_OFFSET)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(200, ge=1, le=MAX_AUDIT_EXPORT)
    offset: int = Field(0, ge=0, le=admin.MAX_OFFSET)
    target: admin.UserId | None = None
    action: Literal[audit.ACTIONS] | None = None  # type: ignore[valid-type]
    format: Literal["json", "jsonl", "csv"] = "json"


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


async def parse_body(request: Request, model: type[M]) -> M | Response:
    try:
        body: Any = await read_json(request, BODY_LIMIT, '{"reason": "spam"}')
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
        **admin.report_json(item.report),
        "reportedName": item.report.reported_name,
        "reportedNames": names.get(item.report.reported, []),
        "addressKnown": reported_address(item.report) is not None,
        "weight": item.weight,
        "status": item.status,
        "reviewedBy": item.reviewed_by,
        "reviewedAt": item.reviewed_at,
    }
