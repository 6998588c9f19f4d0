"""The value review brings the account's value-realization report with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from activities.messages import ReportRequest
from activities.store import StoreActivities
from journey.domain.effects import Effects, TaskOpen
from journey.domain.models import Account
from journey.store import Store
from tests.helpers.stores import add_usage


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
