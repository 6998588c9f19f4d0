"""A delivery as it will be sent: the email's headers and text, or the Slack post's
document, exactly as the transports build them (`journey deliveries show`)."""

from __future__ import annotations

import json

from journey.config import DeliverySettings
from journey.delivery.slack import slack_document
from journey.delivery.smtp import email_message
from journey.delivery.transport import Message
from journey.store.records import OutboxRecord

# The email headers shown, in the order people read them.
SHOWN_HEADERS = ("From", "To", "Subject", "Message-ID")


def rendered(record: OutboxRecord, settings: DeliverySettings) -> str:
    """The message of `record` as its transport would send it now: for email the headers
    and the text (decoded from the wire's quoted-printable), for Slack the JSON posted."""
    message = Message(key=record.key, recipient=record.recipient, subject=record.subject, body=record.body)
    if record.channel == "slack":
        return json.dumps(slack_document(message), indent=2, ensure_ascii=False)
    mail, _ = email_message(settings, message)
    headers = "\n".join(f"{name}: {mail[name]}" for name in SHOWN_HEADERS)
    return f"{headers}\n\n{mail.get_content().rstrip()}"
