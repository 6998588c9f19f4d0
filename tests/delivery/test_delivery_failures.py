"""How a delivery ends when its receiver refuses or is down (journey/delivery/outbox.py).

A rejection (SMTP 5xx, HTTP 4xx other than 408/429) is `failed` at once with the
receiver's words; a failure that may pass (nobody listening, SMTP 4xx, HTTP 429/5xx) puts
the row back to `pending` for the retry, and on the last attempt makes it `failed` with
its reason. The other rows of the batch go out either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from journey.config import DeliverySettings
from journey.delivery.outbox import DeliveryFailed, DeliveryReport, OutboxSender
from journey.delivery.smtp import message_id
from journey.domain.effects import Effects
from journey.domain.errors import InputError
from journey.store import Store
from journey.temporal.devserver import free_port
from tests.delivery.test_outbox import delivery, row
from tests.helpers.journeys import quiet_settings
from tests.helpers.local_servers import SmtpRecorder
from tests.helpers.refusing_servers import LOGIN_REFUSED, AnsweringWebhook, RefusingSmtp

EMAIL = "acme/nurture-email/2026-03-02"
POST = "acme/red-1/red-alert"


def queue(store: Store, *keys: str) -> None:
    store.apply_effects(
        Effects(account="acme", deliveries=[delivery(k, "slack" if "/red-" in k else "email") for k in keys])
    )


def settings(*, slack: str | None = None, smtp_port: int | None = None, login: bool = False) -> DeliverySettings:
    return replace(
        quiet_settings(),
        slack_webhook_url=slack,
        smtp_host="127.0.0.1" if smtp_port else None,
        smtp_port=smtp_port or 25,
        smtp_user="journey" if login else None,
        smtp_password="wrong" if login else None,
    )


def outcome(store: Store, key: str) -> tuple[object, object, str]:
    found = row(store, key)
    return found["status"], found["attempts"], str(found["last_error"])


@pytest.fixture
def refusing_login() -> Iterator[RefusingSmtp]:
    with RefusingSmtp(free_port()) as server:
        yield server


def test_login_refused_fails_at_once_with_the_servers_words(store: Store, refusing_login: RefusingSmtp) -> None:
    queue(store, EMAIL)
    report = OutboxSender(store, settings(smtp_port=refusing_login.port, login=True)).deliver([EMAIL])
    assert report == DeliveryReport(failed=1)
    status, attempts, error = outcome(store, EMAIL)
    assert (status, attempts) == ("failed", 1)
    assert "login" in error and LOGIN_REFUSED in error
    # Failed is final: a later batch with the same key leaves it alone, the server unasked.
    knocks = refusing_login.attempts
    assert OutboxSender(store, settings(smtp_port=refusing_login.port, login=True)).deliver([EMAIL]).skipped == 1
    assert refusing_login.attempts == knocks > 0


@pytest.mark.parametrize(
    ("reply", "status"),
    [("550 5.1.1 no such mailbox", "failed"), ("452 4.2.2 mailbox full, try later", "pending")],
)
def test_smtp_5xx_is_final_and_4xx_is_retried(store: Store, reply: str, status: str) -> None:
    queue(store, EMAIL)
    with RefusingSmtp(free_port(), rcpt_reply=reply) as server:
        sender = OutboxSender(store, settings(smtp_port=server.port))
        if status == "pending":
            with pytest.raises(DeliveryFailed, match=reply.split()[0]):
                sender.deliver([EMAIL])
        else:
            assert sender.deliver([EMAIL]).failed == 1
    found, attempts, error = outcome(store, EMAIL)
    assert (found, attempts) == (status, 1) and f"RCPT TO: {reply}" in error


@pytest.mark.parametrize(
    ("answer", "body", "status"),
    [(404, "no_service", "failed"), (403, "invalid_token", "failed"), (429, "rate_limited", "pending"), (503, "", "pending")],
)
def test_webhook_4xx_is_final_and_429_or_5xx_is_retried(store: Store, answer: int, body: str, status: str) -> None:
    queue(store, POST)
    with AnsweringWebhook(answer, body) as hook:
        sender = OutboxSender(store, settings(slack=hook.url))
        if status == "pending":
            with pytest.raises(DeliveryFailed, match=f"HTTP {answer}"):
                sender.deliver([POST])
        else:
            assert sender.deliver([POST]).failed == 1
    found, attempts, error = outcome(store, POST)
    assert (found, attempts) == (status, 1)
    assert f"Slack answered HTTP {answer}" in error and body in error


def test_a_receiver_down_is_retried_then_failed_on_the_last_attempt(store: Store) -> None:
    queue(store, POST)
    sender = OutboxSender(store, settings(slack=f"http://127.0.0.1:{free_port()}/hook"))
    with pytest.raises(DeliveryFailed, match="ConnectionRefusedError"):
        sender.deliver([POST])
    assert outcome(store, POST)[:2] == ("pending", 1)
    report = sender.deliver([POST], last_attempt=2)
    assert report == DeliveryReport(failed=1)
    status, attempts, error = outcome(store, POST)
    assert (status, attempts) == ("failed", 2)
    assert error.startswith("gave up after 2 attempts: ConnectionRefusedError")


def test_a_dead_channel_does_not_hold_back_the_other(store: Store) -> None:
    """Slack down: the email of the same batch still goes out, once; only the post is retried."""
    queue(store, POST, EMAIL)
    with SmtpRecorder(free_port()) as smtp:
        both = replace(settings(slack=f"http://127.0.0.1:{free_port()}/hook"), smtp_host="127.0.0.1", smtp_port=smtp.port)
        with pytest.raises(DeliveryFailed, match=f"delivery {POST} failed"):
            OutboxSender(store, both).deliver([POST, EMAIL])
        assert smtp.message_ids() == {message_id(EMAIL): 1}
    assert outcome(store, EMAIL)[0] == "sent" and outcome(store, POST)[0] == "pending"


def test_delivery_attempts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_DELIVERY_ATTEMPTS", raising=False)
    assert DeliverySettings.from_env().delivery_attempts is None
    monkeypatch.setenv("JOURNEY_DELIVERY_ATTEMPTS", "3")
    assert DeliverySettings.from_env().delivery_attempts == 3
    for bad in ("0", "-1", "two", "1e3", "1001"):
        monkeypatch.setenv("JOURNEY_DELIVERY_ATTEMPTS", bad)
        with pytest.raises(InputError, match="JOURNEY_DELIVERY_ATTEMPTS"):
            DeliverySettings.from_env()
