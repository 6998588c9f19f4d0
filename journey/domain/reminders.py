"""Reminders and escalations for people's overdue tasks, as plain Python.

A task a person owns (opened by a journey or a red-account remediation) is reminded once
when it is `tasks.remind_after_days` overdue and escalated once when it is
`tasks.escalate_after_days` overdue, by the playbook of the account's engagement model.
These are not timers inside each journey (that would cost history events per task): a
daily sweep (`TaskReminderSweep`) reads the open tasks and calls `reminder_effects`, which
says what to write and send. Everything it returns is keyed, so a repeated sweep writes
and sends nothing twice, and a task closed with `journey done` is no longer open, so it is
never reminded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import BaseModel

from journey.domain.effects import Delivery, Effects, TaskChange, TimelineEntry
from journey.domain.enums import EngagementModel
from journey.domain.playbook import TaskPolicy
from journey.domain.team import DEFAULT_MANAGER

REMINDER_SUFFIX = "/reminder"
ESCALATION_SUFFIX = "/escalation"


class OpenTaskRow(BaseModel):
    """An open task with what the sweep needs of its account (a row of `Store.tasks_to_remind`)."""

    key: str
    account: str
    account_name: str
    model: EngagementModel
    ta: str
    ae: str
    touchpoint: str
    title: str
    owner_role: str
    owner: str
    due: date
    reminded_on: date | None = None
    escalated_on: date | None = None


def days_overdue(task: OpenTaskRow, today: date) -> int:
    """0 on the due date itself: a task due today is not overdue yet."""
    return max(0, (today - task.due).days)


def escalation_target(task: OpenTaskRow, policy: TaskPolicy, manager: str) -> str:
    """Who hears about a task left too long: the AE when the playbook says so, otherwise
    the TA manager; never the owner themself (an AE's task goes to the manager, a
    manager's task to the AE)."""
    owner_is_manager = task.owner_role == "manager" or task.owner == manager
    if policy.escalate_to == "ae" and task.owner != task.ae:
        return task.ae
    if owner_is_manager:
        return task.ae
    return manager


def reminder_effects(
    tasks: Iterable[OpenTaskRow],
    policies: Mapping[EngagementModel, TaskPolicy],
    today: date,
    manager: str = DEFAULT_MANAGER,
) -> list[Effects]:
    """What one sweep on `today` writes and sends: one `Effects` per account with work.

    For each open task overdue by at least `remind_after_days` and not reminded: an email
    to its owner (outbox key `<task key>/reminder`) and `reminded_on`. Overdue by at least
    `escalate_after_days` and not escalated: an email to `escalation_target` (outbox key
    `<task key>/escalation`), `escalated_on` / `escalated_to`, and a timeline row of kind
    `task`, status `escalated` (key `<task key>/escalation`). A task that reaches both at
    once (the sweep did not run for a while) gets both. Accounts in key order.
    """
    by_account: dict[str, Effects] = {}
    for task in sorted(tasks, key=lambda t: (t.account, t.due, t.key)):
        policy = policies.get(task.model, TaskPolicy())
        late = days_overdue(task, today)
        remind = task.reminded_on is None and late >= policy.remind_after_days
        escalate = task.escalated_on is None and late >= policy.escalate_after_days
        if not (remind or escalate):
            continue
        effects = by_account.setdefault(task.account, Effects(account=task.account))
        change = TaskChange(key=task.key)
        if remind:
            change.reminded_on = today
            effects.deliveries.append(_reminder(task, late, today))
        if escalate:
            target = escalation_target(task, policy, manager)
            change.escalated_on = today
            change.escalated_to = target
            effects.deliveries.append(_escalation(task, late, target, today))
            effects.timeline.append(
                TimelineEntry(
                    key=task.key + ESCALATION_SUFFIX,
                    account=task.account,
                    at=today,
                    kind="task",
                    name=task.touchpoint,
                    detail={
                        "status": "escalated",
                        "task": task.key,
                        "owner": task.owner,
                        "escalated_to": target,
                        "due": task.due.isoformat(),
                        "days_overdue": late,
                    },
                )
            )
        effects.task_changes.append(change)
    return [by_account[account] for account in sorted(by_account)]


def _reminder(task: OpenTaskRow, late: int, today: date) -> Delivery:
    return Delivery(
        key=task.key + REMINDER_SUFFIX,
        account=task.account,
        touchpoint=task.touchpoint,
        channel="email",
        recipient=task.owner,
        subject=f"Reminder: {task.title} for {task.account_name} was due {task.due.isoformat()}",
        body=(
            f"{task.title} for {task.account_name} ({task.account}) was due on {task.due.isoformat()}, "
            f"{late} days ago, and is still open.\n\n"
            f"When it is done, record it: journey done {task.account} {task.touchpoint}"
        ),
        due=today,
    )


def _escalation(task: OpenTaskRow, late: int, target: str, today: date) -> Delivery:
    return Delivery(
        key=task.key + ESCALATION_SUFFIX,
        account=task.account,
        touchpoint=task.touchpoint,
        channel="email",
        recipient=target,
        subject=f"Escalation: {task.title} for {task.account_name} is {late} days overdue",
        body=(
            f"{task.title} for {task.account_name} ({task.account}), owned by {task.owner}, was due on "
            f"{task.due.isoformat()} and is still open after {late} days (a reminder went to {task.owner}).\n\n"
            f"TA {task.ta}, AE {task.ae}."
        ),
        due=today,
    )
