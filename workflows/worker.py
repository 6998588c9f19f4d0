"""The worker's assembly: every workflow and activity of `journey`, in one place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.delivery import DeliveryActivities
from activities.health import HealthActivities
from activities.reminders import ReminderActivities
from activities.store import StoreActivities
from journey.config import DeliverySettings
from journey.constants import TASK_QUEUE
from journey.store import Store
from workflows.account_journey import AccountJourney
from workflows.health_sweep import HealthSweep
from workflows.red_account import RedAccountRemediation
from workflows.reminders import TaskReminderSweep

WORKFLOWS = [AccountJourney, RedAccountRemediation, TaskReminderSweep, HealthSweep]

# Modules imported once, outside the per-run sandbox. Re-importing the workflow modules
# and `transitions` for every cached journey cost ~230 KiB each in a worker (measured
# with bench/enroll.py); passed through, ~100 KiB. The price: the sandbox no longer
# proxies what these modules import, so their determinism rests on the code rules
# (workflow.now(), no I/O) and the replay tests over recorded histories.
PASSTHROUGH = ("journey", "transitions", "pydantic", "pydantic_core", "workflows")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_worker(
    client: Client,
    store: Store,
    *,
    task_queue: str = TASK_QUEUE,
    settings: DeliverySettings | None = None,
    dry_run: bool = False,
    playbook_dir: str | None = None,
    max_cached_workflows: int = 10_000,
    executor: ThreadPoolExecutor | None = None,
    health_config: str | None = None,
    reports_dir: Path | None = None,
) -> Worker:
    """A worker for journeys on `task_queue`; `dry_run` records automated touches without
    sending; with `reports_dir`, value reviews get the account's report written there."""
    store_activities = StoreActivities(store, playbook_dir, reports_dir)
    delivery = DeliveryActivities(store, settings or DeliverySettings.from_env(), dry_run=dry_run)
    reminders = ReminderActivities(store, delivery, playbook_dir)
    # The sweep tells journeys their health through this worker's own client.
    health = HealthActivities(store, client, health_config)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*store_activities.all(), delivery.send_deliveries, reminders.remind_tasks, *health.all()],
        activity_executor=executor or ThreadPoolExecutor(max_workers=8),
        workflow_runner=workflow_runner(),
        max_cached_workflows=max_cached_workflows,
        # A journey cached on a worker that died moves to another within seconds.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=5),
    )
