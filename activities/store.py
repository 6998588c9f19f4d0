"""Activities that write and read the store. Every write is idempotent by key."""

from __future__ import annotations

import os
from pathlib import Path

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

from journey.metrics import utilization_on
from journey.models import Effects, EngagementModel, TaskChange, TaskOpen, TimelineEntry
from journey.playbook import compact_json, load_playbooks
from journey.store import Store
from playbooks import DEFAULT_DIR
from workflows.messages import PlaybookRequest, UtilizationQuery, UtilizationResult

# Touchpoints that bring the account's value-realization report with them.
REPORT_TOUCHPOINTS = ("value-review",)


class StoreActivities:
    """Bound to one `Store` so tests and simulations can point a worker at their own database."""

    def __init__(self, store: Store, playbook_dir: str | None = None, reports_dir: Path | None = None) -> None:
        self.store = store
        self.playbook_dir = playbook_dir
        self.reports_dir = reports_dir
        self._playbooks: tuple[object, dict[EngagementModel, bytes]] | None = None

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
    def load_playbook(self, request: PlaybookRequest) -> RawValue:
        """The playbook of the model, as compact JSON (read with `result_type=Playbook`)."""
        return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=self._compact_playbooks()[request.model]))

    def _compact_playbooks(self) -> dict[EngagementModel, bytes]:
        """Every playbook as `compact_json`, read and validated again only when one of the
        files changed (size, mtime or inode): every enrollment asks for its playbook."""
        directory = Path(self.playbook_dir) if self.playbook_dir is not None else DEFAULT_DIR
        try:
            files = (os.stat(directory / f"{model.value}.toml") for model in EngagementModel)
            signature: object = tuple((f.st_mtime_ns, f.st_size, f.st_ino) for f in files)
        except OSError:
            signature = None  # load_playbooks names what is missing
        cached = self._playbooks
        if cached is not None and signature is not None and cached[0] == signature:
            return cached[1]
        books = {model: compact_json(book) for model, book in load_playbooks(self.playbook_dir).items()}
        if signature is not None:
            self._playbooks = (signature, books)
        return books

    def all(self) -> list[object]:
        return [self.apply_effects, self.fetch_utilization, self.load_playbook]
