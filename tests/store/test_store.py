"""The store against both databases it supports: SQLite (a file) and PostgreSQL.

Each PostgreSQL test runs in its own schema, so tests never see each other's rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from journey.domain.effects import (
    AccountSnapshot,
    Delivery,
    Effects,
    RedTrackerRow,
    TaskChange,
    TaskOpen,
    TimelineEntry,
)
from journey.domain.enums import ContactRole, EngagementModel, Health, Segment, Stage
from journey.domain.models import Account, Contact
from journey.store import Store
from journey.store.database import SQLITE_BUSY_TIMEOUT_MS
from journey.store.migrations import alembic_config
from journey.store.outbox import UnknownDelivery
from journey.store.records import TaskRecord
from journey.store.schema import ACCOUNT_FIELDS, SCHEMA_REVISION, contacts, metadata
from tests.helpers.accounts import make_account
from tests.helpers.stores import add_usage

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = (
    "accounts", "contacts", "timeline", "tasks", "outbox", "usage", "nps_responses", "red_accounts", "health_scores",
    "plan_items", "feedback", "renewal_assessments", "task_covers",
)


# --- Fixtures ----------------------------------------------------------------------------


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


# --- Builders ----------------------------------------------------------------------------


def make_effects(account: str = "acme") -> Effects:
    """One of every kind of write, as a journey step produces them."""
    return Effects(
        account=account,
        timeline=[
            TimelineEntry(
                key=f"{account}/stage/kickoff",
                account=account,
                at=date(2025, 1, 16),
                kind="stage",
                name="kickoff",
                detail={"from": "signed", "on": date(2025, 1, 16)},
            ),
            TimelineEntry(
                key=f"{account}/touchpoint/license-key",
                account=account,
                at=date(2025, 1, 15),
                kind="touchpoint",
                name="license-key",
            ),
        ],
        open_tasks=[
            TaskOpen(
                key=f"{account}/kickoff-call/1",
                account=account,
                touchpoint="kickoff-call",
                title="Hold the kickoff call",
                owner_role="ta",
                owner="tara",
                due=date(2025, 1, 22),
                playbook_version="v1",
            ),
            TaskOpen(
                key=f"{account}/onboarding-plan/1",
                account=account,
                touchpoint="onboarding-plan",
                title="Agree the onboarding plan",
                owner_role="ta",
                owner="tara",
                due=date(2025, 2, 1),
            ),
        ],
        deliveries=[
            Delivery(
                key=f"{account}/nurture-email/1",
                account=account,
                touchpoint="nurture-email",
                channel="email",
                recipient="chris@example.com",
                subject="Welcome",
                body="Hello",
                due=date(2025, 1, 17),
            )
        ],
        red_rows=[
            RedTrackerRow(
                key=f"{account}/red/1",
                account=account,
                episode=1,
                opened_on=date(2025, 3, 1),
                reason="champion left",
            )
        ],
        snapshot=AccountSnapshot(
            id=account,
            stage=Stage.kickoff,
            health=Health.green,
            segment=Segment.strategic,
            tier=1,
            model=EngagementModel.enterprise,
            seats=500,
            arr=250_000.0,
            renewal=date(2026, 1, 15),
            term=1,
        ),
    )


def dump(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in a stable order."""
    with store.engine.connect() as conn:
        return {
            name: [
                dict(row._mapping)
                for row in conn.execute(
                    sa.select(metadata.tables[name]).order_by(
                        *metadata.tables[name].primary_key.columns
                    )
                )
            ]
            for name in TABLES
        }


def count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(metadata.tables[table])
        ).scalar_one()


def outbox_row(store: Store, key: str) -> dict[str, Any]:
    (row,) = [row for row in dump(store)["outbox"] if row["key"] == key]
    return row


def stored_account(store: Store, account_id: str) -> Account | None:
    """The account as stored: its row and its contacts (in the order written), as a model."""
    record = store.find_account(account_id)
    if record is None:
        return None
    with store.engine.connect() as conn:
        contact_rows = conn.execute(
            sa.select(contacts.c.name, contacts.c.email, contacts.c.role)
            .where(contacts.c.account_id == account_id)
            .order_by(contacts.c.id)
        )
        values: dict[str, Any] = {name: getattr(record, name) for name in ("id", *ACCOUNT_FIELDS)}
        values["contacts"] = [dict(c._mapping) for c in contact_rows]
    return Account.model_validate(values)


def open_task(store: Store, account: str, touchpoint: str) -> TaskRecord | None:
    """The open task for this touchpoint that is due first, if any."""
    return next((t for t in store.tasks(account=account, status="open") if t.touchpoint == touchpoint), None)


# --- Schema and setup --------------------------------------------------------------------


def test_migrate_twice_is_a_no_op(store: Store) -> None:
    store.upsert_accounts([make_account()])
    store.migrate()
    store.migrate()
    assert store.account_ids() == {"acme"}
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    # At the newest revision (not a literal: every new migration would break this test).
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert versions == [head]
    # The revision a store compares with to skip migrating (and importing Alembic) is that head.
    assert store.revision() == SCHEMA_REVISION == head


def test_a_store_behind_the_schema_is_migrated_when_opened(store: Store) -> None:
    with store.transaction() as conn:
        command.downgrade(alembic_config(conn), "0004")
    assert store.revision() == "0004"
    reopened = Store.open(store.url.render_as_string(hide_password=False), connect_args=_connect_args(store))
    try:
        assert reopened.revision() == SCHEMA_REVISION
    finally:
        reopened.close()


def _connect_args(store: Store) -> dict[str, str]:
    """What reaches this test's database again (its own schema on PostgreSQL)."""
    if store.dialect != "postgresql":
        return {}
    with store.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    return {"options": f"-csearch_path={schema}"}


def test_workers_starting_together_migrate_once(store: Store) -> None:
    """Several worker processes start on an empty database at once; one creates the schema."""
    with store.transaction() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not sa.inspect(store.engine).has_table("accounts")

    connect_args = _connect_args(store)
    script = (
        "import json, sys; from journey.store import Store; "
        "Store(sys.argv[1], connect_args=json.loads(sys.argv[2])).migrate()"
    )
    url = store.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, json.dumps(connect_args)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    failures = [w.stderr.read() for w in workers if w.wait(timeout=120) != 0]  # type: ignore[union-attr]

    assert failures == []
    assert set(TABLES) <= set(sa.inspect(store.engine).get_table_names())


def test_migrations_match_the_table_definitions(store: Store) -> None:
    # The migration is written out by hand; this catches it drifting from journey.store.
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_postgres_keeps_everything_in_the_test_schema(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    with store.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        placed = conn.execute(
            sa.text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema = :schema OR table_name = 'alembic_version'"
            ),
            {"schema": schema},
        ).all()
    assert schema.startswith("t_")
    assert {name for table_schema, name in placed if table_schema == schema} == {
        *TABLES,
        "alembic_version",
    }
    version_schemas = {table_schema for table_schema, name in placed if name == "alembic_version"}
    assert schema in version_schemas


def test_sqlite_creates_the_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "journey.db"
    with Store.open(f"sqlite:///{path}") as sqlite_store, sqlite_store.engine.connect() as conn:
        assert path.exists()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_default_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("JOURNEY_HOME", str(tmp_path / "home"))
    with Store.open() as default_store:
        default_store.upsert_accounts([make_account()])
    assert (tmp_path / "home" / "journey.db").exists()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        Store("mysql://localhost/journey")


# --- Accounts ----------------------------------------------------------------------------


def test_identical_reimport_changes_nothing(store: Store) -> None:
    accounts = [make_account("acme"), make_account("globex", segment="commercial", tier=3)]
    assert store.upsert_accounts(accounts) == (2, 0)
    before = dump(store)

    assert store.upsert_accounts(accounts) == (0, 0)

    assert dump(store) == before


def test_changed_account_is_updated_and_its_contacts_replaced(store: Store) -> None:
    store.upsert_accounts([make_account("acme"), make_account("globex")])
    first = {row.id: row for row in store.list_accounts()}

    changed = make_account(
        "acme",
        seats=800,
        contacts=[Contact(name="Nia New", email="nia@example.com", role=ContactRole.admin)],
    )
    assert store.upsert_accounts([changed, make_account("globex"), make_account("initech")]) == (
        1,
        1,
    )

    account = stored_account(store, "acme")
    assert account is not None
    assert account.seats == 800
    assert [c.name for c in account.contacts] == ["Nia New"]
    assert count(store, "contacts") == 2 + 2 + 1  # globex, initech, acme
    after = {row.id: row for row in store.list_accounts()}
    assert after["acme"].updated_at > first["acme"].updated_at
    assert after["acme"].enrolled_at == first["acme"].enrolled_at
    assert after["globex"] == first["globex"]
    assert store.account_ids() == {"acme", "globex", "initech"}


def test_contact_change_alone_counts_as_an_update(store: Store) -> None:
    store.upsert_accounts([make_account()])
    assert store.upsert_accounts([make_account(contacts=[])]) == (0, 1)
    account = stored_account(store, "acme")
    assert account is not None and account.contacts == []


def test_get_account_round_trips_the_model(store: Store) -> None:
    original = make_account(
        deployment="self-hosted", production_ready=date(2025, 2, 1), model="scaled"
    )
    store.upsert_accounts([original])
    assert stored_account(store, "acme") == original
    assert stored_account(store, "nobody") is None


def test_duplicate_ids_are_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="acme"):
        store.upsert_accounts([make_account("acme"), make_account("globex"), make_account("acme")])
    assert store.account_ids() == set()


def test_bulk_import_of_thousands(store: Store) -> None:
    accounts = [make_account(f"a{i:05d}") for i in range(2_000)]
    assert store.upsert_accounts(accounts) == (2_000, 0)
    accounts[1_234] = make_account("a01234", arr=1.0)
    assert store.upsert_accounts(accounts) == (0, 1)
    assert count(store, "accounts") == 2_000
    assert count(store, "contacts") == 4_000


def test_list_accounts_filters_on_mirrored_columns(store: Store) -> None:
    store.upsert_accounts(
        [make_account("acme"), make_account("globex", ta="tom", segment="commercial")]
    )
    fresh = store.list_accounts()
    assert [(r.id, r.stage, r.health, r.term) for r in fresh] == [
        ("acme", "signed", "green", 1),
        ("globex", "signed", "green", 1),
    ]
    store.apply_effects(make_effects("acme"))

    assert [r.id for r in store.list_accounts(stage="kickoff")] == ["acme"]
    assert [r.id for r in store.list_accounts(stage="signed")] == ["globex"]
    assert [r.id for r in store.list_accounts(ta="tom")] == ["globex"]
    assert [r.id for r in store.list_accounts(segment="commercial", health="green")] == [
        "globex"
    ]
    assert store.list_accounts(health="red") == []


# --- Effects -----------------------------------------------------------------------------


def test_apply_effects_twice_writes_every_row_once(store: Store) -> None:
    store.upsert_accounts([make_account()])
    effects = make_effects()

    store.apply_effects(effects)
    once = dump(store)
    store.apply_effects(effects)

    assert dump(store) == once
    counts = {table: len(rows) for table, rows in once.items()}
    assert counts == {
        "accounts": 1,
        "contacts": 2,
        "timeline": 2,
        "tasks": 2,
        "outbox": 1,
        "usage": 0,
        "nps_responses": 0,
        "red_accounts": 1,
        "health_scores": 0,
        "plan_items": 0,
        "feedback": 0,
        "renewal_assessments": 0,
        "task_covers": 0,
    }


def test_apply_effects_writes_what_it_was_given(store: Store) -> None:
    store.upsert_accounts([make_account()])
    store.apply_effects(make_effects())

    entries = store.timeline("acme")
    assert [(e.at, e.name) for e in entries] == [
        (date(2025, 1, 15), "license-key"),
        (date(2025, 1, 16), "kickoff"),
    ]
    assert entries[1].detail == {"from": "signed", "on": "2025-01-16"}
    assert entries[1].recorded_at.tzinfo is not None
    assert store.timeline("globex") == []

    (delivery,) = store.pending_deliveries()
    assert (delivery.key, delivery.status, delivery.attempts) == (
        "acme/nurture-email/1",
        "pending",
        0,
    )
    account = store.list_accounts()[0]
    assert (account.stage, account.term) == ("kickoff", 1)


def test_replayed_snapshot_does_not_move_updated_at(store: Store) -> None:
    store.upsert_accounts([make_account()])
    effects = Effects(account="acme", snapshot=make_effects().snapshot)
    store.apply_effects(effects)
    stamped = store.list_accounts()[0].updated_at
    store.apply_effects(effects)
    assert store.list_accounts()[0].updated_at == stamped

    moved = effects.model_copy(
        update={
            "snapshot": effects.snapshot.model_copy(  # type: ignore[union-attr]
                update={"health": "red", "health_reason": "champion left"}
            )
        }
    )
    store.apply_effects(moved)
    row = store.list_accounts()[0]
    assert (row.health, row.health_reason) == ("red", "champion left")
    assert row.updated_at > stamped


def test_task_changes_set_only_the_fields_given(store: Store) -> None:
    store.apply_effects(make_effects())
    key = "acme/kickoff-call/1"

    store.apply_effects(
        Effects(
            account="acme",
            task_changes=[TaskChange(key=key, reminded_on=date(2025, 1, 23), notes="nudged")],
        )
    )
    store.apply_effects(
        Effects(
            account="acme",
            task_changes=[
                TaskChange(key=key, escalated_on=date(2025, 1, 25), escalated_to="ta-manager")
            ],
        )
    )
    task = open_task(store, "acme", "kickoff-call")
    assert task is not None
    assert (task.reminded_on, task.notes) == (date(2025, 1, 23), "nudged")
    assert (task.escalated_on, task.escalated_to) == (date(2025, 1, 25), "ta-manager")

    store.apply_effects(
        Effects(
            account="acme",
            task_changes=[TaskChange(key=key, status="done", done_on=date(2025, 1, 26))],
        )
    )
    assert open_task(store, "acme", "kickoff-call") is None
    (done,) = store.tasks(status="done")
    assert (done.key, done.done_on, done.notes) == (key, date(2025, 1, 26), "nudged")

    # A replayed "open" must not reopen the finished task.
    store.apply_effects(make_effects())
    assert open_task(store, "acme", "kickoff-call") is None


def test_task_opened_and_changed_in_one_batch(store: Store) -> None:
    effects = make_effects()
    effects.task_changes.append(TaskChange(key="acme/onboarding-plan/1", status="skipped"))
    store.apply_effects(effects)
    assert [t.touchpoint for t in store.tasks(status="skipped")] == ["onboarding-plan"]


def test_task_queries(store: Store) -> None:
    store.apply_effects(make_effects("acme"))
    store.apply_effects(
        Effects(
            account="globex",
            open_tasks=[
                TaskOpen(
                    key="globex/check-in/1",
                    account="globex",
                    touchpoint="check-in",
                    title="Check in",
                    owner_role="ta",
                    owner="tom",
                    due=date(2025, 1, 10),
                ),
                TaskOpen(
                    key="globex/check-in/2",
                    account="globex",
                    touchpoint="check-in",
                    title="Check in",
                    owner_role="ta",
                    owner="tom",
                    due=date(2025, 1, 5),
                ),
            ],
        )
    )

    assert [t.key for t in store.tasks()] == [
        "globex/check-in/2",
        "globex/check-in/1",
        "acme/kickoff-call/1",
        "acme/onboarding-plan/1",
    ]
    assert [t.key for t in store.tasks(owner="tara")] == [
        "acme/kickoff-call/1",
        "acme/onboarding-plan/1",
    ]
    assert [t.key for t in store.tasks(account="globex", owner="tara")] == []
    # Due strictly before the day given; a task due that day is not overdue yet.
    assert [t.key for t in store.tasks(overdue_on=date(2025, 1, 22))] == [
        "globex/check-in/2",
        "globex/check-in/1",
    ]
    assert store.tasks(status="done") == []
    assert len(store.tasks(status=None)) == 4

    earliest = open_task(store, "globex", "check-in")
    assert earliest is not None and earliest.key == "globex/check-in/2"
    assert open_task(store, "globex", "qbr") is None


# --- Outbox ------------------------------------------------------------------------------


def test_outbox_claim_and_mark(store: Store) -> None:
    effects = make_effects()
    effects.deliveries.append(
        effects.deliveries[0].model_copy(
            update={"key": "acme/red-alert/1", "channel": "slack", "due": date(2025, 1, 16)}
        )
    )
    store.apply_effects(effects)
    assert [d.key for d in store.pending_deliveries()] == [
        "acme/red-alert/1",
        "acme/nurture-email/1",
    ]
    assert [d.key for d in store.pending_deliveries(keys=["acme/nurture-email/1"])] == [
        "acme/nurture-email/1"
    ]
    assert store.pending_deliveries(keys=[]) == []

    claimed = store.claim_delivery("acme/nurture-email/1")
    assert claimed is not None and claimed.recipient == "chris@example.com"

    store.mark_delivery("acme/nurture-email/1", "failed", error="SMTP 451")
    assert store.claim_delivery("acme/nurture-email/1") is None
    failed = outbox_row(store, "acme/nurture-email/1")
    assert (failed["status"], failed["attempts"], failed["last_error"], failed["sent_at"]) == (
        "failed",
        1,
        "SMTP 451",
        None,
    )

    store.mark_delivery("acme/nurture-email/1", "pending")  # queued again by hand
    assert store.claim_delivery("acme/nurture-email/1") is not None
    before = datetime.now(UTC)
    store.mark_delivery("acme/nurture-email/1", "sent")

    assert store.claim_delivery("acme/nurture-email/1") is None
    assert [d.key for d in store.pending_deliveries()] == ["acme/red-alert/1"]
    sent = outbox_row(store, "acme/nurture-email/1")
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 3, None)
    assert sent["sent_at"] >= before

    store.mark_delivery("acme/red-alert/1", "simulated")
    simulated = outbox_row(store, "acme/red-alert/1")
    assert (simulated["status"], simulated["attempts"]) == ("simulated", 1)
    assert simulated["sent_at"] >= before

    # A replayed batch does not put a sent delivery back in the queue.
    store.apply_effects(effects)
    assert store.pending_deliveries() == []


def test_mark_delivery_refuses_unknown_keys_and_statuses(store: Store) -> None:
    store.apply_effects(make_effects())
    with pytest.raises(ValueError, match="bounced"):
        store.mark_delivery("acme/nurture-email/1", "bounced")
    with pytest.raises(UnknownDelivery):
        store.mark_delivery("nope", "sent")


# --- Usage -------------------------------------------------------------------------------


def test_usage_upsert_updates_on_conflict(store: Store) -> None:
    day = date(2025, 3, 1)
    assert add_usage(store, [("acme", day, 10, 100), ("acme", date(2025, 3, 2), 12, 101)]) == 2
    assert add_usage(store, [("acme", day, 20, 150), ("globex", day, 1, 5)]) == 2
    # The same day twice in one batch: the later row wins.
    assert add_usage(store, [("globex", day, 2, 6), ("globex", day, 3, 7)]) == 1
    assert add_usage(store, []) == 0

    rows = {(r["account_id"], r["date"]): (r["dau"], r["mau"]) for r in dump(store)["usage"]}
    assert rows == {
        ("acme", day): (20, 150),
        ("acme", date(2025, 3, 2)): (12, 101),
        ("globex", day): (3, 7),
    }


# --- Red accounts ------------------------------------------------------------------------


def test_red_row_is_inserted_then_moved_on(store: Store) -> None:
    opened = make_effects().red_rows[0]
    store.apply_effects(Effects(account="acme", red_rows=[opened]))
    (row,) = store.red_rows("acme")
    assert (row.episode, row.reason, row.closed_on) == (1, "champion left", None)

    escalated = opened.model_copy(update={"escalated_on": date(2025, 3, 15)})
    store.apply_effects(Effects(account="acme", red_rows=[escalated]))
    # Closing does not repeat escalated_on; the earlier escalation must survive.
    closed = opened.model_copy(
        update={"closed_on": date(2025, 4, 1), "resolution": "new champion found"}
    )
    store.apply_effects(Effects(account="acme", red_rows=[closed]))

    (row,) = store.red_rows("acme")
    assert row.escalated_on == date(2025, 3, 15)
    assert (row.closed_on, row.resolution) == (date(2025, 4, 1), "new champion found")
    assert store.red_rows("globex") == []
    assert len(store.red_rows()) == 1


# --- Concurrency -------------------------------------------------------------------------


def test_concurrent_writers_from_threads(store: Store) -> None:
    """Worker threads write at once; on SQLite they queue on the lock instead of failing."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for round_ in range(5):
                # Every thread rewrites two shared accounts (read, then write: the case that
                # fails with "database is locked" unless SQLite writers take the lock up
                # front), listed in different orders (the case that deadlocks PostgreSQL).
                batch = [
                    make_account("shared-a", seats=100 + n),
                    make_account("shared-b", seats=100 + n),
                    make_account(f"acct-{n}"),
                ]
                store.upsert_accounts(batch if n % 2 else batch[::-1])
                # Half the threads replay the same batch: still written once.
                store.apply_effects(make_effects(f"acct-{n % 4}"))
                add_usage(store, [(f"acct-{n}", date(2025, 1, 1 + round_), n, n)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert count(store, "accounts") == 2 + 8
    assert count(store, "contacts") == 2 * (2 + 8)  # replaced, never duplicated
    assert count(store, "timeline") == 4 * 2
    assert count(store, "tasks") == 4 * 2
    assert count(store, "outbox") == 4
    assert count(store, "usage") == 8 * 5
