"""Outbox rows recorded `skipped` (a customer email with no one to go to), and putting a
row back for a resend without counting an attempt: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command

from journey.delivery.outbox import OutboxSender
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from journey.store.migrations import alembic_config
from journey.store.schema import SCHEMA_REVISION
from tests.helpers.journeys import quiet_settings

SKIPPED = "acme/license-key/2026-03-02"
QUEUED = "acme/nurture-email/2026-03-03"
REASON = "no customer contact with an email address (add one to the account)"


@pytest.fixture
def store(any_store: Store) -> Store:
    any_store.apply_effects(Effects(account="acme", deliveries=[
        Delivery(key=SKIPPED, account="acme", touchpoint="license-key", channel="email", recipient="", subject="s",
                 body="b", due=date(2026, 3, 2), skipped=REASON),
        Delivery(key=QUEUED, account="acme", touchpoint="nurture-email", channel="email", recipient="c@customer.example",
                 subject="s", body="b", due=date(2026, 3, 3)),
    ]))
    return any_store


def test_a_skipped_delivery_is_recorded_with_its_reason_and_never_sent(store: Store) -> None:
    row = store.deliveries(keys=[SKIPPED])[0]
    assert (row.status, row.last_error, row.attempts) == ("skipped", REASON, 0)
    assert [r.key for r in store.pending_deliveries()] == [QUEUED]
    assert store.claim_delivery(SKIPPED) is None
    report = OutboxSender(store, quiet_settings()).deliver([SKIPPED])
    assert (report.skipped, report.failed) == (1, 0)
    assert store.deliveries(keys=[SKIPPED])[0].status == "skipped"
    assert [r.key for r in store.deliveries(statuses=["skipped"])] == [SKIPPED]


def test_requeue_puts_a_row_back_without_counting_an_attempt(store: Store) -> None:
    store.mark_delivery(QUEUED, "failed", "email is not configured")
    assert not store.requeue_delivery(SKIPPED, ("failed", "unknown"), "resend requested")
    assert store.requeue_delivery(QUEUED, ("failed", "unknown"), "resend requested")
    row = store.deliveries(keys=[QUEUED])[0]
    assert (row.status, row.attempts, row.last_error, row.claim) == ("pending", 1, "resend requested", None)


def test_migration_0007_goes_down_and_up_again(store: Store) -> None:
    with store.transaction() as conn:
        command.downgrade(alembic_config(conn), "0006")
    # The older rules have no row that is never to be sent: it failed, with its reason.
    with store.engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM outbox WHERE key = :key"), {"key": SKIPPED}).scalar_one()
    assert status == "failed"
    store.migrate()
    assert store.revision() == SCHEMA_REVISION
    store.mark_delivery(SKIPPED, "skipped", REASON)
    assert store.deliveries(keys=[SKIPPED])[0].status == "skipped"
