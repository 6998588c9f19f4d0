"""The worker's assembly: every workflow and activity of `journey`, in one place."""

from __future__ import annotations

from collections.abc import Callable
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
from journey.config import DeliverySettings, WorkerVersion, sweep_concurrency, worker_version
from journey.delivery.outbox import OutboxSender
from journey.domain.names import TASK_QUEUE
from journey.store import Store
from journey.telemetry.metrics import EngineMetrics
from workflows.account_journey import AccountJourney
from workflows.delivery_sweep import DeliverySweep
from workflows.deployment import CurrentVersion, VersionState, deployment_config
from workflows.health_sweep import HealthSweep
from workflows.red_account import RedAccountRemediation
from workflows.reminders import TaskReminderSweep

WORKFLOWS = [AccountJourney, RedAccountRemediation, TaskReminderSweep, HealthSweep, DeliverySweep]

# Modules imported once, outside the per-run sandbox. Re-importing the workflow modules
# and `transitions` for every cached journey costs a few hundred KiB each in a worker;
# passed through, they are shared. The price: the sandbox no longer proxies what these
# modules import, so their determinism rests on the code rules (workflow.now(), no I/O,
# pure domain) and the replay tests over recorded histories.
# OpenTelemetry is passed through for the tracing interceptor's workflow side (imported
# only when tracing is on).
PASSTHROUGH = (
    "journey", "workflows", "activities", "transitions", "pydantic", "pydantic_core", "holidays", "dateutil",
    "opentelemetry",
)

# Journeys a worker keeps in memory between their wake-ups. A journey wakes about once a
# fortnight, so one evicted from the cache costs one replay of its (short) history when it
# next wakes; the bound keeps a worker's memory flat however many journeys it runs (about
# 100 KiB each cached; bench/enroll.py measures it). The SDK's own default.
DEFAULT_MAX_CACHED_WORKFLOWS = 1_000


def workflow_runner() -> SandboxedWorkflowRunner:
    """The SDK's sandboxed runner, with the project's modules passed through."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def build_worker(
    client: Client,
    store: Store,
    *,
    task_queue: str = TASK_QUEUE,
    settings: DeliverySettings | None = None,
    dry_run: bool = False,
    playbook_dir: str | Path | None = None,
    max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS,
    executor: ThreadPoolExecutor | None = None,
    health_config: str | Path | None = None,
    reports_dir: Path | None = None,
    graceful_shutdown_timeout: timedelta = timedelta(0),
    version: WorkerVersion | None = None,
    take_over: bool = False,
    on_version: Callable[[VersionState], None] | None = None,
    metrics: EngineMetrics | None = None,
    health_concurrency: int | None = None,
) -> Worker:
    """A worker for journeys on `task_queue`; `dry_run` records automated touches without
    sending; with `reports_dir`, value reviews get the account's report written there.
    On shutdown, running activities get `graceful_shutdown_timeout` to finish before they
    are cancelled. `metrics`: where its activities count what they do (none by default).
    `health_concurrency`: the health updates this worker keeps in flight for the nightly
    sweep (default: JOURNEY_SWEEP_CONCURRENCY, else DEFAULT_SWEEP_CONCURRENCY).

    It polls as `version` of its Worker Deployment (default: JOURNEY_DEPLOYMENT and
    JOURNEY_BUILD_ID, else `journey` and the package's version). Once running, it makes that
    version current if the deployment never had one (always, with `take_over`) and passes
    where the version stands to `on_version` (default: the log); see workflows.deployment."""
    version = version or worker_version()
    metrics = metrics or EngineMetrics()
    store_activities = StoreActivities(store, playbook_dir, reports_dir, metrics)
    on_outcome = metrics.delivered if metrics.enabled else None
    sender = OutboxSender(store, settings or DeliverySettings.from_env(), dry_run=dry_run, on_outcome=on_outcome)
    deliveries = DeliveryActivities(sender)
    reminders = ReminderActivities(store, sender, playbook_dir, metrics)
    # The sweep tells journeys their health through this worker's own client.
    health = HealthActivities(store, client, health_config, concurrency=health_concurrency or sweep_concurrency())
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            store_activities.apply_effects,
            store_activities.fetch_utilization,
            store_activities.load_playbook,
            store_activities.attach_report,
            deliveries.send_deliveries,
            deliveries.send_due_deliveries,
            reminders.remind_tasks,
            health.score_health,
            health.send_health_updates,
        ],
        activity_executor=executor or ThreadPoolExecutor(max_workers=8),
        workflow_runner=workflow_runner(),
        max_cached_workflows=max_cached_workflows,
        # A journey cached on a worker that died moves to another within seconds.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=5),
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        deployment_config=deployment_config(version),
        plugins=[CurrentVersion(client, version, take_over=take_over, report=on_version)],
    )
