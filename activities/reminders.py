"""The reminder sweep's activity: remind and escalate overdue tasks, then send the emails."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from temporalio import activity

from activities.messages import ReminderReport, ReminderSweepInput
from activities.retries import last_attempt
from journey.config import playbooks_dir
from journey.delivery.outbox import OutboxSender
from journey.domain import names
from journey.domain.enums import EngagementModel
from journey.domain.playbook import TaskPolicy
from journey.domain.playbook_files import load_playbooks
from journey.domain.reminders import ESCALATION_SUFFIX, REMINDER_SUFFIX, reminder_effects
from journey.store import Store
from journey.telemetry.metrics import EngineMetrics

log = logging.getLogger(__name__)


class ReminderActivities:
    def __init__(
        self,
        store: Store,
        sender: OutboxSender,
        playbook_dir: str | Path | None = None,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.playbook_dir = Path(playbook_dir) if playbook_dir is not None else playbooks_dir()
        self.metrics = metrics or EngineMetrics()

    def policies(self) -> dict[EngagementModel, TaskPolicy]:
        """The task policy of each engagement model, from the worker's playbook files."""
        return {model: playbook.tasks for model, playbook in load_playbooks(self.playbook_dir).items()}

    @activity.defn(name=names.Activity.REMIND_TASKS)
    def remind_tasks(self, request: ReminderSweepInput) -> ReminderReport:
        """One sweep: write every reminder and escalation in one transaction, then send.

        A retried attempt finds the tasks already marked (nothing new to write) and sends
        what the earlier attempt queued but did not get to send.
        """
        today = request.today or date.today()
        rows = self.store.tasks_to_remind(today)
        batches = reminder_effects(rows, self.policies(), today, manager=self.sender.settings.team.manager)
        self.store.apply_many(batches)
        report = ReminderReport(
            today=today,
            reminded=sum(1 for b in batches for c in b.task_changes if c.reminded_on is not None),
            escalated=sum(1 for b in batches for c in b.task_changes if c.escalated_on is not None),
        )
        # A retried attempt finds these tasks marked and writes (and counts) none again.
        self.metrics.reminded(report.reminded, report.escalated)
        # With the claimed ones: a row an earlier attempt died sending is sent now (never
        # handed over) or marked in doubt (handed over, no answer recorded).
        queued = self.store.pending_deliveries(key_suffixes=(REMINDER_SUFFIX, ESCALATION_SUFFIX), include_claimed=True)
        # On the sweep's last attempt what still fails is marked failed, not the sweep.
        limit = last_attempt(self.sender.settings.delivery_attempts)
        sent = self.sender.deliver([row.key for row in queued], heartbeat=activity.heartbeat, last_attempt=limit)
        report.sent, report.skipped, report.simulated, report.in_doubt = sent.sent, sent.skipped, sent.simulated, sent.in_doubt
        log.info("reminder sweep for %s: %s", today, report.model_dump_json())
        return report
