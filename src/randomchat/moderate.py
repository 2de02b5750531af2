"""reports, ban, unban and admin's database: what those commands do, for ``randomchat.cli``.

Each opens the database ``serve`` uses (the same settings), says which on standard
error, and prints for a terminal: text that came from users is escaped (``shown``).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from randomchat import admin, config
from randomchat.db import Database, StorageError, audit, safety

EXIT_OK = 0
EXIT_NO_BAN = 1  # unban: the user had no active ban
EXIT_CONFIG = 2
EXIT_STORAGE = 3  # reports, ban, unban: the database failed


def shown(text: str) -> str:
    """``text`` safe for a terminal: control and format characters escaped (``\\x1b``).

    Report notes, chat lines, reasons and user names come from users; an escape
    sequence among them must not reach the administrator's terminal raw.
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def moderate(
    settings: config.Settings,
    action: Callable[[Database], Awaitable[int]],
    *,
    create: bool = False,
) -> int:
    """Run ``action`` on the database ``serve`` uses; a storage failure exits 3.

    It says on standard error which database it opened. A SQLite file that does not
    exist yet is created only by a command that writes (``create``: ``ban`` and ``admin
    add`` may come before the first ``serve``), and it says so; a read run with the wrong
    ``--data-dir``, or from the wrong directory, is refused instead of showing a new,
    empty database as if it were the server's.
    """
    path = settings.sqlite_file
    if path is not None and not path.is_file():
        if not create:
            print(
                f"randomchat: no database at {path}: give the --data-dir (or DATABASE_URL) "
                "that serve uses; its default is ./data in the directory serve runs in",
                file=sys.stderr,
            )
            return EXIT_STORAGE
        print(f"database: {path} (new)", file=sys.stderr)
    else:
        where = str(path) if path is not None else _hidden_password(settings.database)
        print(f"database: {where}", file=sys.stderr)

    async def run() -> int:
        db = await Database.open(settings.database)
        try:
            return await action(db)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except StorageError as exc:
        print(f"randomchat: {shown(str(exc))}", file=sys.stderr)
        return EXIT_STORAGE


def _hidden_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def list_reports(
    settings: config.Settings, *, limit: int, offset: int, user_id: str | None, as_json: bool
) -> int:
    """Print reports, newest first, as a table or (``as_json``) with their chat lines."""

    async def action(db: Database) -> int:
        found = await db.reports(limit=limit, offset=offset, user_id=user_id)
        if as_json:
            print(json.dumps([admin.report_json(r) for r in found], indent=2))
        elif not found:
            print("no reports")
        else:
            header = ("ID", "TIME", "REPORTED", "REPORTER", "REASON", "CHAT", "NOTE")
            rows = [
                (
                    str(r.id),
                    _when(r.created_at),
                    shown(r.reported),
                    shown(r.reporter),
                    shown(r.reason),
                    str(len(r.chat)),
                    shown(" ".join(r.note.split())[:60]),
                )
                for r in found
            ]
            print(_table(header, rows))
        return EXIT_OK

    return moderate(settings, action)


def ban_user(
    settings: config.Settings,
    user_id: str | None,
    *,
    hours: float,
    reason: str,
    report_id: int | None = None,
) -> int:
    """Ban ``user_id`` (or the reported user of ``report_id`` with the address they were
    reported from) for ``hours``; a running server disconnects them within seconds.

    A guest's ban also covers the address they were last reported from, if any.
    """

    async def action(db: Database) -> int:
        if report_id is not None:
            report = await safety.report_by_id(db, report_id)
            if report is None or report.reported_address is None:
                why = "no such report" if report is None else "the report has no address"
                print(f"randomchat: report {report_id}: {why}", file=sys.stderr)
                return EXIT_CONFIG
            target = report.reported
            address: str | None = report.reported_address
        elif user_id is not None:
            target, address = user_id, await safety.latest_address(db, user_id)
        else:
            print("randomchat: ban needs USER or --report ID", file=sys.stderr)
            return EXIT_CONFIG
        now = time.time()
        ban = await db.ban(
            target,
            until=now + hours * 3600,
            reason=reason,
            created_by=f"cli:{login()}",
            now=now,
            address_hash=address,
        )
        also = f" and address {ban.address_hash}" if ban.address_hash else ""
        await audit.record_ban(db, ban, via="cli")
        print(f"banned {shown(ban.user_id)}{also} until {_when(ban.until)}: {shown(ban.reason)}")
        return EXIT_OK

    return moderate(settings, action, create=True)


def unban_user(settings: config.Settings, user_id: str | None, address: str | None = None) -> int:
    """Lift the ban of ``user_id``, or the bans covering ``address``; exit 1 if there was none."""

    async def action(db: Database) -> int:
        if address is not None:
            users = await safety.unban_address(db, address, time.time())
            await audit.record_unbans(db, f"cli:{login()}", users, via="cli", address=True)
            if users:
                print(f"unbanned address {shown(address)} ({', '.join(map(shown, users))})")
                return EXIT_OK
            print(f"randomchat: address {shown(address)} has no active ban", file=sys.stderr)
            return EXIT_NO_BAN
        if user_id is None:
            print("randomchat: unban needs USER or --address HASH", file=sys.stderr)
            return EXIT_CONFIG
        if await db.unban(user_id, time.time()):
            await audit.record_unbans(db, f"cli:{login()}", [user_id], via="cli")
            print(f"unbanned {shown(user_id)}")
            return EXIT_OK
        print(f"randomchat: {shown(user_id)} has no active ban", file=sys.stderr)
        return EXIT_NO_BAN

    return moderate(settings, action)
