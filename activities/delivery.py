"""Automated touches: Slack incoming webhooks and SMTP email, sent from the outbox.

The outbox row is written (idempotently, by account/touchpoint/occurrence key) before
this activity runs; here a row goes out only while it is still pending, so retries,
replays and restarted workers do not send it again.
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


class NotConfigured(Exception):
    """The channel has no settings; retrying will not help."""


class DeliveryActivities:
    def __init__(self, store: Store, settings: DeliverySettings, dry_run: bool = False) -> None:
        self.store = store
        self.settings = settings
        self.dry_run = dry_run

    @activity.defn(name="send_deliveries")
    def send_deliveries(self, batch: DeliveryBatch) -> DeliveryReport:
        report = DeliveryReport()
        for key in batch.keys:
            activity.heartbeat(key)
            row = self.store.claim_delivery(key)
            if row is None:
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
        # The outbox key doubles as Message-ID so a receiving system can spot a resend.
        message["Message-ID"] = f"<{row['key'].replace('/', '.')}@journey>"
        message.set_content(row["body"])
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
