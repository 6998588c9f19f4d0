"""Nothing goes before its send window: a touch that falls due on a Japanese public holiday
stays in the outbox, unsent, until the next business morning in Tokyo, and goes then."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from journey.domain import names
from journey.domain.models import Account
from journey.store import Store
from journey.temporal.journeys import enroll_one
from playbooks import DEFAULT_DIR
from tests.helpers.journeys import advance_to, quiet_settings
from workflows.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

SATURDAY = date(2026, 7, 18)
MARINE_DAY = date(2026, 7, 20)  # Monday, a public holiday in Japan
TUESDAY_9_TOKYO = datetime(2026, 7, 21, 0, 0, tzinfo=UTC)


async def test_a_touch_waits_in_the_outbox_for_its_send_window(env, store: Store, task_queue: str, tmp_path: Path) -> None:
    playbooks = DEFAULT_DIR
    outbox = tmp_path / "outbox"
    settings = dataclasses.replace(quiet_settings(), outbox_dir=outbox)
    account = Account.model_validate(
        {
            "id": "kaisha", "name": "Kaisha KK", "segment": "commercial", "tier": 3, "seats": 50, "arr": 20_000,
            "signed": SATURDAY, "renewal": date(2027, 7, 18), "ta": "ana", "ae": "sam",
            "timezone": "Asia/Tokyo", "country": "JP",
            "contacts": [{"name": "Kenji", "email": "kenji@kaisha.example", "role": "champion"}],
        }
    )
    async with build_worker(env.client, store, task_queue=task_queue, settings=settings, playbook_dir=playbooks):
        assert await enroll_one(env.client, account, today=SATURDAY, task_queue=task_queue)
        handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
        # The journey wakes on the holiday (09:00 in Tokyo) and queues the license key.
        await advance_to(env, handle, MARINE_DAY)
        (row,) = [r for r in store.deliveries(account="kaisha") if r.touchpoint == "license-key"]
        assert (row.status, row.send_after, row.timezone) == ("pending", TUESDAY_9_TOKYO, "Asia/Tokyo")
        assert not outbox.exists() or not list(outbox.iterdir())
        # Not even a resend sends it early.
        from journey.delivery.outbox import OutboxSender

        report = OutboxSender(store, settings).deliver([row.key], at=TUESDAY_9_TOKYO - timedelta(minutes=1))
        assert (report.sent, report.waiting) == (0, 1)

        await advance_to(env, handle, MARINE_DAY + timedelta(days=1))
        (row,) = store.deliveries(keys=[row.key])
        assert row.status == "sent" and row.sent_at is not None
        assert [path.suffix for path in outbox.iterdir() if "license-key" in path.name]
        await handle.terminate("test over")
