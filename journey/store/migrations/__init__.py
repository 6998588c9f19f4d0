"""Alembic migrations for the journey store, shipped inside the package.

Alembic runs from code, not from an alembic.ini: `Store.migrate()` upgrades to head. To
write a new revision after changing the tables in `journey.store.schema`::

    from alembic import command
    from journey.store.migrations import alembic_config
    command.revision(alembic_config(), "what changed", autogenerate=True)

(against the database in JOURNEY_DATABASE_URL, which must be at head first).
"""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy.engine import Connection

# A package resource, not a path: resolves wherever the package is installed.
SCRIPT_LOCATION = "journey.store:migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for these migrations.

    With `connection`, migrations run on it, inside the caller's transaction; otherwise
    env.py opens a store for `url` (default: journey.config.database_url()).
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config
