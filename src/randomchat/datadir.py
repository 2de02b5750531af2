"""The JWT secret an install keeps in its data directory when none is configured.

``make run`` needs no configuration: the first start generates a secret and keeps it
in ``data_dir`` (mode 0600), so that tokens, device keys and address hashes survive a
restart; every later start, and the CLI's commands, read the same file.
"""

from __future__ import annotations

import os
import secrets

from randomchat.config import MIN_SECRET_LENGTH, Settings
from randomchat.errors import ConfigError

SECRET_FILE = "jwt-secret"


def with_secret(settings: Settings) -> tuple[Settings, bool]:
    """Return settings that carry a JWT secret, and whether one was generated now.

    Without a configured secret, one is kept in ``data_dir`` (mode 0600) so that
    tokens survive a restart and ``make run`` needs no configuration.
    """
    if settings.jwt_secret is not None:
        return settings, False
    path = settings.data_dir / SECRET_FILE
    created = False
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_text().strip()
        else:
            secret = secrets.token_urlsafe(48)
            with os.fdopen(fd, "w") as fh:
                fh.write(secret + "\n")
            created = True
    except OSError as exc:
        raise ConfigError(f"cannot keep the JWT secret in {path}: {exc}") from exc
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return settings.model_copy(update={"jwt_secret": secret}), created
