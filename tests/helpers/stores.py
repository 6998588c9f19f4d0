"""Stores for tests: a fresh PostgreSQL schema per test, and quick ways to fill a store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa

from journey.domain.measurements import UsageRow
from journey.store import Store

POSTGRES_URL = os.environ.get("JOURNEY_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def postgres_store() -> Iterator[Store]:
    """A migrated store in a fresh schema of the test PostgreSQL database, dropped afterwards."""
    with postgres_schema() as (_, store):
        yield store


@contextmanager
def postgres_schema() -> Iterator[tuple[str, Store]]:
    """A fresh, migrated schema of the test PostgreSQL database, dropped afterwards: its
    URL (for worker processes' JOURNEY_DATABASE_URL) and a store on it. Skips, naming the
    server, when PostgreSQL is not running."""
    admin = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError:
        admin.dispose()
        url = sa.make_url(POSTGRES_URL)
        pytest.skip(f"PostgreSQL at {url.host}:{url.port or 5432} not reachable")
    schema = f"t_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    # Only this schema on the search path: tables and Alembic's version table land in it.
    # In the URL (psycopg2 takes `options` from it), so another process can open it too.
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    schema_url = url.render_as_string(hide_password=False)
    pg_store = Store(schema_url)
    try:
        pg_store.migrate()
        yield schema_url, pg_store
    finally:
        pg_store.close()
        with admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


def add_usage(store: Store, rows: Iterable[tuple[str, date, int, int]]) -> int:
    """Write (account, date, dau, mau) rows as a usage import would; returns the rows written."""
    counts = store.write_usage([UsageRow(account=a, date=d, dau=dau, mau=mau) for a, d, dau, mau in rows])
    return counts.inserted + counts.updated
