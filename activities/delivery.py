"""Automated touches: Slack incoming webhooks and SMTP email, sent from the outbox.

The outbox row is written (idempotently, by account/touchpoint/occurrence key) before
this activity runs. Sending one row is a handover in three steps:

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
"""

from __future__ import annotations

import email.policy
import http.client
import json
import logging
import re
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from temporalio import activity
from temporalio.exceptions import ApplicationError

from journey.config import DeliverySettings
from journey.store import Store
from workflows.messages import DeliveryBatch, DeliveryReport

log = logging.getLogger(__name__)

# How long a receiver may take to answer any step of a send.
SEND_TIMEOUT_S = 10.0
# How long to wait for Slack's `100 Continue` before sending the body anyway, as RFC 9110
# asks of a client whose server may not implement it.
CONTINUE_WAIT_S = 5.0

IN_DOUBT = (
    "the whole message went out but the receiver's answer was never recorded (worker killed "
    "or the line went quiet): it may or may not have arrived, so it is not sent again automatically"
)


def message_id(key: str) -> str:
    """The outbox key as an email Message-ID, so a receiving system can spot a resend.

    `/` becomes `.` and `@` (a milestone: `acme/enablement/2026-03-02@0.5`) becomes `+`:
    the left part of a Message-ID may not contain `@`.
    """
    return f"<{key.replace('/', '.').replace('@', '+')}@journey>"


class NotConfigured(Exception):
    """The channel has no settings; retrying will not help."""


class Refused(Exception):
    """The receiver answered and did not take the message; a later attempt may succeed."""


class Superseded(Exception):
    """Another sender took the row over before the handover; it sends the message."""


class Unanswered(Exception):
    """The whole message went out and no answer came back: it may have arrived."""


HandOver = Callable[[], None]


class DeliveryActivities:
    def __init__(self, store: Store, settings: DeliverySettings, dry_run: bool = False) -> None:
        self.store = store
        self.settings = settings
        self.dry_run = dry_run

    @activity.defn(name="send_deliveries")
    def send_deliveries(self, batch: DeliveryBatch) -> DeliveryReport:
        return self.deliver(batch.keys)

    def deliver(self, keys: list[str]) -> DeliveryReport:
        """Send the outbox rows with these keys that are still to be sent (inside an
        activity it heartbeats once per key; `journey deliveries resend` calls it outside)."""
        report = DeliveryReport()
        for key in keys:
            if activity.in_activity():
                activity.heartbeat(key)
            row = self.store.claim_delivery(key)
            if row is None:
                # Sent, given up, or handed over by a sender that never recorded the answer.
                if self.store.mark_in_doubt(key, IN_DOUBT):
                    log.warning("delivery %s in doubt: %s", key, IN_DOUBT)
                    report.in_doubt += 1
                report.skipped += 1
                continue
            claim = str(row["claim"])
            if self.dry_run:
                self.store.mark_delivery(key, "simulated", claim=claim)
                report.simulated += 1
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
                report.skipped += 1
                continue
            except Unanswered as err:
                self.store.mark_in_doubt(key, f"{IN_DOUBT} ({err})")
                log.warning("delivery %s in doubt: %s", key, err)
                report.in_doubt += 1
                continue
            except Exception as err:  # refused, or the line failed before the handover: retry the batch
                self.store.mark_delivery(key, "pending", f"{type(err).__name__}: {err}", claim=claim)
                raise ApplicationError(f"delivery {key} failed: {type(err).__name__}: {err}") from err
            self.store.mark_delivery(key, "sent", claim=claim)
            report.sent += 1
        return report

    def _send(self, row: dict[str, Any], hand_over: HandOver) -> None:
        if row["channel"] == "slack":
            self._post_slack(row, hand_over)
        else:
            self._send_email(row, hand_over)

    def _post_slack(self, row: dict[str, Any], hand_over: HandOver) -> None:
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
        post_once(url, body, key=str(row["key"]), hand_over=hand_over)

    def _send_email(self, row: dict[str, Any], hand_over: HandOver) -> None:
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
        # Quoted-printable keeps the text 7-bit, so no server extension is needed to carry it.
        message.set_content(row["body"], cte="quoted-printable")
        mail_once(settings, message, recipient, hand_over=hand_over)


def post_once(url: str, body: bytes, *, key: str, hand_over: HandOver) -> None:
    """POST `body` to `url`, handing over once the server has answered `100 Continue` to
    the headers (or stayed silent for CONTINUE_WAIT_S) and before the body goes."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=SEND_TIMEOUT_S)
    try:
        connection.putrequest("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Expect", "100-continue")
        connection.putheader("Idempotency-Key", key)
        connection.endheaders()
        early = _interim_status(connection)
        if early is not None and early != http.client.CONTINUE:
            raise Refused(f"Slack answered HTTP {early} before the message")
        hand_over()
        try:
            connection.send(body)
            response = connection.getresponse()
            response.read()
        except OSError as err:
            raise Unanswered(f"{type(err).__name__}: {err}") from err
        if response.status >= 300:
            raise Refused(f"Slack answered HTTP {response.status}")
    finally:
        connection.close()


def _interim_status(connection: http.client.HTTPConnection) -> int | None:
    """The status of the server's first answer to the request headers; None if it said
    nothing within CONTINUE_WAIT_S."""
    sock = connection.sock
    assert sock is not None  # endheaders() connected it
    sock.settimeout(CONTINUE_WAIT_S)
    reader = sock.makefile("rb")
    try:
        status_line = reader.readline(65537)
        if not status_line:
            raise ConnectionError("Slack closed the connection before the message")
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[1].isdigit():
            raise ConnectionError(f"Slack answered {status_line[:80]!r}")
        status = int(fields[1])
        if status == http.client.CONTINUE:
            while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # the interim answer's headers, if any
        return status
    except TimeoutError:
        return None
    finally:
        reader.close()
        sock.settimeout(SEND_TIMEOUT_S)


def mail_once(settings: DeliverySettings, message: EmailMessage, recipient: str, *, hand_over: HandOver) -> None:
    """Send `message` over SMTP, handing over after the text and before the final "."."""
    text = message.as_bytes(policy=email.policy.SMTP)
    text = re.sub(rb"(?m)^\.", b"..", text)  # dot-stuffing (RFC 5321 4.5.2)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SEND_TIMEOUT_S)
    finished = False
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.ehlo_or_helo_if_needed()
        _expect(smtp.mail(settings.email_from), (250,), "MAIL FROM")
        _expect(smtp.rcpt(recipient), (250, 251), "RCPT TO")
        _expect(smtp.docmd("DATA"), (354,), "DATA")
        smtp.send(text)
        hand_over()
        try:
            smtp.send(b".\r\n")
            code, answer = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            raise Unanswered(f"{type(err).__name__}: {err}") from err
        _expect((code, answer), (250,), "the message")
        finished = True
    finally:
        if finished:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        else:
            # Closing without the final "." (never QUIT, which would become message text)
            # makes the server drop the unfinished message.
            smtp.close()


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
    code, answer = reply
    if code not in codes:
        raise Refused(f"SMTP server refused {step}: {code} {answer.decode(errors='replace')}")
