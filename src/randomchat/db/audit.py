"""The audit log: every moderator action, who took it, when and why. Rows are never updated.

``actor`` is ``console:<account>``, ``admin:<token sub>`` (the bearer API) or
``cli:<login>``; ``action`` one of ``ACTIONS``; ``target`` the user id, report
id or account name acted on; ``detail`` a small JSON object (a ban's end, a
report's id; ``via``: ``api`` or ``cli`` on a ban or lift taken through the bearer
API or the command line). Bans and lifts are recorded by ``console.actions.Moderation``,
the one implementation the console, the admin API and the command line share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, select

from randomchat.db.database import Database
from randomchat.db.schema import audit_log

ACTIONS = (
    "dismiss",
    "warn",
    "ban",
    "unban",
    "ban-address",
    "account-add",
    "account-remove",
    "account-password",
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    target: str
    reason: str
    detail: dict[str, Any]


def _entry(row: RowMapping) -> AuditEntry:
    detail = row["detail"]
    return AuditEntry(
        id=int(row["id"]),
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        reason=row["reason"],
        detail=detail if isinstance(detail, dict) else {},
    )


async def record(
    db: Database,
    *,
    actor: str,
    action: str,
    target: str,
    reason: str,
    now: float,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    async with db.transaction("record an audit entry", write=True) as conn:
        await conn.execute(
            audit_log.insert().values(
                at=now,
                actor=actor,
                action=action,
                target=target,
                reason=reason,
                detail=detail or {},
            )
        )


async def entries(
    db: Database,
    *,
    limit: int,
    offset: int = 0,
    target: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """Entries newest first; only those about ``target`` or of ``action`` when given."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    if target is not None:
        query = query.where(audit_log.c.target == target)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    async with db.transaction("read the audit log") as conn:
        rows = (await conn.execute(query.limit(limit).offset(offset))).mappings().all()
    return [_entry(row) for row in rows]
