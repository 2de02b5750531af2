"""Moderation console accounts: a name, a role and an argon2 hash of the password.

Only hashes are stored (``randomchat.console.sessions`` makes and checks them);
the role is read from here on every console request, so demoting or removing
an account takes effect at once, whatever session cookie it still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import RowMapping, select
from sqlalchemy import exc as sa_exc

from randomchat.db.database import Database
from randomchat.db.errors import StorageError
from randomchat.db.schema import admin_accounts

ROLES = ("admin", "moderator")


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: str  # one of ROLES
    password_hash: str
    created_at: float
    updated_at: float


class AccountExists(StorageError):
    """``add`` of a name that is taken."""


def _account(row: RowMapping) -> Account:
    return Account(
        row["name"], row["role"], row["password_hash"], row["created_at"], row["updated_at"]
    )


async def add(db: Database, name: str, role: str, password_hash: str, now: float) -> Account:
    """Create an account; ``AccountExists`` if the name is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    account = Account(name, role, password_hash, now, now)
    try:
        async with db.transaction("add an account", write=True) as conn:
            if (
                await conn.execute(
                    select(admin_accounts.c.name).where(admin_accounts.c.name == name)
                )
            ).first() is not None:
                raise AccountExists(f"an account named {name!r} exists already")
            await conn.execute(
                admin_accounts.insert().values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
            )
    except StorageError as exc:
        # Two concurrent adds of one name: the primary key refuses the second.
        if isinstance(exc.__cause__, sa_exc.IntegrityError):
            raise AccountExists(f"an account named {name!r} exists already") from exc
        raise
    return account


async def get(db: Database, name: str) -> Account | None:
    async with db.transaction("read an account") as conn:
        row = (
            (await conn.execute(select(admin_accounts).where(admin_accounts.c.name == name)))
            .mappings()
            .first()
        )
    return None if row is None else _account(row)


async def all_accounts(db: Database) -> list[Account]:
    """Every account, by name (a console has a handful)."""
    async with db.transaction("read accounts") as conn:
        rows = (
            (await conn.execute(select(admin_accounts).order_by(admin_accounts.c.name)))
            .mappings()
            .all()
        )
    return [_account(row) for row in rows]


async def remove(db: Database, name: str) -> bool:
    """Delete the account; whether it existed."""
    async with db.transaction("remove an account", write=True) as conn:
        result = await conn.execute(admin_accounts.delete().where(admin_accounts.c.name == name))
    return result.rowcount > 0


async def set_password(db: Database, name: str, password_hash: str, now: float) -> bool:
    """Replace the hash (which ends the account's sessions); whether the account exists."""
    async with db.transaction("change a password", write=True) as conn:
        result = await conn.execute(
            admin_accounts.update()
            .where(admin_accounts.c.name == name)
            .values(password_hash=password_hash, updated_at=now)
        )
    return result.rowcount > 0
