"""The command line: serve, token, reports, ban, unban, admin: a thin layer over importable code."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import math
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from randomchat import __version__, admin, auth, config, logs, workers
from randomchat.client import commands as client_commands
from randomchat.console import commands as console_commands
from randomchat.db import Database, StorageError, audit, safety
from randomchat.errors import ConfigError

GC_THRESHOLD = 20_000
# Descriptors serve ``serve`` asks for (up to the hard limit): each connection holds one.
WANTED_DESCRIPTORS = 65_536
MAX_REASON = 500
MAX_TOKEN_HOURS = 24 * 365

EXIT_OK = 0
WORKER_ENV = "RANDOMCHAT_WORKER"  # set by ``serve --workers N`` for each worker (0..N-1)
EXIT_CONFIG = 2
EXIT_NO_BAN = 1  # unban: the user had no active ban
EXIT_STORAGE = 3  # reports, ban, unban: the database failed

log = logging.getLogger("randomchat")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="randomchat", description=__doc__)
    parser.add_argument("--version", action="version", version=f"randomchat {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the signaling server and the page")
    config.add_arguments(serve)
    token = commands.add_parser("token", help="print a signed token, for testing")
    config.add_arguments(token)
    token.add_argument("--username", dest="token_username", default=auth.DEFAULT_USERNAME)
    token.add_argument("--user-id", dest="token_user_id", default=None)
    token.add_argument("--role", dest="token_role", default=None)
    token.add_argument(
        "--hours", dest="token_hours", type=_hours(1 / 3600, MAX_TOKEN_HOURS), default=1.0
    )
    _add_moderation_commands(commands)
    console_commands.add_command(commands)
    client_commands.add_commands(commands)
    return parser


def _add_moderation_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """reports, ban, unban: they open the database ``serve`` uses, also while it runs."""
    reports = commands.add_parser("reports", help="list reports, newest first")
    config.add_arguments(reports)
    reports.add_argument(
        "--limit", dest="reports_limit", type=_bounded_int(1, admin.MAX_PAGE), default=20
    )
    reports.add_argument(
        "--offset", dest="reports_offset", type=_bounded_int(0, admin.MAX_OFFSET), default=0
    )
    reports.add_argument("--user", dest="reports_user", help="only reports about this user id")
    reports.add_argument("--json", dest="reports_json", action="store_true", help="print JSON")
    ban = commands.add_parser("ban", help="ban a user; a running server disconnects them")
    config.add_arguments(ban)
    ban.add_argument(
        "ban_user", metavar="USER", type=_user_id, nargs="?", help="the user id (a token's sub)"
    )
    ban.add_argument(
        "--report",
        dest="ban_report",
        type=_bounded_int(1, 2**63 - 1),
        help="instead of USER: the reported user of this report and their address",
    )
    ban.add_argument(
        "--hours",
        dest="ban_for_hours",
        type=_hours(admin.MIN_BAN_HOURS, admin.MAX_BAN_HOURS),
        required=True,
        help="from 1 minute (0.0167) to 10 years (87600)",
    )
    ban.add_argument("--reason", dest="ban_reason", type=_reason, required=True)
    unban = commands.add_parser("unban", help="lift a user's ban")
    config.add_arguments(unban)
    unban.add_argument(
        "unban_user", metavar="USER", type=_user_id, nargs="?", help="the user id (a token's sub)"
    )
    unban.add_argument(
        "--address", dest="unban_address", help="instead of USER: an address hash (as listed)"
    )


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(raw: str) -> int:
        text = raw.strip()
        if not text.lstrip("+-").isdigit() or len(text) > 20:
            raise argparse.ArgumentTypeError(f"{shown(raw)!r} is not a whole number")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _hours(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number of hours from ``low`` to ``high``."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(raw)!r} is not a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(
                f"{shown(raw)} hours is not between {low:.4g} and {high:g}"
            )
        return value

    return parse


def _user_id(raw: str) -> str:
    value = raw.strip()
    if not 1 <= len(value) <= admin.MAX_USER_ID:
        raise argparse.ArgumentTypeError(f"must be 1 to {admin.MAX_USER_ID} characters")
    return value


def _reason(raw: str) -> str:
    value = raw.strip()
    if not 1 <= len(value) <= MAX_REASON:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_REASON} characters")
    return value


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


def serve(settings: config.Settings) -> int:
    import uvloop

    settings, generated = config.with_secret(settings)
    if generated:
        log.info("generated a JWT secret", extra={"path": str(settings.data_dir / "jwt-secret")})
    worker = os.environ.get(WORKER_ENV)
    if settings.workers > 1 and worker is None:
        return workers.supervise(settings.workers, WORKER_ENV)
    if worker is not None:
        from randomchat.cluster import node_name

        settings = settings.model_copy(update={"node_name": f"{node_name(settings)}-w{worker}"})
    raise_descriptor_limit()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(settings))
    return EXIT_OK


def raise_descriptor_limit() -> None:
    """Raise the soft limit on open files towards the hard one: a connection is a descriptor.

    With the common default of 1,024 a few hundred stalled connections would
    make ``accept`` fail for everyone (the request deadline closes them, but
    only after ``--request-timeout``).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_DESCRIPTORS if hard == resource.RLIM_INFINITY else min(hard, WANTED_DESCRIPTORS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            log.warning("cannot raise the open file limit", extra={"soft": soft, "hard": hard})
            return
        log.info("raised the open file limit", extra={"from": soft, "to": wanted})


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a server holding many connections.

    Everything alive after start-up (modules, the app) lives as long as the
    process: ``gc.freeze`` moves it out of the collector's sight. A larger
    first-generation threshold stops the collector from rescanning thousands of
    connection objects every few hundred allocations; see docs/performance.md.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


async def _serve(settings: config.Settings) -> None:

    from randomchat.app import create_app
    from randomchat.db import Database
    from randomchat.httpserver import DrainingServer, uvicorn_config

    db = await Database.open(settings.database)
    try:
        app = create_app(settings, db)
        tune_gc()
        log.info(
            "serving",
            extra={
                "url": f"http://{settings.host}:{settings.port}",
                "web_dir": str(settings.web_dir),
            },
        )
        server = DrainingServer(uvicorn_config(settings, app.asgi), app.drain)
        if os.environ.get(WORKER_ENV) is None:
            await server.serve()
        else:  # one of --workers: the port is shared with the sibling workers
            await server.serve(sockets=[workers.listening_socket(settings.host, settings.port)])
    finally:
        await db.close()


def _moderate(
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


def _login() -> str:
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

    return _moderate(settings, action)


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
            created_by=f"cli:{_login()}",
            now=now,
            address_hash=address,
        )
        also = f" and address {ban.address_hash}" if ban.address_hash else ""
        await audit.record_ban(db, ban, via="cli")
        print(f"banned {shown(ban.user_id)}{also} until {_when(ban.until)}: {shown(ban.reason)}")
        return EXIT_OK

    return _moderate(settings, action, create=True)


def unban_user(settings: config.Settings, user_id: str | None, address: str | None = None) -> int:
    """Lift the ban of ``user_id``, or the bans covering ``address``; exit 1 if there was none."""

    async def action(db: Database) -> int:
        if address is not None:
            users = await safety.unban_address(db, address, time.time())
            await audit.record_unbans(db, f"cli:{_login()}", users, via="cli", address=True)
            if users:
                print(f"unbanned address {shown(address)} ({', '.join(map(shown, users))})")
                return EXIT_OK
            print(f"randomchat: address {shown(address)} has no active ban", file=sys.stderr)
            return EXIT_NO_BAN
        if user_id is None:
            print("randomchat: unban needs USER or --address HASH", file=sys.stderr)
            return EXIT_CONFIG
        if await db.unban(user_id, time.time()):
            await audit.record_unbans(db, f"cli:{_login()}", [user_id], via="cli")
            print(f"unbanned {shown(user_id)}")
            return EXIT_OK
        print(f"randomchat: {shown(user_id)} has no active ban", file=sys.stderr)
        return EXIT_NO_BAN

    return _moderate(settings, action)


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    command = args.pop("command")
    if command in client_commands.COMMANDS:  # bot, echo-bot, doctor: no server settings
        return client_commands.run(command, args)
    try:
        settings = config.load(args, os.environ)
        logs.configure(settings.log_level)
        if command == "serve":
            return serve(settings)
        if command == "reports":
            return list_reports(
                settings,
                limit=args["reports_limit"],
                offset=args["reports_offset"],
                user_id=args["reports_user"],
                as_json=args["reports_json"],
            )
        if command == "ban":
            return ban_user(
                settings,
                args["ban_user"],
                hours=args["ban_for_hours"],
                reason=args["ban_reason"],
                report_id=args["ban_report"],
            )
        if command == "unban":
            return unban_user(settings, args["unban_user"], args["unban_address"])
        if command == "admin":
            return _moderate(
                settings,
                lambda db: console_commands.run(db, args, _login()),
                create=args["admin_action"] == "add",
            )
        settings, _ = config.with_secret(settings)
        token, _, _ = auth.issue(
            settings.secret,
            args["token_username"],
            args["token_hours"] * 3600,
            user_id=args["token_user_id"],
            role=args["token_role"],
        )
        print(token)
        return EXIT_OK
    except ConfigError as exc:
        print(f"randomchat: {shown(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
