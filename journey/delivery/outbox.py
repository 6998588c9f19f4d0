"""The outbox sender: automated touches (Slack posts, emails) sent exactly once.

The outbox row is written (idempotently, by account/touchpoint/occurrence key) before
the sender runs. Sending one row is a handover in three steps:

1. claim it under a fresh token (pending -> sending, one conditional UPDATE);
2. open the conversation with the receiver up to the point where it has agreed to take
   the message but cannot have it yet: SMTP up to the end of the message text without
   the terminating ".", Slack up to its `100 Continue` for the request headers;
3. hand over (sending -> confirming, conditional on the token), send the rest, and
   record the receiver's answer (sent).

A receiver acts on a message only once it is complete (RFC 5321 discards a transaction
whose connection drops before the "."; an HTTP server cannot read a body it never got),
so a row still `sending` has not been delivered by anyone: a later attempt takes it
over and sends it, and the earlier sender, should it still be alive, fails the
conditional handover and drops its half-finished message. Retries, replays, restarted
workers and concurrent senders therefore send each row exactly once, except across one
window no sender can close alone: the receiver got the whole message and the sender
stopped (or the line went quiet) before its answer was recorded. Such a row is marked
`unknown` and never resent automatically (a duplicate reaches the customer; a row in
doubt is listed by `journey deliveries --in-doubt` for a person to settle). The key
travels with every message (`Idempotency-Key` and `journey_key` for Slack, the email's Message-ID) so a
receiver that deduplicates can settle it too.

A send that ends before its handover ends in one of two ways. The receiver rejected the
message for good (`Rejected`: SMTP 5xx such as 535 login refused, HTTP 4xx other than 408
and 429): the row is `failed` with the receiver's words at once, never retried. The line
failed or the receiver said "later" (refused connection, timeout, SMTP 4xx, HTTP 429 or
5xx): the row is `pending` again and the batch is retried, the other rows of the batch
still sent meanwhile; on the last attempt the caller allows (`last_attempt`) such a row
is `failed` instead, with its reason. Both happen before any handover, so neither can
leave a message delivered twice. Every such end is a warning in the log naming the key
and the reason.

With JOURNEY_OUTBOX_DIR the transport of both channels writes files
(`journey.delivery.files`): its handover is the rename that makes a file whole, and a
rewrite of the same key replaces the file with the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from journey.config import DeliverySettings
from journey.delivery.files import FileOutbox
from journey.delivery.slack import SlackWebhook
from journey.delivery.smtp import SmtpMailer
from journey.delivery.transport import Message, NotConfigured, Rejected, Superseded, Transport, Unanswered
from journey.store import Store
from journey.store.records import OutboxRecord

log = logging.getLogger(__name__)

IN_DOUBT = (
    "the whole message went out but the receiver's answer was never recorded (worker killed "
    "or the line went quiet): it may or may not have arrived, so it is not sent again automatically"
)


class DeliveryReport(BaseModel):
    sent: int = 0
    skipped: int = 0
    simulated: int = 0
    in_doubt: int = Field(default=0, description="handed over, the receiver's answer never recorded; not resent")
    failed: int = Field(default=0, description="rejected by the receiver, or still failing on the last attempt; not resent")
    waiting: int = Field(default=0, description="left pending: their send_after is still ahead")


class DeliveryFailed(Exception):
    """Sends failed before their handover for a reason that may pass (the line failed, the
    receiver said "later"): those rows are pending again and a later attempt sends them."""


class OutboxSender:
    """Sends outbox rows through one transport per channel; `dry_run` records them as
    simulated instead (a simulation, a benchmark). `on_outcome(channel, status)` is told
    each time a row ends in `sent`, `failed`, `unknown` or `simulated` (a worker's
    metrics)."""

    def __init__(
        self,
        store: Store,
        settings: DeliverySettings,
        dry_run: bool = False,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.dry_run = dry_run
        self.on_outcome = on_outcome
        self.transports: dict[str, Transport]
        if settings.outbox_dir is not None:
            self.transports = {channel: FileOutbox(settings, settings.outbox_dir, channel) for channel in ("slack", "email")}
        else:
            self.transports = {"slack": SlackWebhook(settings.slack_webhook_url), "email": SmtpMailer(settings)}

    def deliver(
        self,
        keys: list[str],
        heartbeat: Callable[[str], None] | None = None,
        *,
        last_attempt: int | None = None,
        at: datetime | None = None,
    ) -> DeliveryReport:
        """Send the outbox rows with these keys that are still to be sent; `heartbeat` is
        called with each key before it is sent (the activity's heartbeat). A row whose
        `send_after` is later than `at` (a journey's business time; default the clock's
        now) stays pending and is counted `waiting`: nothing goes before its send window.

        Raises `DeliveryFailed` after trying every key when some failed for a reason that
        may pass, unless this is the last attempt (`last_attempt`, its number): then those
        rows are `failed` too and the report counts them."""
        report = DeliveryReport()
        retry: list[str] = []
        for key in keys:
            if heartbeat is not None:
                heartbeat(key)
            row = self.store.claim_delivery(key, at)
            if row is None:
                if self._waiting(key, at):
                    report.waiting += 1
                    continue
                # Sent, given up, or handed over by a sender that never recorded the answer.
                if self.store.mark_in_doubt(key, IN_DOUBT):
                    log.warning("delivery %s in doubt: %s", key, IN_DOUBT)
                    report.in_doubt += 1
                    self._outcome(key, "unknown")
                report.skipped += 1
                continue
            claim = str(row.claim)
            if self.dry_run:
                self.store.mark_delivery(key, "simulated", claim=claim)
                report.simulated += 1
                self._outcome(row, "simulated")
                continue

            def hand_over(key: str = key, claim: str = claim) -> None:
                if not self.store.hand_over(key, claim):
                    raise Superseded(key)

            try:
                self._send(row, hand_over)
            except Superseded:
                report.skipped += 1
                continue
            except NotConfigured as err:
                self.store.mark_delivery(key, "failed", str(err), claim=claim)
                log.warning("delivery %s failed: %s", key, err)
                report.failed += 1
                self._outcome(row, "failed")
                continue
            except Rejected as err:
                self.store.mark_delivery(key, "failed", str(err), claim=claim)
                log.warning("delivery %s rejected: %s", key, err)
                report.failed += 1
                self._outcome(row, "failed")
                continue
            except Unanswered as err:
                self.store.mark_in_doubt(key, f"{IN_DOUBT} ({err})")
                log.warning("delivery %s in doubt: %s", key, err)
                report.in_doubt += 1
                self._outcome(row, "unknown")
                continue
            except Exception as err:  # refused for now, or the line failed before the handover
                reason = f"{type(err).__name__}: {err}"
                if last_attempt is not None:
                    self.store.mark_delivery(key, "failed", f"gave up after {last_attempt} attempts: {reason}", claim=claim)
                    log.warning("delivery %s failed for good after %d attempts: %s", key, last_attempt, reason)
                    report.failed += 1
                    self._outcome(row, "failed")
                else:
                    self.store.mark_delivery(key, "pending", reason, claim=claim)
                    log.warning("delivery %s failed, to be retried: %s", key, reason)
                    retry.append(f"delivery {key} failed: {reason}")
                continue
            self.store.mark_delivery(key, "sent", claim=claim)
            report.sent += 1
            self._outcome(row, "sent")
        if retry:
            more = f" (and {len(retry) - 1} more)" if len(retry) > 1 else ""
            raise DeliveryFailed(retry[0] + more)
        return report

    def _outcome(self, row: OutboxRecord | str, status: str) -> None:
        """Tell `on_outcome`; a row known only by its key is read for its channel."""
        if self.on_outcome is None:
            return
        if isinstance(row, str):
            found = self.store.deliveries(keys=[row])
            if not found:
                return
            row = found[0]
        self.on_outcome(row.channel, status)

    def _waiting(self, key: str, at: datetime | None) -> bool:
        found = self.store.deliveries(keys=[key], statuses=("pending",))
        moment = at or datetime.now(UTC)
        return bool(found) and found[0].send_after is not None and found[0].send_after > moment

    def _send(self, row: OutboxRecord, hand_over: Callable[[], None]) -> None:
        message = Message(key=row.key, recipient=row.recipient, subject=row.subject, body=row.body)
        self.transports[row.channel].send(message, hand_over)
