"""Adoption verdicts for accounts enrolled mid-life, on the time-skipping server.

Accounts whose 60-day window closed a few days before enrollment are judged at once:
with usage on or before the deadline, met or missed; without, no verdict (`no-data`),
health untouched, and a task for the TA to get usage reported. Once usage for the deadline
is imported, the next health sweep's `metrics` update has the journey judge it.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from journey.domain import names
from journey.domain.machines import lowered
from journey.domain.models import Account, JourneyStatus
from journey.store import Store
from journey.temporal.journeys import enroll_one
from tests.helpers.journeys import status_of
from tests.helpers.stores import add_usage
from tests.workflows.test_health_sweep import sweep

pytestmark = pytest.mark.asyncio(loop_scope="session")

TODAY = date(2026, 6, 10)
DEADLINE = date(2026, 6, 7)  # production ready 60 days before: the window closed 3 days ago
SEATS = 200


def mid_life(account_id: str) -> Account:
    return Account.model_validate(
        {
            "id": account_id, "name": f"{account_id.title()} Co", "segment": "large-enterprise", "tier": 2,
            "seats": SEATS, "arr": 120_000, "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5),
            "ta": "ana", "ae": "sam", "production_ready": DEADLINE - timedelta(days=60),
            "contacts": [{"name": "Cleo", "email": "cleo@example.com", "role": "champion"}],
        }
    )


async def judged(handle: WorkflowHandle) -> JourneyStatus:
    """The status once the journey's first step has judged its deadline."""
    for _ in range(200):
        status = await status_of(handle)
        if status.adoption_result is not None:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never judged its adoption deadline")


def adoption_rows(store: Store, account: str) -> list[tuple[date, str, dict[str, object]]]:
    return [(r.at, r.name, r.detail) for r in store.timeline(account) if r.kind == "adoption"]


async def test_mid_life_accounts_with_and_without_usage(env, store, worker, task_queue) -> None:
    usage = {"adopted": 180, "low": 100}  # 90 % and 50 % of the seats, five days before the deadline
    add_usage(store, [(a, DEADLINE - timedelta(days=5), mau // 2, mau) for a, mau in usage.items()])
    handles = {}
    for account_id in ("adopted", "low", "silent-met", "silent-missed"):
        assert await enroll_one(env.client, mid_life(account_id), today=TODAY, task_queue=task_queue)
        handles[account_id] = env.client.get_workflow_handle(names.journey_workflow_id(account_id))
    try:
        await verdicts(env, store, task_queue, handles)
    finally:
        # A journey (or remediation) left running without its worker holds the shared test
        # server's clock for every later test.
        remediations = [env.client.get_workflow_handle(f"red-{a}-1") for a in handles]
        for handle in [*handles.values(), *remediations]:
            try:
                running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            except RPCError:
                continue  # never started
            if running:
                await handle.terminate("test over")


async def verdicts(env, store: Store, task_queue: str, handles: dict[str, WorkflowHandle]) -> None:
    adopted, low = await judged(handles["adopted"]), await judged(handles["low"])
    assert (adopted.adoption_result, adopted.health.value, adopted.stage.value) == ("met", "green", "steady")
    assert (low.adoption_result, low.health.value) == ("missed", "yellow")
    assert low.health_reason == f"adoption target missed: utilization 50% < 80% at {DEADLINE}"
    assert [r[1] for r in adoption_rows(store, "low")] == ["missed"]

    for account_id in ("silent-met", "silent-missed"):
        status = await judged(handles[account_id])
        assert (status.adoption_result, status.health.value, status.stage.value) == ("no-data", "green", "steady")
        assert status.health_reason is None
        assert "report-usage" in [t.touchpoint for t in status.open_tasks]
        ((at, name, detail),) = adoption_rows(store, account_id)
        assert (at, name) == (DEADLINE, "no-data")
        assert detail["reason"] == (
            f"not judged: no usage reported on or before the deadline {DEADLINE}; "
            "health unchanged until usage for that date is reported"
        )
        assert not [r for r in store.timeline(account_id) if r.kind == "health"]
        (task,) = [t for t in store.tasks(account=account_id) if t.touchpoint == "report-usage"]
        assert (task.touchpoint, task.owner, task.status) == ("report-usage", "ana", "open")
        assert str(DEADLINE) in task.title

    # Usage for the deadline is imported late (with a later day that must not count).
    add_usage(store, [
        ("silent-met", DEADLINE - timedelta(days=1), 95, 190), ("silent-met", TODAY, 10, 20),
        ("silent-missed", DEADLINE, 45, 90), ("silent-missed", TODAY, 100, 200),
    ])
    report = await sweep(env, task_queue, TODAY)
    assert report.failed == 0

    met = await status_of(handles["silent-met"])
    assert met.adoption_result == "met" and "report-usage" not in [t.touchpoint for t in met.open_tasks]
    rows = adoption_rows(store, "silent-met")
    assert [(at, name) for at, name, _ in rows] == [(DEADLINE, "no-data"), (TODAY, "met")]
    assert rows[1][2]["utilization"] == 0.95 and rows[1][2]["deadline"] == DEADLINE.isoformat()
    assert "adoption" not in [r.detail.get("source") for r in store.timeline("silent-met") if r.kind == "health"]

    missed = await status_of(handles["silent-missed"])
    assert missed.adoption_result == "missed" and "report-usage" not in [t.touchpoint for t in missed.open_tasks]
    rows = adoption_rows(store, "silent-missed")
    assert [(at, name) for at, name, _ in rows] == [(DEADLINE, "no-data"), (TODAY, "missed")]
    assert rows[1][2]["utilization"] == 0.45
    # The sweep's color first, then one step lower for the missed target.
    (scored,) = [r for r in store.list_accounts() if r.id == "silent-missed"]
    assert missed.health is lowered(scored.score_color)
    assert missed.health_reason == f"adoption target missed: utilization 45% < 80% at {DEADLINE}"
    (task,) = store.tasks(account="silent-missed", status="done")
    assert task.touchpoint == "report-usage"
