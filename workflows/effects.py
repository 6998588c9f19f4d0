"""Writing a batch of effects from a workflow: the store first, then its automated touches."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.messages import DeliveryBatch, ReportRequest
    from activities.store import StoreActivities
    from journey.domain.effects import Effects
    from journey.domain.touches import REPORT_TOUCHPOINTS

# Value reports are rendered by an activity of their own, not inside the 30-second local
# activity that writes the effects. Journeys recorded before that did it inside.
REPORT_ACTIVITY_PATCH = "value-report-activity"
REPORT_TIMEOUT = timedelta(minutes=2)
REPORT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=2), maximum_attempts=5)

STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=50,
)


async def apply_effects_batch(effects: Effects) -> None:
    """Write one batch of effects, then send its automated touches."""
    if effects.empty():
        return
    await workflow.execute_local_activity_method(
        StoreActivities.apply_effects,
        effects,
        start_to_close_timeout=STORE_TIMEOUT,
        retry_policy=STORE_RETRY,
        summary=f"record {len(effects.timeline)} timeline rows",
    )
    for task in effects.open_tasks:
        if task.touchpoint in REPORT_TOUCHPOINTS and workflow.patched(REPORT_ACTIVITY_PATCH):
            await _attach_report(ReportRequest(account=task.account, task_key=task.key, touchpoint=task.touchpoint, on=task.due))
    if effects.deliveries:
        await workflow.execute_activity_method(
            DeliveryActivities.send_deliveries,
            DeliveryBatch(keys=[d.key for d in effects.deliveries]),
            start_to_close_timeout=timedelta(minutes=2),
            # A worker that dies mid-batch is noticed in seconds, not at the batch timeout.
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=DELIVERY_RETRY,
            summary=", ".join(sorted({d.touchpoint for d in effects.deliveries})),
        )


async def _attach_report(request: ReportRequest) -> None:
    try:
        await workflow.execute_activity_method(
            StoreActivities.attach_report,
            request,
            start_to_close_timeout=REPORT_TIMEOUT,
            retry_policy=REPORT_RETRY,
            summary=f"value-realization report for {request.touchpoint}",
        )
    except ActivityError as err:
        # The task is open either way; a TA can still run `journey report` by hand.
        workflow.logger.warning("report for %s not attached: %s", request.task_key, err.cause)
