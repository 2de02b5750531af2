"""Alembic environment for randomchat.

In the server and the CLI, ``randomchat.db.migrate.upgrade`` hands over an open
connection in ``config.attributes["connection"]``. Run by hand with the
``alembic`` command, this opens its own engine on ``sqlalchemy.url`` or, when
that is unset, on the database ``randomchat serve`` would use (``DATABASE_URL``,
``RANDOMCHAT_DATA_DIR`` ...).
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, make_url

from randomchat import config as settings_module
from randomchat.db.database import WRITE, make_engine
from randomchat.db.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # make_engine wraps SQLite DDL in a real transaction too.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    url = config.get_main_option("sqlalchemy.url") or settings_module.load({}, os.environ).database
    engine = make_engine(make_url(url))
    try:
        async with engine.connect() as connection:
            await connection.execution_options(**{WRITE: True})
            async with connection.begin():
                await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or settings_module.load({}, os.environ).database
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
elif context.is_offline_mode():
    _offline()
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    asyncio.run(_run_standalone())
