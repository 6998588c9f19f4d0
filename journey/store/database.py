"""The database behind the store: one SQLAlchemy engine, transactions, migrations.

SQLite by default, PostgreSQL to scale out; the same code and the same Alembic migrations
serve both. The API is synchronous because activities call it from worker threads.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from journey.config import DatabaseUnreachable, create_private_file, database_url
from journey.domain.errors import InputError
from journey.store.schema import SCHEMA_REVISION

T = TypeVar("T")
Row = dict[str, Any]

# Long enough that a burst of workers writing to one SQLite file waits instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Keeps `IN (...)` lists far below SQLite's bound-parameter limit.
CHUNK = 500

_MIGRATION_LOCK = threading.Lock()

# How long to wait for PostgreSQL to accept a connection before saying it is unreachable.
PG_CONNECT_TIMEOUT_S = 10

URL_EXAMPLES = "sqlite:///PATH or postgresql+psycopg2://USER@HOST/DATABASE"


class BadDatabaseUrl(InputError):
    """The database URL cannot be used as given (malformed, unknown database or driver,
    not a database file); the message says what to check, never the password."""


def plain(value: Any) -> Any:
    """Enums are stored as their string values."""
    return value.value if isinstance(value, enum.Enum) else value


def now() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def with_account_id(values: Row) -> Row:
    """Models say `account`, tables say `account_id`."""
    values = {name: plain(value) for name, value in values.items()}
    values["account_id"] = values.pop("account")
    return values


class Database:
    """One database, shared by every part of the store. Thread-safe: each call checks a
    connection out of the pool."""

    def __init__(
        self, url: str | None = None, *, connect_args: Mapping[str, Any] | None = None
    ) -> None:
        try:
            self.url = sa.make_url(url or database_url())
        except sa.exc.ArgumentError:
            raise BadDatabaseUrl(f"JOURNEY_DATABASE_URL is not a database URL: expected {URL_EXAMPLES}") from None
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise BadDatabaseUrl(
                f"JOURNEY_DATABASE_URL: unsupported database {self.dialect!r}: use sqlite or postgresql ({URL_EXAMPLES})"
            )
        kwargs: dict[str, Any] = {"connect_args": dict(connect_args or {})}
        if self.dialect == "sqlite":
            _prepare_sqlite(self.url, kwargs)
        else:
            # Drop connections a restarted server or an idle firewall has cut.
            kwargs["pool_pre_ping"] = True
            if "connect_timeout" not in self.url.query:
                kwargs["connect_args"].setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        try:
            self.engine: Engine = sa.create_engine(self.url, **kwargs)
        except (sa.exc.ArgumentError, ImportError) as err:  # an unknown driver, or one not installed
            raise BadDatabaseUrl(f"JOURNEY_DATABASE_URL {self.shown_url()}: {_first_line(err)}") from None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)

    @classmethod
    def open(
        cls, url: str | None = None, *, connect_args: Mapping[str, Any] | None = None
    ) -> Self:
        """A store whose schema is up to date (migrated first if it is behind)."""
        store = cls(url, connect_args=connect_args)
        try:
            if store.revision() != SCHEMA_REVISION:
                store.migrate()
        except sa.exc.OperationalError as err:
            store.close()
            raise DatabaseUnreachable(
                f"cannot open the database {store.shown_url()}: {_first_line(err.orig or err)}; "
                "check JOURNEY_DATABASE_URL and that the database server is running and lets you in"
            ) from None
        except sa.exc.DatabaseError as err:  # it answered, and is not a database journey can use
            store.close()
            raise BadDatabaseUrl(
                f"JOURNEY_DATABASE_URL {store.shown_url()}: {_first_line(err.orig or err)}"
            ) from None
        return store

    def shown_url(self) -> str:
        """The URL as it may be printed: the password hidden."""
        return self.url.render_as_string(hide_password=True)

    def revision(self) -> str | None:
        """The schema's migration revision (None: a database never migrated)."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self) -> None:
        """Upgrade the schema to the latest migration; a no-op when already there."""
        # Alembic (about 11 MiB once imported) is loaded only by a process that migrates:
        # workers opening an up-to-date database never need it.
        from alembic import command

        from journey.store.migrations import alembic_config

        # Alembic keeps the running migration in module globals: one at a time per process.
        # Across processes, our write transaction serialises SQLite starters and an
        # advisory lock in env.py serialises PostgreSQL ones; and a failed migration
        # leaves nothing half-applied (both databases run DDL in transactions).
        with _MIGRATION_LOCK, self.transaction() as conn:
            command.upgrade(alembic_config(conn), "head")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed on success and rolled back on error.

        On SQLite it starts with BEGIN IMMEDIATE: taking the write lock up front lets a busy
        database wait (busy timeout) instead of failing with "database is locked" when a
        transaction that began by reading later tries to write.
        """
        with self.engine.connect() as conn:
            conn.execution_options(journey_write=True)
            with conn.begin():
                yield conn

    def count_pairs(self, first: sa.Column[Any], second: sa.Column[Any]) -> dict[tuple[str, str], int]:
        """How many rows hold each (first, second) pair of values; pairs with no row are
        left out."""
        query = sa.select(first, second, sa.func.count()).group_by(first, second)
        with self.engine.connect() as conn:
            return {(a, b): count for a, b, count in conn.execute(query)}

    def insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """INSERT with ON CONFLICT support; both dialects' constructs share that API."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# --- SQLite setup ------------------------------------------------------------------------


def _prepare_sqlite(url: sa.URL, engine_kwargs: dict[str, Any]) -> None:
    """Adjust engine options for SQLite; create the database file's directory if missing."""
    database = url.database or ""
    if database in ("", ":memory:"):
        # One in-memory database shared by every thread (each new connection would get
        # an empty one). Meant for tests and scratch use only.
        engine_kwargs["poolclass"] = sa.StaticPool
        engine_kwargs["connect_args"].setdefault("check_same_thread", False)
    elif not database.startswith("file:"):  # a URI filename is the caller's business
        # Created here, before SQLite does, so that it is 0600 in a 0700 directory whatever
        # the umask; SQLite gives its -wal and -shm files the database file's mode.
        create_private_file(Path(database))


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver, which skips it before SELECT and DDL;
        # _on_begin emits it instead, so reads, writes and migrations are real transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Busy timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets readers run while one writer writes (several worker threads and
        # processes share the file); it is a property of the file, so this sticks.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get("journey_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
