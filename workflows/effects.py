"""Writing a batch of effects from a workflow: the store first, then its automated touches.

The touches go out after the batch is written, through an activity the workflow starts
and does not wait for (`Sends`): whatever the receivers do, the workflow's next step, and
the update that caused the batch, go on as soon as the effects are recorded. The workflow
waits for the sends still out only before it continues as new or ends. A send that still
fails when its retries run out leaves its rows `failed` (see journey.delivery.outbox) and
never fails the workflow.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.messages import DeliveryBatch, ReportRequest
    from activities.store import StoreActivities
    from journey.domain.effects import Effects
    from journey.domain.touches import PLAN_TOUCHPOINTS, REPORT_TOUCHPOINTS

# Value reports are rendered by an activity of their own, not inside the 30-second local
# activity that writes the effects. Journeys recorded before that did it inside.
REPORT_ACTIVITY_PATCH = "value-report-activity"
# The account-plan task opens with the plan of its quarter attached, by the same activity;
# journeys recorded before opened it bare.
PLAN_ATTACHED_PATCH = "account-plan-attached"
# A report or plan renders in a few seconds; the timeout is also how long a journey waits
# for the retry when the worker writing one dies (the journey's flush waits for it).
REPORT_TIMEOUT = timedelta(seconds=30)
REPORT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=5)

# Sends started without waiting for them, so no update waits for a receiver. Journeys
# recorded before awaited each send inside the step that wrote it.
SEND_AFTER_PATCH = "deliveries-not-awaited"
# Each send starts at its touches' send_after (the playbook's send window in the account's
# timezone), on the journey's business clock. Journeys recorded before sent at once.
SEND_WINDOWS_PATCH = "send-windows"

STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# For a receiver that is down or says "later": backoff from 5 s doubling to 10 min, 50
# attempts, about 7 hours in all, so an outage of some hours costs no touch. The last
# attempt marks what still fails `failed` (DeliverySettings.delivery_attempts lowers the
# count on a worker); a rejection is `failed` at its first attempt.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=50,
)
DELIVERY_TIMEOUT = timedelta(minutes=2)
# A worker that dies mid-batch is noticed in seconds, not at the batch timeout.
DELIVERY_HEARTBEAT = timedelta(seconds=10)


class Sends:
    """The sends a workflow started and that have not ended yet."""

    def __init__(self) -> None:
        self._open: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        return not self._open

    def start(self, batch: DeliveryBatch, summary: str, send_after: datetime | None = None, day_offset: int = 0) -> None:
        """Send `batch` in the background; with `send_after` (business time, UTC) not
        before that moment of the journey's clock, shifted by `day_offset` days."""
        send = _deliver(batch, summary) if send_after is None else _deliver_at(batch, summary, send_after, day_offset)
        task = asyncio.create_task(send)
        self._open.add(task)
        task.add_done_callback(self._open.discard)

    async def settled(self) -> None:
        """Wait until every send started has ended (each within DELIVERY_RETRY)."""
        await workflow.wait_condition(lambda: self.idle)


async def apply_effects_batch(effects: Effects, sends: Sends, day_offset: int = 0) -> None:
    """Write one batch of effects, then start sending its automated touches, each group
    at its send_after on the journey's business clock (`day_offset` days from the server's)."""
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
        if task.touchpoint in REPORT_TOUCHPOINTS and workflow.patched(_attach_patch(task.touchpoint)):
            await _attach_report(ReportRequest(account=task.account, task_key=task.key, touchpoint=task.touchpoint, on=task.due))
    if effects.deliveries:
        # A touch held for review is sent once a person approves it.
        outgoing = [d for d in effects.deliveries if not d.held]
        if outgoing:
            batch = DeliveryBatch(keys=[d.key for d in outgoing])
            summary = ", ".join(sorted({d.touchpoint for d in outgoing}))
            if workflow.patched(SEND_AFTER_PATCH):
                if workflow.patched(SEND_WINDOWS_PATCH):
                    _start_in_windows(sends, [(d.key, d.touchpoint, d.send_after) for d in outgoing], day_offset)
                else:
                    sends.start(batch, summary)
            else:
                await _deliver(batch, summary)
    # Touches approved in review go out in their send window like any other.
    approved = [(c.key, c.touchpoint, c.send_after) for c in effects.delivery_changes if c.status == "pending"]
    if approved:
        _start_in_windows(sends, approved, day_offset)


def _start_in_windows(sends: Sends, outgoing: list[tuple[str, str, datetime | None]], day_offset: int) -> None:
    """One send per send_after (key, touchpoint, send_after), each at its moment."""
    for send_after, group in _by_send_after(outgoing):
        keys = DeliveryBatch(keys=[key for key, _, _ in group])
        sends.start(keys, ", ".join(sorted({touchpoint for _, touchpoint, _ in group})), send_after, day_offset)


def _attach_patch(touchpoint: str) -> str:
    """The patch that brought the attachment of this touchpoint's document."""
    return PLAN_ATTACHED_PATCH if touchpoint in PLAN_TOUCHPOINTS else REPORT_ACTIVITY_PATCH


Outgoing = tuple[str, str, datetime | None]


def _by_send_after(outgoing: list[Outgoing]) -> list[tuple[datetime | None, list[Outgoing]]]:
    """The deliveries (key, touchpoint, send_after) grouped by their send_after, earliest
    first (at once first of all): each group is one send, so no row waits for a later
    window than its own."""
    groups: dict[datetime | None, list[Outgoing]] = {}
    for one in outgoing:
        groups.setdefault(one[2], []).append(one)
    return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or datetime.min.replace(tzinfo=UTC)))


async def _deliver_at(batch: DeliveryBatch, summary: str, send_after: datetime, day_offset: int) -> None:
    """Wait on a workflow timer until `send_after` of the journey's business clock, then
    send; the batch carries that business time, so the sender sends what is due by then."""
    offset = timedelta(days=day_offset)
    wait = send_after - offset - workflow.now()
    if wait > timedelta(0):
        await workflow.sleep(wait, summary=f"send window: {summary} at {send_after.isoformat()}")
    await _deliver(batch.model_copy(update={"at": workflow.now() + offset}), summary)


async def _deliver(batch: DeliveryBatch, summary: str) -> None:
    try:
        await workflow.execute_activity_method(
            DeliveryActivities.send_deliveries,
            batch,
            start_to_close_timeout=DELIVERY_TIMEOUT,
            heartbeat_timeout=DELIVERY_HEARTBEAT,
            retry_policy=DELIVERY_RETRY,
            summary=summary,
        )
    except ActivityError as err:
        # Only when the last attempt itself broke off (its worker died): its rows keep the
        # status they had (`journey deliveries` lists them); the journey goes on.
        workflow.logger.warning("deliveries %s not settled: %s", summary, err.cause)


async def _attach_report(request: ReportRequest) -> None:
    document = "account plan" if request.touchpoint in PLAN_TOUCHPOINTS else "value-realization report"
    try:
        await workflow.execute_activity_method(
            StoreActivities.attach_report,
            request,
            start_to_close_timeout=REPORT_TIMEOUT,
            retry_policy=REPORT_RETRY,
            summary=f"{document} for {request.touchpoint}",
        )
    except ActivityError as err:
        # The task is open either way; a TA can still run `journey report` or `journey plan` by hand.
        workflow.logger.warning("report for %s not attached: %s", request.task_key, err.cause)
