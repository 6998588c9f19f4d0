"""The activities that send automated touches from the outbox: a journey's batch, and the
sweep of the rows whose send window has opened with no journey timer behind them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from temporalio import activity

from activities.messages import DeliveryBatch, DeliverySweepInput
from activities.retries import last_attempt
from journey.delivery.outbox import DeliveryFailed, DeliveryReport, OutboxSender
from journey.domain import names

log = logging.getLogger(__name__)

# Attempts a row the sweep sends gets (one per sweep, every few minutes) unless
# JOURNEY_DELIVERY_ATTEMPTS says otherwise; as many as a journey's own send gets.
SWEEP_ATTEMPTS = 50


class DeliveryActivities:
    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender

    @activity.defn(name=names.Activity.SEND_DELIVERIES)
    def send_deliveries(self, batch: DeliveryBatch) -> DeliveryReport:
        """Send the rows still to be sent, heartbeating once per key (a worker that dies
        mid-batch is noticed in seconds and the retry sends the rest). On the last attempt
        a row still failing is marked `failed` and the activity succeeds: the journey is
        told what happened instead of an error."""
        return self.sender.deliver(
            batch.keys,
            heartbeat=activity.heartbeat,
            last_attempt=last_attempt(self.sender.settings.delivery_attempts),
            at=batch.at,
        )

    @activity.defn(name=names.Activity.SEND_DUE_DELIVERIES)
    def send_due_deliveries(self, request: DeliverySweepInput) -> DeliveryReport:
        """Send the pending rows whose send window has opened by `request.at`: broadcasts
        that waited for it, touches approved in review, emails a weekly cap put off to next
        week (a journey's own touches go on its timers; should the sweep meet one first,
        the claim lets only one sender hand it over). What fails for now stays pending
        for the next sweep, and is `failed` once its attempts reach the limit."""
        at = request.at or datetime.now(UTC)
        rows = self.sender.store.due_deliveries(at)
        limit = self.sender.settings.delivery_attempts or SWEEP_ATTEMPTS
        final = [row.key for row in rows if row.attempts + 1 >= limit]
        again = [row.key for row in rows if row.attempts + 1 < limit]
        report = self.sender.deliver(final, heartbeat=activity.heartbeat, last_attempt=limit, at=at)
        try:
            more = self.sender.deliver(again, heartbeat=activity.heartbeat, at=at)
        except DeliveryFailed as err:
            # Pending again; the next sweep tries them (the outbox counts their attempts).
            log.warning("delivery sweep: %s", err)
            more = DeliveryReport()
        for field in DeliveryReport.model_fields:
            setattr(report, field, getattr(report, field) + getattr(more, field))
        return report
