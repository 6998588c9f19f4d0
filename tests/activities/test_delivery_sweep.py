"""The delivery sweep sends the outbox rows whose send window has opened (broadcasts that
waited, touches approved in review, emails a weekly cap put off), leaves the rest
waiting, and gives up on a row only when its attempts reach the limit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from activities.messages import DeliverySweepInput
from journey.delivery.outbox import OutboxSender
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from tests.helpers.accounts import make_account
from tests.helpers.journeys import quiet_settings

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def row(key: str, send_after: datetime | None) -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split(":")[1] if ":" in key else "tips", channel="email",
        recipient="chris@customer.example", subject="Product update", body="Hello", due=date(2026, 6, 1),
        send_after=send_after, timezone="UTC",
    )


def test_the_sweep_sends_what_is_due_and_leaves_the_rest(store: Store, tmp_path: Path) -> None:
    store.upsert_accounts([make_account("acme")])
    opened, ahead = "broadcast:update-1:acme:chris@customer.example", "broadcast:update-1:acme:later@customer.example"
    journeys_own = "acme/tips/2026-06-01"  # no send_after: its journey sends it, not the sweep
    store.apply_effects(Effects(account="acme", deliveries=[
        row(opened, NOW - timedelta(hours=1)), row(ahead, NOW + timedelta(days=2)), row(journeys_own, None),
    ]))
    outbox = tmp_path / "outbox"
    sender = OutboxSender(store, dataclasses.replace(quiet_settings(), outbox_dir=outbox))

    report = ActivityEnvironment().run(DeliveryActivities(sender).send_due_deliveries, DeliverySweepInput(at=NOW))

    assert report.sent == 1
    by_key = {r.key: r.status for r in store.deliveries()}
    assert by_key == {opened: "sent", ahead: "pending", journeys_own: "pending"}
    assert len(list(outbox.iterdir())) == 1
    again = ActivityEnvironment().run(DeliveryActivities(sender).send_due_deliveries, DeliverySweepInput(at=NOW))
    assert again.sent == 0  # sent once


def test_a_failing_row_is_tried_by_each_sweep_until_its_attempts_run_out(store: Store) -> None:
    store.upsert_accounts([make_account("acme")])
    key = "broadcast:update-1:acme:chris@customer.example"
    store.apply_effects(Effects(account="acme", deliveries=[row(key, NOW - timedelta(minutes=5))]))
    # SMTP configured at a port where nothing listens: refused, for now.
    settings = dataclasses.replace(quiet_settings(), smtp_host="127.0.0.1", smtp_port=9, delivery_attempts=2)
    activities = DeliveryActivities(OutboxSender(store, settings))

    first = ActivityEnvironment().run(activities.send_due_deliveries, DeliverySweepInput(at=NOW))
    (after_first,) = store.deliveries(keys=[key])
    assert (first.failed, after_first.status, after_first.attempts) == (0, "pending", 1)
    second = ActivityEnvironment().run(activities.send_due_deliveries, DeliverySweepInput(at=NOW))
    (after_second,) = store.deliveries(keys=[key])
    assert (second.failed, after_second.status) == (1, "failed")
    assert str(after_second.last_error).startswith("gave up after 2 attempts")
