"""Automated touches and task reminders delivered for real, to local Slack and SMTP servers.

Journeys run on the time-skipping server with a worker whose DeliverySettings point at
servers started by the test (tests/helpers/local_servers.py); every touch the outbox holds must
arrive exactly once, to the right recipient, with the right subject.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.messages import MetricsUpdate, ReminderReport, ReminderSweepInput
from journey.config import DeliverySettings
from journey.delivery.smtp import message_id
from journey.domain.models import Account
from journey.store import Store
from journey.store.schema import outbox
from journey.temporal.devserver import free_port
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.journeys import advance_to, quiet_settings, status_of
from tests.helpers.local_servers import SlackRecorder, SmtpRecorder
from tests.workflows.test_lifecycle import SIGNED, event
from workflows.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAMPION = "cleo@customer.example"


@pytest.fixture
def slack() -> Iterator[SlackRecorder]:
    with SlackRecorder() as recorder:
        yield recorder


@pytest.fixture
def smtp() -> Iterator[SmtpRecorder]:
    with SmtpRecorder(free_port()) as recorder:
        yield recorder


def settings_for(slack: SlackRecorder, smtp: SmtpRecorder) -> DeliverySettings:
    return replace(
        quiet_settings(), slack_webhook_url=slack.url, smtp_host="127.0.0.1", smtp_port=smtp.port, email_domain="example.com"
    )


@pytest_asyncio.fixture(loop_scope="session")
async def delivering_worker(env: WorkflowEnvironment, store: Store, task_queue: str, slack: SlackRecorder, smtp: SmtpRecorder):  # type: ignore[no-untyped-def]
    async with build_worker(env.client, store, task_queue=task_queue, settings=settings_for(slack, smtp)) as running:
        yield running


async def finish(env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
    """End a journey cleanly (offboard, then its result). A journey left sleeping, or one
    terminated while a workflow task is in flight, can hold the shared time-skipping
    server's clock and make later tests' sleeps time out."""
    await send_event(env.client, handle.id.removeprefix("journey-"), "offboard", {"reason": "test done"})
    await handle.result()


def outbox_rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(outbox.select().order_by(outbox.c.id))]


def digital_account(account_id: str = "acct-digital-mail") -> Account:
    return Account.model_validate(
        {
            "id": account_id, "name": "Digital Mail Co", "segment": "commercial", "tier": 3, "seats": 100,
            "arr": 20_000, "signed": SIGNED, "renewal": SIGNED + timedelta(days=365), "ta": "ana", "ae": "sam",
            "contacts": [
                {"name": "Bo Buyer", "role": "economic-buyer", "email": "bo@customer.example"},
                {"name": "Cleo Champion", "role": "champion", "email": CHAMPION},
            ],
        }
    )


async def test_digital_journey_and_red_episode_deliver_each_touch_once(
    env: WorkflowEnvironment, store: Store, task_queue: str, delivering_worker, slack: SlackRecorder, smtp: SmtpRecorder  # type: ignore[no-untyped-def]
) -> None:
    account = digital_account()
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(f"journey-{account.id}")
    await advance_to(env, handle, SIGNED + timedelta(days=8))
    await event(env, account.id, "kickoff_held")
    await advance_to(env, handle, SIGNED + timedelta(days=21))
    await event(env, account.id, "production_ready")
    await advance_to(env, handle, SIGNED + timedelta(days=40))
    # The health sweep reports 60% utilization: the 25% and 50% milestone emails go out.
    await handle.execute_update("metrics", MetricsUpdate(utilization=0.6))
    red_on = SIGNED + timedelta(days=120)
    await advance_to(env, handle, red_on)
    await event(env, account.id, "set_health", color="red", reason="champion left")
    await advance_to(env, handle, red_on + timedelta(days=35))  # escalated after 30 days red
    await event(env, account.id, "set_health", color="green", reason="new champion")
    await advance_to(env, handle, SIGNED + timedelta(days=200))
    await finish(env, handle)

    rows = outbox_rows(store)
    assert {r["status"] for r in rows} == {"sent"}, [(r["key"], r["status"], r["last_error"]) for r in rows]
    assert all(r["attempts"] == 1 for r in rows)
    by_touchpoint: dict[str, list[str]] = {}
    for row in rows:
        by_touchpoint.setdefault(str(row["touchpoint"]), []).append(str(row["key"]))
    # What the digital playbook says for these 200 days: the license key at signature, eight
    # weekly tips, the Q1 and Q2 announcements (fiscal quarters start Feb 1 and May 1, +14 days),
    # two usage milestones (on the next business day); the red alert, and the escalation emails after 30 days red.
    assert by_touchpoint["license-key"] == [f"{account.id}/license-key/2026-01-05"]
    assert by_touchpoint["nurture-email"] == [
        f"{account.id}/nurture-email/{(SIGNED + timedelta(days=1 + 7 * k)).isoformat()}" for k in range(8)
    ]
    assert by_touchpoint["announcement"] == [f"{account.id}/announcement/2026-02-15", f"{account.id}/announcement/2026-05-15"]
    # Reported on Saturday 2026-02-14: the milestone emails go out on Monday.
    assert (SIGNED + timedelta(days=40)).weekday() == 5
    assert sorted(by_touchpoint["enablement"]) == sorted(
        f"{account.id}/enablement/{(SIGNED + timedelta(days=42)).isoformat()}@{m}" for m in ("0.25", "0.5")
    )
    assert by_touchpoint["red-alert"] == [f"{account.id}/red-1/red-alert"]
    assert sorted(by_touchpoint["red-follow-up"]) == [f"{account.id}/red-1/escalation/sam", f"{account.id}/red-1/escalation/ta-manager"]

    # Every email arrived exactly once, addressed and titled as queued.
    emails = {r["key"]: r for r in rows if r["channel"] == "email"}
    assert smtp.message_ids() == {message_id(key): 1 for key in emails}
    received = smtp.by_key()
    for key, row in emails.items():
        got = received[message_id(key)]
        recipient = str(row["recipient"])
        assert got.recipient == (recipient if "@" in recipient else f"{recipient}@example.com")
        assert got.subject == row["subject"]
    customer = [k for k, r in emails.items() if r["touchpoint"] in ("license-key", "nurture-email", "announcement", "enablement")]
    assert {received[message_id(k)].recipient for k in customer} == {CHAMPION}
    assert received[message_id(f"{account.id}/license-key/2026-01-05")].subject == "Full license key: Digital Mail Co"
    assert {received[message_id(k)].recipient for k in by_touchpoint["red-follow-up"]} == {"sam@example.com", "ta-manager@example.com"}

    # The red alert reached the red-accounts channel once, naming the account and the reason.
    assert slack.keys() == {f"{account.id}/red-1/red-alert": 1}
    alert = slack.by_key()[f"{account.id}/red-1/red-alert"]
    assert alert.recipient == "#red-accounts"
    assert "Digital Mail Co" in alert.raw["text"] and "champion left" in alert.raw["text"]


async def sweep(env: WorkflowEnvironment, task_queue: str, today: date) -> ReminderReport:
    return await env.client.execute_workflow(
        "TaskReminderSweep",
        ReminderSweepInput(today=today),
        id=f"sweep-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        result_type=ReminderReport,
    )


async def test_reminder_sweep_reminds_escalates_and_stops_at_done(
    env: WorkflowEnvironment, store: Store, task_queue: str, delivering_worker, smtp: SmtpRecorder  # type: ignore[no-untyped-def]
) -> None:
    account = Account.model_validate(
        {
            "id": "acct-late-tasks", "name": "Late Tasks Inc", "segment": "strategic", "tier": 1, "seats": 300,
            "arr": 300_000, "signed": SIGNED, "renewal": SIGNED + timedelta(days=365), "ta": "ana", "ae": "sam",
        }
    )
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(f"journey-{account.id}")
    await status_of(handle)
    tasks = {t.touchpoint: t for t in store.tasks(account=account.id)}
    license_due, kickoff_due = tasks["license-key"].due, tasks["kickoff-call"].due
    assert license_due == SIGNED and kickoff_due == date(2026, 1, 12)  # Saturday the 10th moves to Monday

    first = await sweep(env, task_queue, license_due + timedelta(days=3))
    assert (first.reminded, first.escalated, first.sent) == (1, 0, 1)
    # The TA generates the key: `journey done` closes the task; it is never reminded again.
    await advance_to(env, handle, SIGNED + timedelta(days=6))
    await event(env, account.id, "touchpoint_done", touchpoint="license-key")

    second = await sweep(env, task_queue, kickoff_due + timedelta(days=3))
    assert (second.reminded, second.escalated) == (1, 0)
    third = await sweep(env, task_queue, kickoff_due + timedelta(days=10))
    assert (third.reminded, third.escalated, third.sent) == (0, 1, 1)
    again = await sweep(env, task_queue, kickoff_due + timedelta(days=10))
    later = await sweep(env, task_queue, kickoff_due + timedelta(days=40))
    assert (again.reminded, again.escalated, again.sent) == (0, 0, 0)
    assert (later.reminded, later.escalated, later.sent) == (0, 0, 0)

    keys = {
        f"{account.id}/license-key/2026-01-05/reminder": ("ana@example.com", "Reminder: Generate the full license key"),
        f"{account.id}/kickoff-call/2026-01-10/reminder": ("ana@example.com", "Reminder: Post-sales kickoff call"),
        f"{account.id}/kickoff-call/2026-01-10/escalation": ("ta-manager@example.com", "Escalation: Post-sales kickoff call"),
    }
    assert smtp.message_ids() == {message_id(key): 1 for key in keys}
    received = smtp.by_key()
    for key, (recipient, subject) in keys.items():
        assert received[message_id(key)].recipient == recipient
        assert received[message_id(key)].subject.startswith(subject)

    await finish(env, handle)
    rows = {t.touchpoint: t for t in store.tasks(account=account.id, status=None)}
    assert rows["license-key"].status == "done" and rows["license-key"].escalated_on is None
    kickoff = rows["kickoff-call"]
    assert (kickoff.reminded_on, kickoff.escalated_on, kickoff.escalated_to) == (
        kickoff_due + timedelta(days=3),
        kickoff_due + timedelta(days=10),
        "ta-manager",
    )
    escalations = [r for r in store.timeline(account.id) if r.kind == "task" and r.detail.get("status") == "escalated"]
    assert [(r.name, r.key) for r in escalations] == [("kickoff-call", f"{account.id}/kickoff-call/2026-01-10/escalation")]
