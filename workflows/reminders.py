"""`TaskReminderSweep`: once a day, remind and escalate people's overdue tasks.

Started by the Temporal Schedule `journey-task-reminders` (see `journey.temporal.schedules`).
The decisions are in `journey.domain.reminders`; the work, in ONE activity (`remind_tasks`), writes
every reminder and escalation in one transaction and sends the emails. Reminders are not
timers inside each journey: a sweep costs a handful of history events a day, whatever
the number of tasks.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.messages import ReminderReport, ReminderSweepInput
    from activities.reminders import ReminderActivities
    from journey.domain import names


# Minutes long: finishes on the build it started on (workflows.deployment).
@workflow.defn(name=names.Workflow.TASK_REMINDER_SWEEP, versioning_behavior=VersioningBehavior.PINNED)
class TaskReminderSweep:
    @workflow.run
    async def run(self, request: ReminderSweepInput) -> ReminderReport:
        today = request.today or workflow.now().date()
        return await workflow.execute_activity_method(
            ReminderActivities.remind_tasks,
            ReminderSweepInput(today=today),
            start_to_close_timeout=timedelta(minutes=30),
            # A worker that dies mid-sweep is noticed in seconds; the retry sends what is left.
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=10),
                maximum_interval=timedelta(minutes=10),
                maximum_attempts=20,
            ),
            summary=f"remind and escalate overdue tasks on {today}",
        )
