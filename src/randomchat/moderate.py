"""reports, ban, unban and admin's database: what those commands do, for ``randomchat.cli``.

Each opens the database ``serve`` uses (the same settings), says which on standard
error, and prints for a terminal: text that came from users is escaped (``shown``).
``ban`` and ``unban`` take the console's and the admin API's actions
(``console.actions.Moderation``): stored, audited and a report closed the same way.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from randomchat import admin, config
from randomchat.console.actions import Moderation
from randomchat.db import Ban, Database, StorageError, safety

EXIT_OK = 0
EXIT_NO_BAN = 1  # unban: the user had no active ban
EXIT_CONFIG = 2
EXIT_STORAGE = 3  # reports, ban, unban: the database failed

VIA = {"via": "cli"}  # in the audit entry: which surface took the action


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


def _moderation(db: Database) -> Moderation:
    """The actions ``/api/console`` and ``/api/admin`` take, with no live server to tell.

    The running server (if any) is another process: it reads bans made or lifted
    here in its refresh from the database, every 2 s, and disconnects the user then.
    """
    return Moderation(db, on_ban=_server_refreshes)


async def _server_refreshes(ban: Ban) -> None:
    """Nothing to tell: see ``_moderation``."""


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

    A guest's ban also covers the address they were last reported from, if any. A ban
    from a report closes it as ``banned``, as the console and the admin API do.
    """

    async def action(db: Database) -> int:
        moderation = _moderation(db)
        actor = f"cli:{login()}"
        if report_id is not None:
            report = await safety.report_by_id(db, report_id)
            if report is None or report.reported_address is None:
                why = "no such report" if report is None else "the report has no address"
                print(f"randomchat: report {report_id}: {why}", file=sys.stderr)
                return EXIT_CONFIG
            ban = await moderation.ban_reported(
                actor,
                report,
                hours,
                reason,
                {**VIA, "address": True},
                address_hash=report.reported_address,
            )
        elif user_id is not None:
            address = await safety.latest_address(db, user_id)
            ban = await moderation.ban(actor, user_id, hours, reason, VIA, address_hash=address)
        else:
            print("randomchat: ban needs USER or --report ID", file=sys.stderr)
            return EXIT_CONFIG
        also = f" and address {ban.address_hash}" if ban.address_hash else ""
        print(f"banned {shown(ban.user_id)}{also} until {_when(ban.until)}: {shown(ban.reason)}")
        return EXIT_OK

    return moderate(settings, action, create=True)


def unban_user(settings: config.Settings, user_id: str | None, address: str | None = None) -> int:
    """Lift the ban of ``user_id``, or the bans covering ``address``; exit 1 if there was none."""

    async def action(db: Database) -> int:
        moderation = _moderation(db)
        actor = f"cli:{login()}"
        if address is not None:
            users = await moderation.lift_address(actor, address, VIA)
            if users:
                print(f"unbanned address {shown(address)} ({', '.join(map(shown, users))})")
                return EXIT_OK
            print(f"randomchat: address {shown(address)} has no active ban", file=sys.stderr)
            return EXIT_NO_BAN
        if user_id is None:
            print("randomchat: unban needs USER or --address HASH", file=sys.stderr)
            return EXIT_CONFIG
        if await moderation.lift(actor, user_id, "", VIA):
            print(f"unbanned {shown(user_id)}")
            return EXIT_OK
        print(f"randomchat: {shown(user_id)} has no active ban", file=sys.stderr)
        return EXIT_NO_BAN

    return moderate(settings, action)
