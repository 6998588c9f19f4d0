"""How the nightly sweep splits its changes: batches of BATCH, several told at once, each
named by the sweep run (the update ids). The sweep workflow runs for real on the
time-skipping server; its two activities are stand-ins that record what they are given."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.messages import HealthChange, HealthPlan, HealthSweepInput, HealthUpdateBatch, HealthUpdateReport
from journey.domain import names
from journey.domain.enums import Health
from journey.domain.events import MetricsUpdate
from workflows.health_sweep import BATCH, PARALLEL_BATCHES, HealthSweep
from workflows.messages import HealthSweepReport
from workflows.worker import workflow_runner

DAY = date(2026, 6, 30)
CHANGES = BATCH * (PARALLEL_BATCHES + 2) + 7  # more batches than are told at once, the last one short


def change(n: int) -> HealthChange:
    return HealthChange(
        account=f"acct-{n:04d}",
        update=MetricsUpdate(on=DAY, utilization=0.2, consumption=0.3, color=Health.red, reason="health score 20"),
        band=None,
    )


class Recorder:
    def __init__(self) -> None:
        self.batches: list[HealthUpdateBatch] = []
        self.running = 0
        self.most_running = 0

    @activity.defn(name=names.Activity.SCORE_HEALTH)
    async def score_health(self, request: HealthSweepInput) -> HealthPlan:
        return HealthPlan(today=DAY, scored=CHANGES * 3, changes=[change(n) for n in range(CHANGES)], more=False)

    @activity.defn(name=names.Activity.SEND_HEALTH_UPDATES)
    async def send_health_updates(self, batch: HealthUpdateBatch) -> HealthUpdateReport:
        self.batches.append(batch)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        # Long enough that every batch the sweep lets run at once is running.
        await asyncio.sleep(0.3)
        self.running -= 1
        return HealthUpdateReport(sent=len(batch.changes) - 1, skipped=[batch.changes[0].account])


@pytest.mark.asyncio(loop_scope="session")
async def test_the_sweep_tells_its_batches_several_at_once(env: WorkflowEnvironment, task_queue: str) -> None:
    recorder = Recorder()
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[HealthSweep],
        activities=[recorder.score_health, recorder.send_health_updates],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=50,
    ):
        with env.auto_time_skipping_disabled():
            handle = await env.client.start_workflow(
                names.Workflow.HEALTH_SWEEP,
                HealthSweepInput(today=DAY),
                id=f"health-sweep-{task_queue}",
                task_queue=task_queue,
                result_type=HealthSweepReport,
            )
            report = await handle.result()

    batches = recorder.batches
    assert sorted(len(b.changes) for b in batches) == [7] + [BATCH] * (PARALLEL_BATCHES + 2)
    told = sorted(c.account for b in batches for c in b.changes)
    assert told == [change(n).account for n in range(CHANGES)]  # every change once
    run_id = (await handle.describe()).run_id
    assert {b.sweep for b in batches} == {f"{handle.id}/{run_id}"}
    assert recorder.most_running == PARALLEL_BATCHES
    assert report.changed == CHANGES and report.red == [change(n).account for n in range(CHANGES)]
    assert report.skipped == len(batches) and report.sent == CHANGES - len(batches) and report.failed == 0
