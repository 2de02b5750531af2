"""``randomchat bot``, ``randomchat echo-bot`` and ``randomchat doctor``.

Only argparse here: aiortc and the Socket.IO client are imported when one of these
commands runs, so ``randomchat serve`` never loads them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
from typing import Any

COMMANDS = ("bot", "echo-bot", "doctor")

EXIT_OK = 0
EXIT_FAILED = 1  # doctor: a check failed (or, --strict, was skipped); bot: no call connected
EXIT_MISSING = 2  # the peer extra is not installed
EXIT_JOIN = 4  # the deployment refused or could not be reached

# What the peer extra (pyproject.toml) brings: a server install goes without them.
PEER_MODULES = ("aiortc", "socketio")

MAX_COUNT = 1_000_000
MAX_SECONDS = 24 * 3600.0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the three client commands on ``randomchat``'s subcommands."""
    bot = commands.add_parser("bot", help="join as a Python peer sending a test pattern and tone")
    _common(bot)
    bot.add_argument("--username", default=None, help="display name (default 'Test pattern (bot)')")
    bot.add_argument("--media", default=None, metavar="FILE", help="send this file instead")
    bot.add_argument("--count", type=_count, default=1, help="calls to take (default 1)")
    bot.add_argument(
        "--seconds", type=_seconds, default=10.0, help="length of each call (default 10)"
    )
    echo = commands.add_parser(
        "echo-bot", help="wait in the queue and send each partner their own video and audio back"
    )
    _common(echo)
    echo.add_argument("--username", default=None, help="display name (default 'Echo (bot)')")
    echo.add_argument("--count", type=_count, default=None, help="calls to take, then exit")
    doctor = commands.add_parser("doctor", help="check a deployment from outside")
    doctor.add_argument("--url", required=True, help="the deployment, e.g. https://chat.example")
    doctor.add_argument("--token", default=None, help="a token, when guest sessions are off")
    doctor.add_argument(
        "--relay",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make the test call relay-only (default: when TURN is configured)",
    )
    doctor.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) when a check was skipped, e.g. STUN or TURN not configured",
    )
    doctor.add_argument("-v", "--verbose", action="count", default=0)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the deployment, e.g. http://127.0.0.1:3000")
    parser.add_argument("--token", default=None, help="a token (default: a guest session)")
    parser.add_argument("--interests", nargs="*", default=[], metavar="TAG")
    parser.add_argument("--strict", action="store_true", help="only partners sharing a tag")
    parser.add_argument("--privacy", action="store_true", help="ask for relay-only calls")
    parser.add_argument("-v", "--verbose", action="count", default=0)


def _count(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_COUNT}")
    return int(raw)


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_SECONDS:g}")
    return value


def run(command: str, args: dict[str, Any]) -> int:
    """Run a client command with its parsed arguments; returns the exit code."""
    missing = [name for name in PEER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"randomchat {command} needs the peer extra ({', '.join(missing)} missing): "
            "pip install 'randomchat[peer]'",
            file=sys.stderr,
        )
        return EXIT_MISSING
    _configure_logging(int(args.get("verbose") or 0))
    from randomchat.client.session import JoinError

    try:
        if command == "doctor":
            return asyncio.run(_doctor(args))
        if command == "echo-bot":
            return asyncio.run(_echo(args))
        return asyncio.run(_bot(args))
    except JoinError as exc:
        print(f"randomchat {command}: {exc}", file=sys.stderr)
        return EXIT_JOIN
    except KeyboardInterrupt:
        return EXIT_OK


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    # aioice narrates every connectivity check at INFO: only with -vv
    logging.getLogger("aioice").setLevel(logging.INFO if verbose > 1 else logging.WARNING)


async def _doctor(args: dict[str, Any]) -> int:
    from randomchat.client.doctor import Doctor

    doctor = Doctor(
        args["url"], token=args["token"], relay=args["relay"], show=lambda c: print(c.line())
    )
    await doctor.run()
    strict = bool(args.get("strict"))
    print(doctor.summary(strict))
    return EXIT_FAILED if doctor.exit_code(strict) else EXIT_OK


async def _echo(args: dict[str, Any]) -> int:
    from randomchat.client.bot import ECHO_USERNAME, EchoBot

    bot = EchoBot(
        args["url"],
        username=args["username"] or ECHO_USERNAME,
        token=args["token"],
        interests=tuple(args["interests"]),
        strict=args["strict"],
        privacy=args["privacy"],
        count=args["count"],
        on_report=lambda r: print(r.line(), flush=True),
    )
    print(f"{bot.username} is waiting for partners at {args['url']}", flush=True)
    await bot.run()
    return EXIT_OK


async def _bot(args: dict[str, Any]) -> int:
    from randomchat.client.bot import BOT_USERNAME, run_bot
    from randomchat.client.peer import Media

    media = Media("file", path=args["media"]) if args["media"] else Media()
    reports = await run_bot(
        args["url"],
        username=args["username"] or BOT_USERNAME,
        media=media,
        interests=tuple(args["interests"]),
        strict=args["strict"],
        privacy=args["privacy"],
        count=args["count"],
        seconds=args["seconds"],
        on_report=lambda r: print(r.line(), flush=True),
    )
    return EXIT_OK if any(r.connect_ms is not None for r in reports) else EXIT_FAILED
