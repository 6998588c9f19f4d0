"""Temporal names that users and other tools rely on (the interface contract,
docs/contract.md): task queue, workflow types and ids, updates, queries, signals,
activities, schedules and search attributes. Everything else refers to these constants.

Plain strings, so every layer can use them; the typed search attribute keys are built
from `SEARCH_ATTRIBUTES` in `workflows.search_attributes`.
"""

from __future__ import annotations

from typing import Final, Literal

TASK_QUEUE: Final = "journey"
# simulate runs its journeys on a task queue of their own, on the time-skipping server.
SIMULATION_TASK_QUEUE: Final = "journey-simulation"


class Workflow:
    ACCOUNT_JOURNEY: Final = "AccountJourney"
    RED_ACCOUNT_REMEDIATION: Final = "RedAccountRemediation"
    TASK_REMINDER_SWEEP: Final = "TaskReminderSweep"
    HEALTH_SWEEP: Final = "HealthSweep"
    DELIVERY_SWEEP: Final = "DeliverySweep"


class Schedule:
    """The Temporal Schedules that start the sweeps."""

    TASK_REMINDERS: Final = "journey-task-reminders"
    HEALTH_SWEEP: Final = "journey-health-sweep"
    DELIVERIES: Final = "journey-deliveries"


class Update:
    """One update per event a person reports, two from the engine's own tools, the
    account map's changes (`journey contacts`) and open tasks moved (`journey snooze`,
    `journey tasks reschedule|reassign`)."""

    KICKOFF_HELD: Final = "kickoff_held"
    PRODUCTION_READY: Final = "production_ready"
    ONBOARDING_COMPLETE: Final = "onboarding_complete"
    SET_HEALTH: Final = "set_health"
    TOUCHPOINT_DONE: Final = "touchpoint_done"
    RENEWAL_CLOSED: Final = "renewal_closed"
    CONTRACT_CHANGED: Final = "contract_changed"
    OFFBOARD: Final = "offboard"
    METRICS: Final = "metrics"
    APPLY_PLAYBOOK: Final = "apply_playbook"
    CONTACTS_CHANGED: Final = "contacts_changed"
    # `journey snooze`, `tasks reschedule`, `tasks reassign`: open tasks moved or handed on.
    TASKS_MOVED: Final = "tasks_moved"
    # `journey deliveries approve|skip`: touches held for review approved or dropped.
    DELIVERIES_REVIEWED: Final = "deliveries_reviewed"


# The updates people send, in the order the contract lists them.
EVENTS: Final = (
    Update.KICKOFF_HELD,
    Update.PRODUCTION_READY,
    Update.ONBOARDING_COMPLETE,
    Update.SET_HEALTH,
    Update.TOUCHPOINT_DONE,
    Update.RENEWAL_CLOSED,
    Update.CONTRACT_CHANGED,
    Update.OFFBOARD,
)


class Query:
    STATUS: Final = "status"
    STATE: Final = "state"


class Signal:
    """What a journey tells its red-account remediation."""

    PROMOTE: Final = "promote"
    TASK_DONE: Final = "task_done"
    # Open tasks moved on the journey (`tasks_moved`): the remediation moves its own too.
    TASKS_MOVED: Final = "tasks_moved"


class Activity:
    APPLY_EFFECTS: Final = "apply_effects"
    FETCH_UTILIZATION: Final = "fetch_utilization"
    LOAD_PLAYBOOK: Final = "load_playbook"
    ATTACH_REPORT: Final = "attach_report"
    SEND_DELIVERIES: Final = "send_deliveries"
    REMIND_TASKS: Final = "remind_tasks"
    SCORE_HEALTH: Final = "score_health"
    SEND_HEALTH_UPDATES: Final = "send_health_updates"
    SEND_DUE_DELIVERIES: Final = "send_due_deliveries"


class SearchAttribute:
    STAGE: Final = "JourneyStage"
    SEGMENT: Final = "Segment"
    HEALTH: Final = "HealthColor"
    MODEL: Final = "EngagementModel"
    TA: Final = "TechnicalAdvisor"
    TIER: Final = "Tier"
    RENEWAL: Final = "RenewalDate"


SearchAttributeType = Literal["Keyword", "Int", "Datetime"]

# Every custom search attribute and its type, as `temporal server start-dev
# --search-attribute Name=Type` spells it. None holds personal data.
SEARCH_ATTRIBUTES: Final[dict[str, SearchAttributeType]] = {
    SearchAttribute.STAGE: "Keyword",
    SearchAttribute.SEGMENT: "Keyword",
    SearchAttribute.HEALTH: "Keyword",
    SearchAttribute.MODEL: "Keyword",
    SearchAttribute.TA: "Keyword",
    SearchAttribute.TIER: "Int",
    SearchAttribute.RENEWAL: "Datetime",
}

# Temporal's own search attribute (server 1.30+) on a running execution whose workflow
# task keeps failing or timing out, and the values that say so.
REPORTED_PROBLEMS: Final = "TemporalReportedProblems"
WORKFLOW_TASK_PROBLEMS: Final = ("category=WorkflowTaskFailed", "category=WorkflowTaskTimedOut")

JOURNEY_ID_PREFIX: Final = "journey-"


def journey_workflow_id(account_id: str) -> str:
    return f"{JOURNEY_ID_PREFIX}{account_id}"


def account_of_workflow_id(workflow_id: str) -> str:
    return workflow_id.removeprefix(JOURNEY_ID_PREFIX)


def remediation_workflow_id(account_id: str, episode: int) -> str:
    return f"red-{account_id}-{episode}"
