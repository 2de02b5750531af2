"""The command line: serve, token. A thin layer over importable functions."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from randomchat import __version__, auth, config, logs
from randomchat.errors import ConfigError

EXIT_OK = 0
EXIT_CONFIG = 2

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
    token.add_argument("--hours", dest="token_hours", type=float, default=1.0)
    return parser


def serve(settings: config.Settings) -> int:
    import uvicorn

    from randomchat.app import create_app

    settings, generated = config.with_secret(settings)
    if generated:
        log.info("generated a JWT secret", extra={"path": str(settings.data_dir / "jwt-secret")})
    app = create_app(settings)
    log.info(
        "serving",
        extra={"url": f"http://{settings.host}:{settings.port}", "web_dir": str(settings.web_dir)},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app.asgi,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    )
    server.run()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    command = args.pop("command")
    try:
        settings = config.load(args, os.environ)
        logs.configure(settings.log_level)
        if command == "serve":
            return serve(settings)
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
        print(f"randomchat: {exc}", file=sys.stderr)
        return EXIT_CONFIG
