"""Stores for tests: a fresh PostgreSQL schema per test, and quick ways to fill a store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from journey.domain.measurements import UsageRow
from journey.store import Store

POSTGRES_URL = os.environ.get("JOURNEY_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def postgres_store() -> Iterator[Store]:
    """A migrated store in a fresh schema of the test PostgreSQL database, dropped afterwards."""
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
    pg_store = Store(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        pg_store.migrate()
        yield pg_store
    finally:
        pg_store.close()
        with admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


def add_usage(store: Store, rows: Iterable[tuple[str, date, int, int]]) -> int:
    """Write (account, date, dau, mau) rows as a usage import would; returns the rows written."""
    counts = store.write_usage([UsageRow(account=a, date=d, dau=dau, mau=mau) for a, d, dau, mau in rows])
    return counts.inserted + counts.updated
