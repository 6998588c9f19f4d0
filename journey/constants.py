"""Temporal names that users and other tools rely on (the interface contract)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

TASK_QUEUE = "journey"
WORKFLOW_TYPE = "AccountJourney"
REMEDIATION_WORKFLOW_TYPE = "RedAccountRemediation"
REMINDER_WORKFLOW_TYPE = "TaskReminderSweep"
# The Temporal Schedule that starts the daily reminder sweep.
REMINDER_SCHEDULE_ID = "journey-task-reminders"
HEALTH_SWEEP_WORKFLOW_TYPE = "HealthSweep"
# The Temporal Schedule that starts the nightly health sweep.
HEALTH_SWEEP_SCHEDULE_ID = "journey-health-sweep"

SA_STAGE = SearchAttributeKey.for_keyword("JourneyStage")
SA_SEGMENT = SearchAttributeKey.for_keyword("Segment")
SA_HEALTH = SearchAttributeKey.for_keyword("HealthColor")
SA_MODEL = SearchAttributeKey.for_keyword("EngagementModel")
SA_TA = SearchAttributeKey.for_keyword("TechnicalAdvisor")
SA_TIER = SearchAttributeKey.for_int("Tier")
SA_RENEWAL = SearchAttributeKey.for_datetime("RenewalDate")

SEARCH_ATTRIBUTES = (SA_STAGE, SA_SEGMENT, SA_HEALTH, SA_MODEL, SA_TA, SA_TIER, SA_RENEWAL)


def journey_workflow_id(account_id: str) -> str:
    return f"journey-{account_id}"


def remediation_workflow_id(account_id: str, episode: int) -> str:
    return f"red-{account_id}-{episode}"
