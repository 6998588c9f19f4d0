"""The reminder sweep sends the broadcasts that waited for their send window once it has
opened, and leaves the ones whose window is still ahead waiting."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.messages import ReminderSweepInput
from activities.reminders import ReminderActivities
from journey.delivery.outbox import OutboxSender
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from tests.helpers.accounts import make_account
from tests.helpers.journeys import quiet_settings

TODAY = date(2026, 6, 1)


def broadcast(key: str, send_after: datetime) -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint="broadcast:update-1", channel="email", recipient="chris@customer.example",
        subject="Product update", body="Hello", due=TODAY, send_after=send_after, timezone="UTC",
    )


def test_waiting_broadcasts_go_with_the_sweep_once_their_window_opens(store: Store, tmp_path: Path) -> None:
    store.upsert_accounts([make_account("acme")])
    now = datetime.now(UTC)
    opened, ahead = "broadcast:update-1:acme:chris@customer.example", "broadcast:update-1:acme:later@customer.example"
    store.apply_effects(Effects(account="acme", deliveries=[broadcast(opened, now - timedelta(hours=1)), broadcast(ahead, now + timedelta(days=2))]))
    outbox = tmp_path / "outbox"
    sender = OutboxSender(store, dataclasses.replace(quiet_settings(), outbox_dir=outbox))

    report = ActivityEnvironment().run(ReminderActivities(store, sender).remind_tasks, ReminderSweepInput(today=TODAY))

    assert report.sent == 1
    by_key = {row.key: row.status for row in store.deliveries(keys=[opened, ahead])}
    assert by_key == {opened: "sent", ahead: "pending"}
    assert [p.name for p in outbox.iterdir()] and all("later" not in p.name for p in outbox.iterdir())
