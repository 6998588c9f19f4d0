"""The reminder sweep's activity: remind and escalate overdue tasks, then send the emails."""

from __future__ import annotations

import logging
from datetime import date

from temporalio import activity

from activities.delivery import DeliveryActivities
from journey.models import EngagementModel
from journey.playbook import TaskPolicy, load_playbooks
from journey.reminders import ESCALATION_SUFFIX, REMINDER_SUFFIX, OpenTaskRow, reminder_effects
from journey.store import Store
from workflows.messages import ReminderReport, ReminderSweepInput

log = logging.getLogger(__name__)


class ReminderActivities:
    def __init__(self, store: Store, delivery: DeliveryActivities, playbook_dir: str | None = None) -> None:
        self.store = store
        self.delivery = delivery
        self.playbook_dir = playbook_dir

    def policies(self) -> dict[EngagementModel, TaskPolicy]:
        """The task policy of each engagement model, from the worker's playbook files."""
        return {model: playbook.tasks for model, playbook in load_playbooks(self.playbook_dir).items()}

    @activity.defn(name="remind_tasks")
    def remind_tasks(self, request: ReminderSweepInput) -> ReminderReport:
        """One sweep: write every reminder and escalation in one transaction, then send.

        A retried attempt finds the tasks already marked (nothing new to write) and sends
        what the earlier attempt queued but did not get to send.
        """
        today = request.today or date.today()
        rows = [OpenTaskRow.model_validate(row) for row in self.store.tasks_to_remind(today)]
        batches = reminder_effects(rows, self.policies(), today, manager=self.delivery.settings.manager)
        self.store.apply_many(batches)
        report = ReminderReport(
            today=today,
            reminded=sum(1 for b in batches for c in b.task_changes if c.reminded_on is not None),
            escalated=sum(1 for b in batches for c in b.task_changes if c.escalated_on is not None),
        )
        # With the claimed ones: a row an earlier attempt died sending is sent now (never
        # handed over) or marked in doubt (handed over, no answer recorded).
        queued = self.store.pending_deliveries(key_suffixes=(REMINDER_SUFFIX, ESCALATION_SUFFIX), include_claimed=True)
        sent = self.delivery.deliver([row["key"] for row in queued])
        report.sent, report.skipped, report.simulated, report.in_doubt = sent.sent, sent.skipped, sent.simulated, sent.in_doubt
        log.info("reminder sweep for %s: %s", today, report.model_dump_json())
        return report
