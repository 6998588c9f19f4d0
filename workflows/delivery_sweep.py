"""`DeliverySweep`: every few minutes, send the outbox rows whose send window has opened.

Started by the Temporal Schedule `journey-deliveries` (see `journey.temporal.schedules`).
A journey sends its own touches on its own timers; this sweep sends what has no timer
behind it: broadcasts that waited for their accounts' send windows, touches approved in
review whose window was closed, emails a weekly per-contact cap put off to next week. One
activity; the outbox's claim lets each row go exactly once whoever sends it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.messages import DeliverySweepInput
    from journey.delivery.outbox import DeliveryReport
    from journey.domain import names


@workflow.defn(name=names.Workflow.DELIVERY_SWEEP)
class DeliverySweep:
    @workflow.run
    async def run(self, request: DeliverySweepInput) -> DeliveryReport:
        at = request.at or workflow.now()
        return await workflow.execute_activity_method(
            DeliveryActivities.send_due_deliveries,
            DeliverySweepInput(at=at),
            start_to_close_timeout=timedelta(minutes=10),
            # A worker that dies mid-sweep is noticed in seconds; the retry sends what is left.
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=3),
            summary=f"send the deliveries due by {at.isoformat(timespec='minutes')}",
        )
