"""Activities that write and read the store. Every write is idempotent by key."""

from __future__ import annotations

import os
from pathlib import Path

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

from activities.messages import PlaybookRequest, ReportRequest, UtilizationQuery, UtilizationResult
from journey.config import playbooks_dir
from journey.domain import names
from journey.domain.effects import Effects, TaskChange, TimelineEntry
from journey.domain.enums import EngagementModel
from journey.domain.playbook import compact_json
from journey.domain.playbook_files import load_playbooks
from journey.domain.touches import PLAN_TOUCHPOINTS
from journey.store import Store
from journey.telemetry.metrics import EngineMetrics


class StoreActivities:
    """Bound to one `Store` so tests and simulations can point a worker at their own database."""

    def __init__(
        self,
        store: Store,
        playbook_dir: str | Path | None = None,
        reports_dir: Path | None = None,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.store = store
        self.playbook_dir = Path(playbook_dir) if playbook_dir is not None else playbooks_dir()
        self.reports_dir = reports_dir
        self.metrics = metrics or EngineMetrics()
        self._playbooks: tuple[object, dict[EngagementModel, bytes]] | None = None

    @activity.defn(name=names.Activity.APPLY_EFFECTS)
    def apply_effects(self, effects: Effects) -> None:
        written = self.store.apply_effects(effects, track_new=self.metrics.enabled)
        # Counted from what was new in the store: a step retried or re-run counts nothing twice.
        self.metrics.written(effects, written, lambda: self.store.engagement_model(effects.account))

    @activity.defn(name=names.Activity.ATTACH_REPORT)
    def attach_report(self, request: ReportRequest) -> str | None:
        """The task comes with its document, written as it opens: the value review with the
        account's value-realization report, the account plan and the roadmap review with the
        plan of their quarter (markdown and HTML; its product-feedback section is what the
        roadmap review takes to the product teams). The task's notes and the timeline point to the file. A worker
        without a reports folder attaches nothing (returns None)."""
        if self.reports_dir is None:
            return None
        if request.touchpoint in PLAN_TOUCHPOINTS:
            return self._attach_plan(request, self.reports_dir / request.account)
        from journey.reports.data import account_report
        from journey.reports.render import write_report

        report = account_report(self.store, request.account, today=request.on)
        path = write_report(report, self.reports_dir / request.account)
        self._note_attached(request, f"report: {path}", {"status": "report attached", "report": str(path)})
        return str(path)

    def _attach_plan(self, request: ReportRequest, out_dir: Path) -> str:
        from journey.reports.plan import account_plan, plan_quarter_for, write_plan

        quarter = plan_quarter_for(request.on)
        plan = account_plan(self.store, request.account, quarter, today=request.on)
        markdown_path, html_path = write_plan(plan, out_dir)
        self._note_attached(
            request,
            f"plan {quarter}: {html_path} (markdown: {markdown_path})",
            {"status": "plan attached", "quarter": quarter, "plan": str(html_path), "markdown": str(markdown_path)},
        )
        return str(html_path)

    def _note_attached(self, request: ReportRequest, notes: str, detail: dict[str, object]) -> None:
        self.store.apply_effects(
            Effects(
                account=request.account,
                task_changes=[TaskChange(key=request.task_key, notes=notes)],
                timeline=[
                    TimelineEntry(
                        key=f"{request.task_key}/report", account=request.account, at=request.on, kind="task",
                        name=request.touchpoint, detail=detail,
                    )
                ],
            )
        )

    @activity.defn(name=names.Activity.FETCH_UTILIZATION)
    def fetch_utilization(self, query: UtilizationQuery) -> UtilizationResult:
        mau = self.store.mau_on(query.account, query.on)
        if mau is None:
            return UtilizationResult(utilization=None)
        return UtilizationResult(utilization=mau / query.seats, mau=mau)

    @activity.defn(name=names.Activity.LOAD_PLAYBOOK)
    def load_playbook(self, request: PlaybookRequest) -> RawValue:
        """The playbook of the model, as compact JSON (read with `result_type=Playbook`)."""
        return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=self._compact_playbooks()[request.model]))

    def _compact_playbooks(self) -> dict[EngagementModel, bytes]:
        """Every playbook as `compact_json`, read and validated again only when one of the
        files changed (size, mtime or inode): every enrollment asks for its playbook."""
        directory = self.playbook_dir
        try:
            files = (os.stat(directory / f"{model.value}.toml") for model in EngagementModel)
            signature: object = tuple((f.st_mtime_ns, f.st_size, f.st_ino) for f in files)
        except OSError:
            signature = None  # load_playbooks names what is missing
        cached = self._playbooks
        if cached is not None and signature is not None and cached[0] == signature:
            return cached[1]
        books = {model: compact_json(book) for model, book in load_playbooks(directory).items()}
        if signature is not None:
            self._playbooks = (signature, books)
        return books
