"""Automated touches: Slack incoming webhooks and SMTP email, sent from the outbox.

The outbox row is written (idempotently, by account/touchpoint/occurrence key) before
this activity runs. Each row is then claimed (pending -> sending, one conditional UPDATE),
sent, and its outcome recorded (sent; pending again after a network error, so a retry
sends it; failed when the channel is not configured). Retries, replays, restarted
workers and concurrent senders therefore never send a row twice -- with one exception
no sender can close: a worker killed after the message left but before `sent` was
recorded. The next attempt finds that row still `sending` and cannot tell whether it
arrived; it marks it `unknown` rather than risk a second copy (a duplicate reaches the
customer; a row in doubt is visible to us). Measured with a worker SIGKILLed under slow
local servers (tests/workflows/test_delivery_crash.py): before the claim, every send in
flight at a kill went out twice (24 duplicates in 3 runs of 60 touches); after it, none
in 11 runs, and 3 of the 71 rows left in doubt had in fact not arrived. Receivers that deduplicate can go further: the key travels with
every message (`journey_key` in the Slack JSON, the email's Message-ID).
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from journey.config import DeliverySettings
from journey.store import Store
from workflows.messages import DeliveryBatch, DeliveryReport

log = logging.getLogger(__name__)


def message_id(key: str) -> str:
    """The outbox key as an email Message-ID, so a receiving system can spot a resend.

    `/` becomes `.` and `@` (a milestone: `acme/enablement/2026-03-02@0.5`) becomes `+`:
    the left part of a Message-ID may not contain `@`.
    """
    return f"<{key.replace('/', '.').replace('@', '+')}@journey>"


IN_DOUBT = (
    "the sender stopped between sending and recording it (worker killed?): it may or may not "
    "have arrived, so it is not sent again automatically"
)


class NotConfigured(Exception):
    """The channel has no settings; retrying will not help."""


class DeliveryActivities:
    def __init__(self, store: Store, settings: DeliverySettings, dry_run: bool = False) -> None:
        self.store = store
        self.settings = settings
        self.dry_run = dry_run

    @activity.defn(name="send_deliveries")
    def send_deliveries(self, batch: DeliveryBatch) -> DeliveryReport:
        return self.deliver(batch.keys)

    def deliver(self, keys: list[str]) -> DeliveryReport:
        """Send the outbox rows with these keys that are still pending (inside an activity:
        it heartbeats once per key)."""
        report = DeliveryReport()
        for key in keys:
            activity.heartbeat(key)
            row = self.store.claim_delivery(key)
            if row is None:
                # Still `sending`: an earlier attempt claimed it and died before recording
                # the outcome. Sending again could deliver it twice; leave it for a person.
                if self.store.mark_in_doubt(key, IN_DOUBT):
                    log.warning("delivery %s in doubt: %s", key, IN_DOUBT)
                    report.in_doubt += 1
                report.skipped += 1
                continue
            if self.dry_run:
                self.store.mark_delivery(key, "simulated")
                report.simulated += 1
                continue
            try:
                self._send(row)
            except NotConfigured as err:
                self.store.mark_delivery(key, "failed", str(err))
                report.skipped += 1
                continue
            except Exception as err:  # network trouble: let Temporal retry the batch
                self.store.mark_delivery(key, "pending", f"{type(err).__name__}: {err}")
                raise ApplicationError(f"delivery {key} failed: {type(err).__name__}: {err}") from err
            self.store.mark_delivery(key, "sent")
            report.sent += 1
        return report

    def _send(self, row: dict[str, Any]) -> None:
        if row["channel"] == "slack":
            self._post_slack(row)
        else:
            self._send_email(row)

    def _post_slack(self, row: dict[str, Any]) -> None:
        url = self.settings.slack_webhook_url
        if not url:
            raise NotConfigured("Slack is not configured (set JOURNEY_SLACK_WEBHOOK_URL)")
        body = json.dumps(
            {
                "text": f"*{row['subject']}*\n{row['body']}",
                "journey_key": row["key"],
                "channel": row["recipient"],
            }
        ).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (configured URL)
            if response.status >= 300:
                raise RuntimeError(f"Slack answered HTTP {response.status}")

    def _send_email(self, row: dict[str, Any]) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise NotConfigured("email is not configured (set JOURNEY_SMTP_HOST)")
        recipient = str(row["recipient"])
        if "@" not in recipient:
            recipient = f"{recipient}@{settings.email_domain}"
        message = EmailMessage()
        message["From"] = settings.email_from
        message["To"] = recipient
        message["Subject"] = row["subject"]
        message["Message-ID"] = message_id(row["key"])
        message.set_content(row["body"])
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
