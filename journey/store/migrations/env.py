"""Alembic environment for the journey store (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from journey.config import database_url
from journey.store.database import Database
from journey.store.schema import metadata

# Any constant shared by every journey process; "journey" in ASCII.
MIGRATION_LOCK_ID = 0x6A6F75726E6579


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Many workers may start at once. The lock is held until the transaction ends,
            # so the next one reads the version table only after the first has committed.
            lock = sa.text("SELECT pg_advisory_xact_lock(:id)")
            connection.execute(lock, {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or database_url()


def run_offline() -> None:
    """`--sql` mode: print the DDL instead of running it."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        # Store.migrate() passes its connection, already inside a write transaction.
        _run_on(connection)
        return
    # Run from the alembic command API without a connection: open the store ourselves, so
    # SQLite gets the same pragmas and BEGIN handling as at run time.
    with Database(_url()) as database, database.transaction() as conn:
        _run_on(conn)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
