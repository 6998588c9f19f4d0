"""Data in a message cannot make Slack links or mentions, nor email headers or recipients:
sent to the local Slack and SMTP servers, it arrives as the text it is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from temporalio.testing import ActivityEnvironment

from journey.delivery.outbox import OutboxSender
from journey.delivery.smtp import message_id
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from journey.store.schema import outbox
from journey.temporal.devserver import free_port
from tests.helpers.journeys import quiet_settings
from tests.helpers.local_servers import SlackRecorder, SmtpRecorder


@pytest.fixture
def servers() -> Iterator[tuple[SlackRecorder, SmtpRecorder]]:
    with SlackRecorder() as slack, SmtpRecorder(free_port()) as smtp:
        yield slack, smtp


@pytest.fixture
def sender(store: Store, servers: tuple[SlackRecorder, SmtpRecorder]) -> OutboxSender:
    slack, smtp = servers
    settings = replace(quiet_settings(), slack_webhook_url=slack.url, smtp_host="127.0.0.1", smtp_port=smtp.port)
    return OutboxSender(store, settings)


def send(store: Store, sender: OutboxSender, *deliveries: Delivery) -> None:
    store.apply_effects(Effects(account="acme", deliveries=list(deliveries)))
    ActivityEnvironment().run(sender.deliver, [d.key for d in deliveries])


def delivery(key: str, channel: str, recipient: str, subject: str, body: str = "Body") -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel=channel,  # type: ignore[arg-type]
        recipient=recipient, subject=subject, body=body, due=date(2026, 3, 2),
    )


def status_of(store: Store, key: str) -> tuple[str, str | None]:
    with store.engine.connect() as conn:
        found = conn.execute(outbox.select().where(outbox.c.key == key)).one()._mapping
    return found["status"], found["last_error"]


def test_slack_text_makes_no_link_or_mention(store: Store, sender: OutboxSender, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    slack, _ = servers
    key = "acme/red-alert/2026-03-02"
    send(store, sender, delivery(key, "slack", "#red-accounts", "Red: <!channel> Acme & Co\n*x*", "<https://evil.example|click> <@U123>"))
    assert slack.by_key()[key].raw["text"] == (
        "*Red: &lt;!channel&gt; Acme &amp; Co *x**\n&lt;https://evil.example|click&gt; &lt;@U123&gt;"
    )


def test_email_subject_cannot_add_a_header(store: Store, sender: OutboxSender, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    _, smtp = servers
    key = "acme/nurture-email/2026-03-02"
    send(store, sender, delivery(key, "email", "chris@example.com", "Hello\r\nBcc: all@evil.example\r\n\r\nfake body"))
    received = smtp.by_key()[message_id(key)]
    assert received.subject == "Hello Bcc: all@evil.example fake body"
    assert received.recipient == "chris@example.com"
    assert status_of(store, key) == ("sent", None)


@pytest.mark.parametrize(
    "recipient",
    [
        "chris@example.com\r\nRCPT TO:<all@evil.example>",
        "chris@example.com, all@evil.example",
        "Chris <chris@example.com>",
        "tara\nBcc: all@evil.example",
    ],
)
def test_a_recipient_that_is_not_one_address_fails_at_once(
    store: Store, sender: OutboxSender, servers: tuple[SlackRecorder, SmtpRecorder], recipient: str
) -> None:
    _, smtp = servers
    key = "acme/nurture-email/2026-03-02"
    send(store, sender, delivery(key, "email", recipient, "Hello"))
    status, reason = status_of(store, key)
    assert status == "failed" and reason is not None and "not a single email address" in reason
    assert "\n" not in reason and "\r" not in reason
    assert len(smtp) == 0


def test_a_handle_with_an_odd_character_still_gets_a_valid_message_id() -> None:
    assert message_id("acme/red-1/escalation/sam ae\r\n<x>") == "<acme.red-1.escalation.sam-ae---x-@journey>"
    assert message_id("acme/enablement/2026-03-02@0.5") == "<acme.enablement.2026-03-02+0.5@journey>"
