"""The nightly health sweep on the time-skipping server, night after night.

An account in steady use loses a third of its monthly users over May: the score turns it
yellow (a leading warning), then red, and remediation starts. Usage recovers in June: the
account is promoted and remediation ends. A red set by hand in July hides the (green)
score for 14 days; when it expires, the score takes over again.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journey.domain import names
from journey.domain.engine import JourneyState
from journey.domain.models import Account
from journey.store import Store
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.journeys import status_of
from tests.helpers.stores import add_usage
from workflows.messages import HealthSweepInput, HealthSweepReport, RemediationOutcome

HISTORIES = Path(__file__).parent.parent / "histories"
START = date(2026, 4, 1)
SEATS = 300
HEALTHY_MAU = 270  # 90% of the seats
LOW_MAU = 180  # a third fewer


def make_account(account_id: str) -> Account:
    return Account.model_validate(
        {
            "id": account_id,
            "name": "Sweep Co",
            "segment": "large-enterprise",
            "tier": 2,
            "seats": SEATS,
            "arr": 250_000,
            "signed": date(2026, 1, 5),
            "renewal": date(2027, 1, 5),
            "ta": "ana",
            "ae": "sam",
            "production_ready": date(2026, 1, 20),
            "onboarding_complete": date(2026, 2, 20),
            "contacts": [{"name": "Cleo", "email": "cleo@sweep.example", "role": "champion"}],
        }
    )


def mau_on(day: date) -> int:
    """Healthy until April; falls by a third over May; back to healthy by June 20."""
    if day < date(2026, 5, 1):
        return HEALTHY_MAU
    if day <= date(2026, 5, 31):
        return round(HEALTHY_MAU - (HEALTHY_MAU - LOW_MAU) * (day.day - 1) / 30)
    if day <= date(2026, 6, 20):
        return round(LOW_MAU + (HEALTHY_MAU - LOW_MAU) * (day.day - 1) / 19)
    return HEALTHY_MAU


def usage_rows(account: str) -> list[tuple[str, date, int, int]]:
    day, rows = date(2026, 2, 1), []
    while day <= date(2026, 7, 31):
        mau = mau_on(day)
        rows.append((account, day, mau // 2, mau))
        day += timedelta(days=1)
    return rows


class Calendar:
    """The journey's business dates against the test server's clock.

    tests.helpers.journeys' `advance_to` reads the date from the `status` query, which is the date of
    the journey's last wake-up: a journey asleep for days reports a stale date and the
    helper overshoots. Here the offset is read once (it is fixed at enrollment).
    """

    def __init__(self, env: WorkflowEnvironment, offset_days: int) -> None:
        self.env = env
        self.offset = timedelta(days=offset_days)

    @classmethod
    async def of(cls, env: WorkflowEnvironment, handle: WorkflowHandle) -> Calendar:
        state = await handle.query("state", result_type=JourneyState)
        return cls(env, state.day_offset)

    async def today(self) -> date:
        return (await self.env.get_current_time() + self.offset).date()

    async def advance_to(self, day: date) -> None:
        """Skip to 01:00 of business day `day` (the journey's wake-up at midnight has run)."""
        target = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) - self.offset
        now = await self.env.get_current_time()
        assert (now + self.offset).date() <= day, f"{day} is in the past"
        if target > now:
            await self.env.sleep(target - now)


async def sweep(env: WorkflowEnvironment, task_queue: str, day: date) -> HealthSweepReport:
    # The sweep runs "at night": no server time may pass while it runs.
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            names.Workflow.HEALTH_SWEEP,
            HealthSweepInput(today=day),
            id=f"health-sweep-{task_queue}-{day}",
            task_queue=task_queue,
            result_type=HealthSweepReport,
        )


async def remediation_outcome(env: WorkflowEnvironment, workflow_id: str) -> RemediationOutcome:
    # Waiting on a result lets the test server skip ahead to the next timer: not here.
    with env.auto_time_skipping_disabled():
        return await env.client.get_workflow_handle(workflow_id, result_type=RemediationOutcome).result()


def health_rows(store: Store, account: str) -> list[tuple[date, str, str]]:
    return [(r.at, r.name, r.detail["source"]) for r in store.timeline(account) if r.kind == "health"]


@pytest.mark.asyncio(loop_scope="session")
async def test_usage_drop_turns_red_and_recovery_promotes(env, store, worker, task_queue) -> None:
    account = make_account("acct-sweep")
    add_usage(store, usage_rows(account.id))
    assert await enroll_one(env.client, account, today=START, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    try:
        await drop_and_recovery(env, store, task_queue, account, handle)
    finally:
        # A journey left running without its worker holds the shared test server's clock
        # (its timers' workflow tasks are never taken), and every later test would hang.
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


async def drop_and_recovery(
    env: WorkflowEnvironment, store: Store, task_queue: str, account: Account, handle: WorkflowHandle
) -> None:
    assert (await status_of(handle)).stage.value == "steady"
    calendar = await Calendar.of(env, handle)

    colors: dict[date, str] = {}
    red_on: date | None = None
    day = START
    while day <= date(2026, 6, 30):
        await calendar.advance_to(day)
        report = await sweep(env, task_queue, day)
        assert report.scored == 1 and report.failed == 0
        status = await status_of(handle)
        colors[day] = status.health.value
        if red_on is None and status.health.value == "red":
            red_on = day
            # Red by score: the Red Accounts Program starts at once.
            assert status.remediation == f"red-{account.id}-1"
            child = await env.client.get_workflow_handle(f"red-{account.id}-1").describe()
            assert child.status == WorkflowExecutionStatus.RUNNING
            assert report.red == [account.id]
            if os.environ.get("JOURNEY_RECORD_HISTORIES"):
                # A sweep that told a journey: the replay tests keep it (tests/workflows/test_replay.py).
                history = await env.client.get_workflow_handle(f"health-sweep-{task_queue}-{day}").fetch_history()
                (HISTORIES / "health-sweep-parallel.json").write_text(history.to_json())
        day += timedelta(days=1)

    # Healthy in April; a leading warning (yellow) before red in May; green again in June.
    assert set(colors[d] for d in colors if d < date(2026, 5, 1)) == {"green"}
    assert red_on is not None and date(2026, 5, 15) < red_on <= date(2026, 6, 5)
    first_yellow = min(d for d, c in colors.items() if c == "yellow")
    assert first_yellow < red_on
    assert colors[date(2026, 6, 30)] == "green"

    rows = health_rows(store, account.id)
    assert {source for _, _, source in rows} == {"score"}
    assert (red_on, "red", "score") in rows
    promoted_on, promoted_to, _ = next(r for r in rows if r[0] > red_on)
    assert promoted_to in ("yellow", "green")
    outcome = await remediation_outcome(env, f"red-{account.id}-1")
    assert outcome.closed_on == promoted_on
    status = await status_of(handle)
    assert status.remediation is None
    assert [r.closed_on for r in store.red_rows(account.id)] == [promoted_on]

    # The store mirrors the score and what the journey was told.
    (row,) = [r for r in store.list_accounts() if r.id == account.id]
    assert row.health == "green" and row.score_color == "green"
    assert row.scored_on == date(2026, 6, 30) and row.health_score is not None and row.health_score >= 70

    # An unchanged account costs no update: the next night tells nobody.
    await calendar.advance_to(date(2026, 7, 1))
    assert (await sweep(env, task_queue, date(2026, 7, 1))).changed == 0

    # A red set by hand wins over the green score until it expires (14 days by default).
    manual_on = date(2026, 7, 1)
    assert await calendar.today() == manual_on
    status = await send_event(env.client, account.id, "set_health", {"color": "red", "reason": "champion left"})
    assert status.today == manual_on
    assert status.health.value == "red" and status.remediation == f"red-{account.id}-2"
    day = manual_on + timedelta(days=1)
    while day <= manual_on + timedelta(days=14):
        await calendar.advance_to(day)
        await sweep(env, task_queue, day)
        status = await status_of(handle)
        expected = "red" if day < manual_on + timedelta(days=14) else "green"
        assert status.health.value == expected, day
        day += timedelta(days=1)
    assert status.remediation is None
    assert health_rows(store, account.id)[-2:] == [
        (manual_on, "red", "manual"),
        (manual_on + timedelta(days=14), "green", "score"),
    ]
    second = await remediation_outcome(env, f"red-{account.id}-2")
    assert second.closed_on == manual_on + timedelta(days=14)


def test_the_nightly_schedule() -> None:
    from temporalio.client import ScheduleActionStartWorkflow

    from journey.temporal.schedules import SWEEPS, build_schedule

    sweep = SWEEPS["health"]
    schedule = build_schedule(sweep)
    assert sweep.schedule_id == "journey-health-sweep"
    (calendar,) = schedule.spec.calendars
    assert [r.start for r in calendar.hour] == [2] and [r.start for r in calendar.minute] == [0]
    assert schedule.spec.time_zone_name == "UTC"
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == names.Workflow.HEALTH_SWEEP and action.task_queue == names.TASK_QUEUE
    assert action.args == [HealthSweepInput()]  # the run's own date
