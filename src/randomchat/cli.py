"""The command line: serve, token, reports, ban, unban, admin: a thin layer over importable code."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import math
import os
import resource
import sys
from collections.abc import Callable, Sequence

from randomchat import __version__, admin, auth, config, datadir, logs, workers
from randomchat.client import commands as client_commands
from randomchat.console import commands as console_commands
from randomchat.errors import ConfigError
from randomchat.moderate import (
    EXIT_CONFIG,
    EXIT_OK,
    ban_user,
    list_reports,
    login,
    moderate,
    shown,
    unban_user,
)

GC_THRESHOLD = 20_000
# Descriptors serve ``serve`` asks for (up to the hard limit): each connection holds one.
WANTED_DESCRIPTORS = 65_536
MAX_REASON = 500
MAX_TOKEN_HOURS = 24 * 365

WORKER_ENV = "RANDOMCHAT_WORKER"  # set by ``serve --workers N`` for each worker (0..N-1)

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


def serve(settings: config.Settings) -> int:
    import uvloop

    settings, generated = datadir.with_secret(settings)
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
            return moderate(
                settings,
                lambda db: console_commands.run(db, args, login()),
                create=args["admin_action"] == "add",
            )
        settings, _ = datadir.with_secret(settings)
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
