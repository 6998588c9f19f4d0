"""Activities that write and read the store. Every write is idempotent by key."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from journey.metrics import utilization_on
from journey.models import Effects, TaskChange, TaskOpen, TimelineEntry
from journey.playbook import Playbook, load_playbooks
from journey.store import Store
from workflows.messages import PlaybookRequest, UtilizationQuery, UtilizationResult

# Touchpoints that bring the account's value-realization report with them.
REPORT_TOUCHPOINTS = ("value-review",)


class StoreActivities:
    """Bound to one `Store` so tests and simulations can point a worker at their own database."""

    def __init__(self, store: Store, playbook_dir: str | None = None, reports_dir: Path | None = None) -> None:
        self.store = store
        self.playbook_dir = playbook_dir
        self.reports_dir = reports_dir

    @activity.defn(name="apply_effects")
    def apply_effects(self, effects: Effects) -> None:
        self.store.apply_effects(effects)
        if self.reports_dir is not None:
            for task in effects.open_tasks:
                if task.touchpoint in REPORT_TOUCHPOINTS:
                    self._attach_report(task, self.reports_dir)

    def _attach_report(self, task: TaskOpen, reports_dir: Path) -> None:
        """The value review comes with the account's value-realization report, written as
        the task opens; the task's notes and the timeline point to the file."""
        from journey.report import account_report, write_report

        report = account_report(self.store, task.account, today=task.due)
        path = write_report(report, reports_dir / task.account)
        self.store.apply_effects(
            Effects(
                account=task.account,
                task_changes=[TaskChange(key=task.key, notes=f"report: {path}")],
                timeline=[
                    TimelineEntry(
                        key=f"{task.key}/report", account=task.account, at=task.due, kind="task",
                        name=task.touchpoint, detail={"status": "report attached", "report": str(path)},
                    )
                ],
            )
        )

    @activity.defn(name="fetch_utilization")
    def fetch_utilization(self, query: UtilizationQuery) -> UtilizationResult:
        with self.store.engine.connect() as conn:
            mau = utilization_on(conn, query.account, query.on)
        if mau is None:
            return UtilizationResult(utilization=None)
        return UtilizationResult(utilization=mau / query.seats, mau=mau)

    @activity.defn(name="load_playbook")
    def load_playbook(self, request: PlaybookRequest) -> Playbook:
        return load_playbooks(self.playbook_dir)[request.model]

    def all(self) -> list[object]:
        return [self.apply_effects, self.fetch_utilization, self.load_playbook]
