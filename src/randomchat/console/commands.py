"""``randomchat admin add|list|remove|password``: the console's accounts, from the shell.

The password is asked twice on a terminal, or read as one line from standard
input otherwise (``printf '%s\\n' "$PW" | randomchat admin add alice``), never
from an argument, where ``ps`` and the shell history would show it.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from randomchat import config
from randomchat.console import sessions
from randomchat.console.shapes import NAME_PATTERN
from randomchat.db import Database, audit
from randomchat.db import accounts as account_store
from randomchat.db.accounts import ROLES, AccountExists

NAME = re.compile(NAME_PATTERN)
EXIT_OK = 0
EXIT_FAILED = 1  # no such account, name taken, password refused


def _name(raw: str) -> str:
    if not NAME.fullmatch(raw):
        raise argparse.ArgumentTypeError(
            "1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"
        )
    return raw


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("admin", help="moderation console accounts (add, list, ...)")
    actions = parser.add_subparsers(dest="admin_action", required=True)
    add = actions.add_parser("add", help="create an account; the password is prompted")
    config.add_arguments(add)
    add.add_argument("admin_name", metavar="NAME", type=_name)
    add.add_argument("--role", dest="admin_role", choices=ROLES, default="admin")
    listing = actions.add_parser("list", help="list the accounts")
    config.add_arguments(listing)
    remove = actions.add_parser("remove", help="delete an account (ends its sessions)")
    config.add_arguments(remove)
    remove.add_argument("admin_name", metavar="NAME", type=_name)
    password = actions.add_parser("password", help="set a new password (ends its sessions)")
    config.add_arguments(password)
    password.add_argument("admin_name", metavar="NAME", type=_name)


def read_password(stdin: TextIO, ask: Callable[[str], str] = getpass.getpass) -> str:
    """Twice from a terminal, else the first line of ``stdin``; ``ValueError`` if refused."""
    if stdin.isatty():
        first = ask("Password: ")
        if ask("Again: ") != first:
            raise ValueError("the two passwords differ")
    else:
        first = stdin.readline(sessions.MAX_PASSWORD + 2).rstrip("\r\n")
    refused = sessions.check_password_rules(first)
    if refused is not None:
        raise ValueError(refused)
    return first


async def run(db: Database, args: dict[str, Any], login: str) -> int:
    """The chosen action on ``db``; the exit code. Changes are audited as ``cli:<login>``."""
    action = args["admin_action"]
    actor = f"cli:{login}"
    now = time.time()
    if action == "list":
        found = await account_store.all_accounts(db)
        if not found:
            print("no accounts (create one with: randomchat admin add NAME)")
        for account in found:
            print(f"{account.name}\t{account.role}")
        return EXIT_OK
    name: str = args["admin_name"]
    if action == "remove":
        if not await account_store.remove(db, name):
            print(f"randomchat: no account named {name!r}", file=sys.stderr)
            return EXIT_FAILED
        await audit.record(
            db, actor=actor, action="account-remove", target=name, reason="", now=now
        )
        print(f"removed {name}")
        return EXIT_OK
    try:
        password = read_password(sys.stdin)
    except (ValueError, EOFError) as exc:
        print(f"randomchat: {exc}", file=sys.stderr)
        return EXIT_FAILED
    hashed = sessions.hash_password(password)
    if action == "add":
        role: str = args["admin_role"]
        try:
            await account_store.add(db, name, role, hashed, now)
        except AccountExists as exc:
            print(f"randomchat: {exc}", file=sys.stderr)
            return EXIT_FAILED
        await audit.record(
            db,
            actor=actor,
            action="account-add",
            target=name,
            reason="",
            now=now,
            detail={"role": role},
        )
        print(f"added {name} ({role}); sign in at /admin")
        return EXIT_OK
    if not await account_store.set_password(db, name, hashed, now):
        print(f"randomchat: no account named {name!r}", file=sys.stderr)
        return EXIT_FAILED
    await audit.record(db, actor=actor, action="account-password", target=name, reason="", now=now)
    print(f"changed the password of {name}")
    return EXIT_OK
