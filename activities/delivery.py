"""The activity that sends a journey's automated touches from the outbox."""

from __future__ import annotations

from temporalio import activity

from activities.messages import DeliveryBatch
from activities.retries import last_attempt
from journey.delivery.outbox import DeliveryReport, OutboxSender
from journey.domain import names


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

