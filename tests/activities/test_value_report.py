"""The value review brings the account's value-realization report with it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.messages import ReportRequest
from activities.store import StoreActivities
from journey.domain.effects import Effects, TaskOpen
from journey.domain.models import Account
from journey.domain.names import Activity, journey_workflow_id
from journey.store import Store
from journey.temporal.journeys import enroll_one
from tests.helpers.journeys import advance_to, quiet_settings
from tests.helpers.stores import add_usage
from workflows.worker import build_worker


def test_value_review_task_gets_the_report_attached(store: Store, tmp_path: Path) -> None:
    account = Account(
        id="acme", name="Acme", segment="strategic", tier=1, seats=100, arr=1000.0,
        signed=date(2026, 1, 5), renewal=date(2027, 1, 5), ta="ana", ae="sam",
    )
    add_usage(store, [("acme", date(2026, 9, 1), 40, 85)])
    task = TaskOpen(
        key="acme/value-review/2026-10-07", account="acme", touchpoint="value-review", title="Value review",
        owner_role="value-engineering", owner="value-engineering", due=date(2026, 10, 7),
    )
    activities = StoreActivities(store, reports_dir=tmp_path / "reports")
    activities.apply_effects(Effects(account="acme", enroll=account, open_tasks=[task]))
    # The workflow attaches the report with an activity of its own, after apply_effects.
    activities.attach_report(ReportRequest(account="acme", task_key=task.key, touchpoint=task.touchpoint, on=task.due))

    [row] = store.tasks(account="acme")
    assert row.notes is not None
    path = Path(row.notes.removeprefix("report: "))
    assert path.parent == tmp_path / "reports" / "acme" and path.exists()
    html = path.read_text()
    assert "data:image/png;base64," in html and "Acme" in html
    timeline = [r for r in store.timeline("acme") if r.kind == "task"]
    assert [r.detail["report"] for r in timeline] == [str(path)]


def test_no_report_without_a_reports_directory(store: Store) -> None:
    task = TaskOpen(
        key="acme/value-review/2026-10-07", account="acme", touchpoint="value-review", title="Value review",
        owner_role="value-engineering", owner="value-engineering", due=date(2026, 10, 7),
    )
    activities = StoreActivities(store)
    activities.apply_effects(Effects(account="acme", open_tasks=[task]))
    activities.attach_report(ReportRequest(account="acme", task_key=task.key, touchpoint=task.touchpoint, on=task.due))
    [row] = store.tasks(account="acme")
    assert row.notes is None


@pytest.mark.asyncio(loop_scope="session")
async def test_a_journey_reaching_its_value_review_attaches_the_report(
    env: WorkflowEnvironment, store: Store, task_queue: str, tmp_path: Path
) -> None:
    """In a running journey the report comes from the `attach_report` activity, scheduled
    once the value-review task is written."""
    today = date(2026, 9, 1)
    account = Account(
        id="acme-review", name="Acme Review", segment="strategic", tier=1, seats=100, arr=1000.0,
        signed=date(2025, 12, 1), renewal=date(2026, 12, 1), ta="ana", ae="sam",
        production_ready=date(2026, 1, 10), onboarding_complete=date(2026, 2, 1),
    )
    add_usage(store, [(account.id, date(2026, 8, 20), 40, 85)])
    running = build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings(), reports_dir=tmp_path / "reports")
    async with running:
        assert await enroll_one(env.client, account, today=today, task_queue=task_queue)
        handle = env.client.get_workflow_handle(journey_workflow_id(account.id))
        # The value review is due 90 days before renewal (2026-09-02); its task opens ahead.
        status = await advance_to(env, handle, today + timedelta(days=1))
        assert "value-review" in {t.touchpoint for t in status.open_tasks}
        [task] = [t for t in store.tasks(account=account.id) if t.touchpoint == "value-review"]
        assert task.notes is not None and task.notes.startswith("report: ")
        assert Path(task.notes.removeprefix("report: ")).is_file()
        history = await handle.fetch_history()
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert Activity.ATTACH_REPORT in scheduled
        await handle.terminate("test done")
