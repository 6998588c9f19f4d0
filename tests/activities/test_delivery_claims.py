"""The outbox sender (activities/delivery.py): claim, send, record; never twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities, message_id
from journey.models import Delivery, Effects
from journey.store import Store, outbox
from tests.conftest import free_port, quiet_settings
from tests.local_servers import SlackRecorder, SmtpRecorder


def delivery(key: str, channel: str = "email") -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel=channel,  # type: ignore[arg-type]
        recipient="#red-accounts" if channel == "slack" else "chris@example.com",
        subject=f"Subject of {key}", body="Body", due=date(2026, 3, 2),
    )


def row(store: Store, key: str) -> dict[str, object]:
    with store.engine.connect() as conn:
        return dict(conn.execute(outbox.select().where(outbox.c.key == key)).one()._mapping)


@pytest.fixture
def servers() -> Iterator[tuple[SlackRecorder, SmtpRecorder]]:
    with SlackRecorder(delay=0.2) as slack, SmtpRecorder(free_port(), delay=0.2) as smtp:
        yield slack, smtp


@pytest.fixture
def sender(store: Store, servers: tuple[SlackRecorder, SmtpRecorder]) -> DeliveryActivities:
    slack, smtp = servers
    settings = replace(quiet_settings(), slack_webhook_url=slack.url, smtp_host="127.0.0.1", smtp_port=smtp.port)
    return DeliveryActivities(store, settings)


def deliver(sender: DeliveryActivities, keys: list[str]):  # type: ignore[no-untyped-def]
    return ActivityEnvironment().run(sender.deliver, keys)


def test_each_row_goes_out_once(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    slack, smtp = servers
    keys = ["acme/nurture-email/2026-03-02", "acme/red-1/red-alert"]
    store.apply_effects(Effects(account="acme", deliveries=[delivery(keys[0]), delivery(keys[1], "slack")]))
    first = deliver(sender, keys)
    again = deliver(sender, keys)
    assert (first.sent, again.sent, again.skipped, again.in_doubt) == (2, 0, 2, 0)
    assert smtp.message_ids() == {message_id(keys[0]): 1}
    assert slack.keys() == {keys[1]: 1}
    assert [(row(store, k)["status"], row(store, k)["attempts"]) for k in keys] == [("sent", 1), ("sent", 1)]


def test_concurrent_senders_send_once(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    """A retry started while a slow attempt is still alive: the claim admits one of them."""
    slack, _ = servers
    keys = [f"acme/red-{i}/red-alert" for i in range(5)]
    store.apply_effects(Effects(account="acme", deliveries=[delivery(k, "slack") for k in keys]))
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(deliver(sender, keys))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slack.keys() == {k: 1 for k in keys}
    assert sum(r.sent for r in reports) == 5


def test_a_row_left_sending_is_in_doubt_not_resent(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    _, smtp = servers
    key = "acme/license-key/2026-03-02"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key)]))
    assert store.claim_delivery(key) is not None  # an attempt claimed it, then its worker died
    report = deliver(sender, [key])
    assert (report.sent, report.in_doubt) == (0, 1)
    stored = row(store, key)
    assert stored["status"] == "unknown" and "may or may not have arrived" in str(stored["last_error"])
    assert len(smtp) == 0
    assert deliver(sender, [key]).in_doubt == 0  # reported once


def test_network_error_puts_the_row_back_for_the_retry(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    _, smtp = servers
    key = "acme/nurture-email/2026-03-09"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key)]))
    unreachable = DeliveryActivities(store, replace(sender.settings, smtp_port=free_port()))
    with pytest.raises(ApplicationError, match="delivery acme/nurture-email/2026-03-09 failed"):
        deliver(unreachable, [key])
    assert (row(store, key)["status"], row(store, key)["attempts"]) == ("pending", 1)
    assert deliver(sender, [key]).sent == 1
    assert smtp.message_ids() == {message_id(key): 1}


def test_not_configured_is_recorded_as_failed(store: Store) -> None:
    key = "acme/red-9/red-alert"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key, "slack")]))
    report = deliver(DeliveryActivities(store, quiet_settings()), [key])
    assert (report.sent, report.skipped) == (0, 1)
    assert row(store, key)["status"] == "failed" and "JOURNEY_SLACK_WEBHOOK_URL" in str(row(store, key)["last_error"])


def test_message_id_is_a_valid_msg_id() -> None:
    assert message_id("acme/enablement/2026-03-02@0.5") == "<acme.enablement.2026-03-02+0.5@journey>"
