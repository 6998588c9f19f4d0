"""The journey's database: accounts, contacts, timeline, tasks, outbox, usage, red accounts.

SQLite by default, PostgreSQL to scale out; the same code and the same Alembic migrations
serve both. The API is synchronous because activities call it from worker threads.

Writes that a Temporal activity may retry are idempotent: every inserted row carries a
deterministic `key` and is inserted with ON CONFLICT DO NOTHING, and updates only set
values, so applying the same batch twice leaves the database as after once.
"""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from journey.config import database_url
from journey.migrations import alembic_config
from journey.models import (
    Account,
    AccountSnapshot,
    Delivery,
    Effects,
    RedTrackerRow,
    TaskChange,
    TaskOpen,
    TimelineEntry,
)

Row = dict[str, Any]
T = TypeVar("T")

# Long enough that a burst of workers writing to one SQLite file waits instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Keeps `IN (...)` lists far below SQLite's bound-parameter limit.
CHUNK = 500

TASK_STATUSES = ("open", "done", "skipped", "cancelled")
# `sending`: claimed by one sender, the message not complete at the receiver yet;
# `confirming`: handed over, the receiver's answer not recorded yet; `unknown`: its sender
# stopped while confirming, so it may or may not have arrived (migrations 0004 and 0005;
# see claim_delivery and hand_over).
DELIVERY_STATUSES = ("pending", "sending", "confirming", "sent", "simulated", "failed", "unknown")
DELIVERY_CHANNELS = ("slack", "email")
# Statuses that mean the touch went out (for real or in a simulation).
DELIVERED_STATUSES = ("sent", "simulated")

_MIGRATION_LOCK = threading.Lock()


# --- Schema ------------------------------------------------------------------------------
# The migrations in journey/migrations/versions/ create this schema; a test checks that they
# agree, so change both together (autogenerate a new revision from this metadata).

# Deterministic constraint names, so later migrations can name what they alter or drop
# (SQLite batch migrations need that).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps the offset, SQLite does not; normalising to UTC on the way in and
    tagging UTC on the way out gives callers the same value from both.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _check_in(column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("segment", sa.String(32), nullable=False),
    sa.Column("tier", sa.Integer, nullable=False),
    sa.Column("model", sa.String(32), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("arr", sa.Float, nullable=False),
    sa.Column("signed", sa.Date, nullable=False),
    sa.Column("renewal", sa.Date, nullable=False),
    sa.Column("ta", sa.String, nullable=False),
    sa.Column("ae", sa.String, nullable=False),
    sa.Column("deployment", sa.String(32), nullable=False),
    sa.Column("production_ready", sa.Date),
    sa.Column("onboarding_complete", sa.Date),
    sa.Column("enrolled_at", UTCDateTime, nullable=False),
    # Mirrored from the journey (AccountSnapshot) so listing needs no Temporal round trip.
    # An enrolled account starts at `signed`, green, in its first term.
    sa.Column("stage", sa.String(32), nullable=False, server_default="signed"),
    sa.Column("health", sa.String(16), nullable=False, server_default="green"),
    sa.Column("health_reason", sa.Text),
    sa.Column("term", sa.Integer, nullable=False, server_default="1"),
    sa.Column("adoption_deadline", sa.Date),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Written by the nightly health sweep (migration 0003; see journey.health_data): the
    # latest score, and the color and adoption band the journey was last told about.
    sa.Column("health_score", sa.Integer),
    sa.Column("scored_on", sa.Date),
    sa.Column("score_color", sa.String(16)),
    sa.Column("adoption_band", sa.Float),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id",
        sa.String(63),
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String),
    sa.Column("role", sa.String(32), nullable=False),
)

timeline = sa.Table(
    "timeline",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("at", sa.Date, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("detail", JSONDocument, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False),
    sa.Column("touchpoint", sa.String, nullable=False),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("owner_role", sa.String, nullable=False),
    sa.Column("owner", sa.String, nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reminded_on", sa.Date),
    sa.Column("escalated_on", sa.Date),
    sa.Column("escalated_to", sa.String),
    sa.Column("done_on", sa.Date),
    sa.Column("notes", sa.Text),
    sa.Column("playbook_version", sa.String),
    _check_in("status", TASK_STATUSES),
    # "My open tasks" and "is this touchpoint already open for the account" are the hot reads.
    sa.Index("ix_tasks_status_owner", "status", "owner"),
    sa.Index("ix_tasks_account_id_touchpoint", "account_id", "touchpoint"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("touchpoint", sa.String, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claim", sa.String(32)),
    sa.Column("claimed_at", UTCDateTime),
    _check_in("channel", DELIVERY_CHANNELS),
    _check_in("status", DELIVERY_STATUSES),
    # The delivery sweep reads pending rows in due order.
    sa.Index("ix_outbox_status_due", "status", "due"),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("account_id", sa.String(63), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("dau", sa.Integer, nullable=False),
    sa.Column("mau", sa.Integer, nullable=False),
)

# Survey answers for NPS (migration 0002). `key` makes re-imports idempotent; see
# journey.ingest.nps_key for how it is built.
nps_responses = sa.Table(
    "nps_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("respondent", sa.String),
    sa.CheckConstraint("score BETWEEN 0 AND 10", name="score"),
)

red_accounts = sa.Table(
    "red_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.Column("escalated_on", sa.Date),
    sa.Column("resolution", sa.Text),
    # Written by people (AE and TA jointly), never by the journey: see record_red_plan().
    sa.Column("current_state", sa.Text),
    sa.Column("needs", sa.Text),
    sa.Column("intended_actions", sa.Text),
)

# Account columns that come from the enrollment file; a re-import compares exactly these.
ACCOUNT_FIELDS = (
    "name",
    "segment",
    "tier",
    "model",
    "seats",
    "arr",
    "signed",
    "renewal",
    "ta",
    "ae",
    "deployment",
    "production_ready",
    "onboarding_complete",
)
# Account columns the journey mirrors from its AccountSnapshot.
SNAPSHOT_FIELDS = (
    "stage",
    "health",
    "health_reason",
    "term",
    "seats",
    "arr",
    "tier",
    "segment",
    "model",
    "renewal",
    "production_ready",
    "onboarding_complete",
    "adoption_deadline",
)


# --- Conversions between models and rows -------------------------------------------------


def _plain(value: Any) -> Any:
    """Enums are stored as their string values."""
    return value.value if isinstance(value, enum.Enum) else value


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _account_values(account: Account) -> Row:
    return {"id": account.id, **{name: _plain(getattr(account, name)) for name in ACCOUNT_FIELDS}}


ContactKey = tuple[str, str | None, str]


def _contact_keys(account: Account) -> list[ContactKey]:
    return [(c.name, c.email, _plain(c.role)) for c in account.contacts]


def _with_account_id(values: Row) -> Row:
    """Models say `account`, tables say `account_id`."""
    values = {name: _plain(value) for name, value in values.items()}
    values["account_id"] = values.pop("account")
    return values


def _timeline_values(entry: TimelineEntry, now: datetime) -> Row:
    values = _with_account_id(entry.model_dump())
    # JSON columns cannot hold dates; the JSON-mode dump turns them into ISO strings.
    values["detail"] = entry.model_dump(mode="json")["detail"]
    values["recorded_at"] = now
    return values


def _task_values(task: TaskOpen, now: datetime) -> Row:
    return {**_with_account_id(task.model_dump()), "status": "open", "created_at": now}


def _delivery_values(delivery: Delivery, now: datetime) -> Row:
    values = _with_account_id(delivery.model_dump())
    return {**values, "status": "pending", "attempts": 0, "created_at": now}


def _rows(result: sa.Result[Any]) -> list[Row]:
    return [dict(row._mapping) for row in result]


# --- The store ---------------------------------------------------------------------------


class Store:
    """The journey's database. Thread-safe: each call checks a connection out of the pool."""

    def __init__(
        self, url: str | None = None, *, connect_args: Mapping[str, Any] | None = None
    ) -> None:
        self.url = sa.make_url(url or database_url())
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        kwargs: dict[str, Any] = {"connect_args": dict(connect_args or {})}
        if self.dialect == "sqlite":
            _prepare_sqlite(self.url, kwargs)
        else:
            # Drop connections a restarted server or an idle firewall has cut.
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)

    @classmethod
    def open(
        cls, url: str | None = None, *, connect_args: Mapping[str, Any] | None = None
    ) -> Store:
        """A store whose schema is up to date."""
        store = cls(url, connect_args=connect_args)
        store.migrate()
        return store

    def migrate(self) -> None:
        """Upgrade the schema to the latest migration; a no-op when already there."""
        # Alembic keeps the running migration in module globals: one at a time per process.
        # Across processes, our write transaction serialises SQLite starters and an
        # advisory lock in env.py serialises PostgreSQL ones; and a failed migration
        # leaves nothing half-applied (both databases run DDL in transactions).
        with _MIGRATION_LOCK, self.transaction() as conn:
            command.upgrade(alembic_config(conn), "head")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
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

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """INSERT with ON CONFLICT support; both dialects' constructs share that API."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # --- Accounts --------------------------------------------------------------------

    def upsert_accounts(self, accounts_in: list[Account]) -> tuple[int, int]:
        """Insert new accounts and update changed ones, all in one transaction.

        Returns (inserted, updated). An account whose file columns and contacts are exactly
        as stored is left alone (its updated_at does not move); a changed account gets the
        file's values and its contacts replaced. Columns only the journey writes (stage,
        health, health_reason, term, adoption_deadline) are never touched by an import.
        """
        _refuse_duplicate_ids(accounts_in)
        if not accounts_in:
            return (0, 0)
        with self.transaction() as conn:
            return self._upsert_accounts(conn, accounts_in)

    def _upsert_accounts(self, conn: Connection, accounts_in: list[Account]) -> tuple[int, int]:
        ids = [account.id for account in accounts_in]
        stored = _load_account_values(conn, ids)
        stored_contacts = _load_contact_keys(conn, ids)
        new = [a for a in accounts_in if a.id not in stored]
        changed = [
            a
            for a in accounts_in
            if a.id in stored
            and (
                _account_values(a) != stored[a.id]
                or _contact_keys(a) != stored_contacts.get(a.id, [])
            )
        ]
        self._write_accounts(conn, new + changed)
        self._replace_contacts(conn, new + changed)
        return (len(new), len(changed))

    def _write_accounts(self, conn: Connection, rows: list[Account]) -> None:
        if not rows:
            return
        now = _now()
        # Id order: two imports locking the same rows in different orders would deadlock.
        rows = sorted(rows, key=lambda account: account.id)
        values = [{**_account_values(a), "enrolled_at": now, "updated_at": now} for a in rows]
        # One multi-row upsert (SQLAlchemy batches executemany into INSERT ... VALUES lists)
        # covers new and changed accounts alike; enrolled_at keeps its first value.
        stmt = self._insert(accounts)
        stmt = stmt.on_conflict_do_update(
            index_elements=[accounts.c.id],
            set_={name: stmt.excluded[name] for name in (*ACCOUNT_FIELDS, "updated_at")},
        )
        conn.execute(stmt, values)

    def _replace_contacts(self, conn: Connection, rows: list[Account]) -> None:
        # Runs after _write_accounts, whose row locks keep two imports of one account from
        # interleaving their deletes and inserts here.
        ids = sorted(a.id for a in rows)
        for chunk in _chunks(ids):
            conn.execute(contacts.delete().where(contacts.c.account_id.in_(chunk)))
        values = [
            {"account_id": a.id, "name": c.name, "email": c.email, "role": _plain(c.role)}
            for a in rows
            for c in a.contacts
        ]
        if values:
            conn.execute(contacts.insert(), values)

    def get_account(self, account_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
            if row is None:
                return None
            contact_rows = conn.execute(
                sa.select(contacts.c.name, contacts.c.email, contacts.c.role)
                .where(contacts.c.account_id == account_id)
                .order_by(contacts.c.id)
            )
            values = {name: getattr(row, name) for name in ("id", *ACCOUNT_FIELDS)}
            values["contacts"] = [dict(c._mapping) for c in contact_rows]
        return Account.model_validate(values)

    def account_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(accounts.c.id)).scalars())

    def list_accounts(
        self,
        stage: str | None = None,
        segment: str | None = None,
        health: str | None = None,
        ta: str | None = None,
    ) -> list[Row]:
        """Account rows (file columns plus the journey-mirrored ones), ordered by id."""
        query = sa.select(accounts).order_by(accounts.c.id)
        filters = {"stage": stage, "segment": segment, "health": health, "ta": ta}
        for name, value in filters.items():
            if value is not None:
                query = query.where(accounts.c[name] == _plain(value))
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    # --- Effects ---------------------------------------------------------------------

    def apply_effects(self, effects: Effects) -> None:
        """Write everything one journey step produced, in one transaction, idempotently.

        Inserts are keyed and skip rows already present, so a retried activity writes
        nothing twice; updates set values (never increment) and touch `updated_at` only
        when something changed, so applying the same Effects again changes nothing.
        """
        self.apply_many([effects])

    def apply_many(self, batches: Iterable[Effects]) -> None:
        """`apply_effects` for several batches (e.g. one per account), in ONE transaction."""
        batches = [effects for effects in batches if not effects.empty()]
        if not batches:
            return
        now = _now()
        with self.transaction() as conn:
            for effects in batches:
                self._write_effects(conn, effects, now)

    def _write_effects(self, conn: Connection, effects: Effects, now: datetime) -> None:
        if effects.enroll is not None:
            # The journey's first step records the account itself.
            self._upsert_accounts(conn, [effects.enroll])
        self._insert_new(conn, timeline, [_timeline_values(e, now) for e in effects.timeline])
        # Open before changing: a batch may open a task and change it at once.
        self._insert_new(conn, tasks, [_task_values(t, now) for t in effects.open_tasks])
        for change in effects.task_changes:
            _apply_task_change(conn, change)
        self._insert_new(conn, outbox, [_delivery_values(d, now) for d in effects.deliveries])
        for red in effects.red_rows:
            self._upsert_red_row(conn, red)
        if effects.snapshot is not None:
            _apply_snapshot(conn, effects.snapshot, now)

    def _insert_new(self, conn: Connection, table: sa.Table, values: list[Row]) -> None:
        """Insert the rows whose key is not there yet (one batched statement)."""
        if values:
            conn.execute(self._insert(table).on_conflict_do_nothing(index_elements=["key"]), values)

    def _upsert_red_row(self, conn: Connection, red: RedTrackerRow) -> None:
        # Insert the episode, or move it on: only the fields this row sets are written, so a
        # later row without escalated_on does not erase an earlier escalation.
        values = _with_account_id(red.model_dump())
        changes = {name: value for name, value in values.items() if value is not None}
        del changes["key"]
        stmt = self._insert(red_accounts).values(values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changes))

    # --- Timeline and tasks ----------------------------------------------------------

    def timeline(self, account_id: str) -> list[Row]:
        query = (
            sa.select(timeline)
            .where(timeline.c.account_id == account_id)
            .order_by(timeline.c.at, timeline.c.id)
        )
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    def tasks(
        self,
        owner: str | None = None,
        account: str | None = None,
        status: str | None = "open",
        overdue_on: date | None = None,
    ) -> list[Row]:
        """Tasks ordered by due date. `status=None` means any status; `overdue_on=D` keeps
        tasks due strictly before D (a task due today is not overdue yet)."""
        query = sa.select(tasks).order_by(tasks.c.due, tasks.c.id)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        if account is not None:
            query = query.where(tasks.c.account_id == account)
        if status is not None:
            query = query.where(tasks.c.status == status)
        if overdue_on is not None:
            query = query.where(tasks.c.due < overdue_on)
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    def tasks_to_remind(self, today: date) -> list[Row]:
        """Open tasks due before `today` that are not both reminded and escalated yet, with
        their account's name, engagement model, TA and AE (the reminder sweep's input)."""
        query = (
            sa.select(
                tasks.c.key,
                tasks.c.account_id.label("account"),
                accounts.c.name.label("account_name"),
                accounts.c.model,
                accounts.c.ta,
                accounts.c.ae,
                tasks.c.touchpoint,
                tasks.c.title,
                tasks.c.owner_role,
                tasks.c.owner,
                tasks.c.due,
                tasks.c.reminded_on,
                tasks.c.escalated_on,
            )
            .join(accounts, accounts.c.id == tasks.c.account_id)
            .where(
                tasks.c.status == "open",
                tasks.c.due < today,
                sa.or_(tasks.c.reminded_on.is_(None), tasks.c.escalated_on.is_(None)),
            )
            .order_by(tasks.c.account_id, tasks.c.due, tasks.c.id)
        )
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    def find_open_task(self, account: str, touchpoint: str) -> Row | None:
        """The open task for this touchpoint that is due first, if any."""
        query = (
            sa.select(tasks)
            .where(
                tasks.c.account_id == account,
                tasks.c.touchpoint == touchpoint,
                tasks.c.status == "open",
            )
            .order_by(tasks.c.due, tasks.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else dict(row._mapping)

    # --- Outbox ----------------------------------------------------------------------

    def pending_deliveries(
        self, keys: list[str] | None = None, *, key_suffixes: Sequence[str] = (), include_claimed: bool = False
    ) -> list[Row]:
        """Pending outbox rows in due order; only those with the given keys if any, only
        those whose key ends with one of `key_suffixes` if given, and with
        `include_claimed` also those a sender claimed and has not recorded (`sending`,
        `confirming`: a sweep retried after its worker died finds them so)."""
        statuses = ("pending", "sending", "confirming") if include_claimed else ("pending",)
        query = sa.select(outbox).where(outbox.c.status.in_(statuses))
        if key_suffixes:
            query = query.where(sa.or_(*(outbox.c.key.endswith(suffix, autoescape=True) for suffix in key_suffixes)))
        order = (outbox.c.due, outbox.c.id)
        with self.engine.connect() as conn:
            if keys is None:
                return _rows(conn.execute(query.order_by(*order)))
            found = [
                row
                for chunk in _chunks(keys)
                for row in _rows(conn.execute(query.where(outbox.c.key.in_(chunk))))
            ]
        return sorted(found, key=lambda row: (row["due"], row["id"]))

    def claim_delivery(self, key: str) -> Row | None:
        """Claim an outbox row for sending under a fresh token (`row["claim"]`); None when
        it is not the sender's to send (sent, given up, in doubt, or already handed over).

        A row still `sending` is taken over: its message never became complete at the
        receiver (see hand_over), so the earlier sender, dead or merely slow, has not
        delivered it and, having lost the claim, never will. Each claim is one conditional
        UPDATE, so senders racing for a row (a retry while a slow attempt is still alive,
        two sweeps at once) end with exactly one of them able to hand it over.
        """
        token = uuid.uuid4().hex
        with self.transaction() as conn:
            claimed = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status.in_(("pending", "sending")))
                .values(status="sending", claim=token, claimed_at=_now())
            )
            if claimed.rowcount != 1:
                return None
            row = conn.execute(sa.select(outbox).where(outbox.c.key == key)).first()
        return None if row is None else dict(row._mapping)

    def hand_over(self, key: str, claim: str) -> bool:
        """The commit point of a send: the receiver is ready and the last part of the
        message is about to go (sending -> confirming). False when another sender took the
        row over meanwhile: the caller must then abandon the message unfinished."""
        with self.transaction() as conn:
            result = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.claim == claim, outbox.c.status == "sending")
                .values(status="confirming")
            )
        return result.rowcount == 1

    def mark_in_doubt(self, key: str, reason: str) -> bool:
        """A row still `confirming` when a later attempt comes for it, or whose receiver
        never answered: the whole message went out and the sender does not know whether it
        arrived. Marks it `unknown` (never sent again automatically) and returns True."""
        with self.transaction() as conn:
            result = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status == "confirming")
                .values(status="unknown", attempts=outbox.c.attempts + 1, last_error=reason)
            )
        return result.rowcount == 1

    def mark_delivery(self, key: str, status: str, error: str | None = None, *, claim: str | None = None) -> bool:
        """Record one delivery attempt: its outcome, its error, and when it went out.

        With `claim`, only while the row is still that sender's (False otherwise: another
        sender took it over and records its own outcome). Raises KeyError for a key with
        no row."""
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"delivery status {status!r} is not one of {DELIVERY_STATUSES}")
        values: Row = {
            "status": status,
            "attempts": outbox.c.attempts + 1,
            "last_error": error,
        }
        if status in DELIVERED_STATUSES:
            values["sent_at"] = _now()
        where = [outbox.c.key == key]
        if claim is not None:
            where.append(outbox.c.claim == claim)
        with self.transaction() as conn:
            result = conn.execute(outbox.update().where(*where).values(values))
            if result.rowcount == 0:
                if conn.execute(sa.select(outbox.c.id).where(outbox.c.key == key)).first() is None:
                    raise KeyError(f"no outbox row with key {key!r}")
                return False
        return True

    def deliveries(
        self, *, statuses: Sequence[str] = (), account: str | None = None, keys: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Row]:
        """Outbox rows, newest first, optionally only those in `statuses`, of one account or
        with these keys (at most CHUNK of them)."""
        query = sa.select(outbox)
        if keys:
            query = query.where(outbox.c.key.in_(list(keys)[:CHUNK]))
        if statuses:
            query = query.where(outbox.c.status.in_(statuses))
        if account is not None:
            query = query.where(outbox.c.account_id == account)
        query = query.order_by(outbox.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    # --- Usage -----------------------------------------------------------------------

    def upsert_usage(self, rows: list[tuple[str, date, int, int]]) -> int:
        """Insert or replace daily usage rows (account, date, dau, mau) in one transaction.

        A later row for the same account and day wins, in the batch as in the table.
        Returns the number of distinct (account, day) rows written.
        """
        # PostgreSQL refuses to update one row twice in a single statement; keep the last.
        latest = {(account, day): (dau, mau) for account, day, dau, mau in rows}
        values = [
            {"account_id": account, "date": day, "dau": dau, "mau": mau}
            for (account, day), (dau, mau) in latest.items()
        ]
        if not values:
            return 0
        stmt = self._insert(usage)
        stmt = stmt.on_conflict_do_update(
            index_elements=[usage.c.account_id, usage.c.date],
            set_={"dau": stmt.excluded.dau, "mau": stmt.excluded.mau},
        )
        with self.transaction() as conn:
            conn.execute(stmt, values)
        return len(values)

    # --- Red accounts ----------------------------------------------------------------

    def red_rows(self, account: str | None = None) -> list[Row]:
        query = sa.select(red_accounts).order_by(
            red_accounts.c.account_id, red_accounts.c.episode, red_accounts.c.id
        )
        if account is not None:
            query = query.where(red_accounts.c.account_id == account)
        with self.engine.connect() as conn:
            return _rows(conn.execute(query))

    def record_red_plan(
        self,
        key: str,
        current_state: str | None = None,
        needs: str | None = None,
        intended_actions: str | None = None,
    ) -> None:
        """Record what the AE and TA wrote for a red episode; only the fields given change."""
        values = {
            name: value
            for name, value in (
                ("current_state", current_state),
                ("needs", needs),
                ("intended_actions", intended_actions),
            )
            if value is not None
        }
        if not values:
            return
        with self.transaction() as conn:
            result = conn.execute(
                red_accounts.update().where(red_accounts.c.key == key).values(values)
            )
            if result.rowcount == 0:
                raise KeyError(f"no red-accounts row with key {key!r}")


# --- Helpers that need a connection ------------------------------------------------------


def _refuse_duplicate_ids(accounts_in: Iterable[Account]) -> None:
    # Two rows for one account in one file is an input error, not "last one wins".
    seen: set[str] = set()
    for account in accounts_in:
        if account.id in seen:
            raise ValueError(f"account {account.id!r} appears more than once")
        seen.add(account.id)


def _load_account_values(conn: Connection, ids: Sequence[str]) -> dict[str, Row]:
    columns = [accounts.c[name] for name in ("id", *ACCOUNT_FIELDS)]
    stored: dict[str, Row] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(sa.select(*columns).where(accounts.c.id.in_(chunk))):
            stored[row.id] = dict(row._mapping)
    return stored


def _load_contact_keys(conn: Connection, ids: Sequence[str]) -> dict[str, list[ContactKey]]:
    stored: dict[str, list[ContactKey]] = {}
    query = sa.select(contacts.c.account_id, contacts.c.name, contacts.c.email, contacts.c.role)
    for chunk in _chunks(ids):
        rows = conn.execute(query.where(contacts.c.account_id.in_(chunk)).order_by(contacts.c.id))
        for row in rows:
            stored.setdefault(row.account_id, []).append((row.name, row.email, row.role))
    return stored


def _apply_task_change(conn: Connection, change: TaskChange) -> None:
    values = change.model_dump(exclude={"key"}, exclude_none=True)
    if values:
        conn.execute(tasks.update().where(tasks.c.key == change.key).values(values))


def _apply_snapshot(conn: Connection, snapshot: AccountSnapshot, now: datetime) -> None:
    values = {name: _plain(getattr(snapshot, name)) for name in SNAPSHOT_FIELDS}
    # Only when something differs, so a replayed snapshot does not move updated_at.
    differs = sa.or_(*(accounts.c[name].is_distinct_from(v) for name, v in values.items()))
    conn.execute(
        accounts.update()
        .where(accounts.c.id == snapshot.id, differs)
        .values({**values, "updated_at": now})
    )


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
        Path(database).parent.mkdir(parents=True, exist_ok=True)


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
