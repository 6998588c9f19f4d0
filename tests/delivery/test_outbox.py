"""The outbox sender (journey/delivery/outbox.py): claim, hand over, record; never twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from temporalio.testing import ActivityEnvironment

from journey.delivery import slack as slack_module
from journey.delivery.outbox import DeliveryFailed
from journey.delivery.outbox import OutboxSender as DeliveryActivities
from journey.delivery.smtp import message_id
from journey.delivery.transport import Superseded
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from journey.store.schema import outbox
from journey.temporal.devserver import free_port
from tests.helpers.journeys import quiet_settings
from tests.helpers.local_servers import SlackRecorder, SmtpRecorder


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


def test_a_row_left_sending_is_taken_over_and_sent_once(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    """Claimed, then the worker died before the handover: the receiver never had the
    whole message, so the next attempt sends it."""
    slack, smtp = servers
    keys = ["acme/license-key/2026-03-02", "acme/red-1/red-alert"]
    store.apply_effects(Effects(account="acme", deliveries=[delivery(keys[0]), delivery(keys[1], "slack")]))
    stale = [store.claim_delivery(key) for key in keys]
    assert all(r is not None and r.status == "sending" for r in stale)
    report = deliver(sender, keys)
    assert (report.sent, report.in_doubt) == (2, 0)
    assert smtp.message_ids() == {message_id(keys[0]): 1} and slack.keys() == {keys[1]: 1}
    assert [row(store, key)["status"] for key in keys] == ["sent", "sent"]


def test_a_row_left_confirming_is_in_doubt_not_resent(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    """Handed over, then the worker died before recording the answer: it may have arrived."""
    _, smtp = servers
    key = "acme/license-key/2026-03-02"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key)]))
    claimed = store.claim_delivery(key)
    assert claimed is not None and store.hand_over(key, str(claimed.claim))
    report = deliver(sender, [key])
    assert (report.sent, report.in_doubt) == (0, 1)
    stored = row(store, key)
    assert stored["status"] == "unknown" and "may or may not have arrived" in str(stored["last_error"])
    assert len(smtp) == 0
    assert deliver(sender, [key]).in_doubt == 0  # reported once
    assert [r.key for r in store.deliveries(statuses=["unknown"])] == [key]


@pytest.mark.parametrize("channel", ["email", "slack"])
def test_a_sender_that_lost_its_claim_drops_the_unfinished_message(
    store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder], channel: str
) -> None:
    """A slow attempt still alive when its retry took the row over: at the handover it
    finds the claim gone and closes the connection mid-message; the receiver drops it."""
    slack, smtp = servers
    key = "acme/red-1/red-alert" if channel == "slack" else "acme/nurture-email/2026-03-02"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key, channel)]))
    slow = store.claim_delivery(key)
    assert slow is not None

    def hand_over() -> None:
        assert store.claim_delivery(key) is not None  # the retry takes the row over
        if not store.hand_over(key, str(slow.claim)):
            raise Superseded(key)

    with pytest.raises(Superseded):
        sender._send(slow, hand_over)
    time.sleep(0.3)  # let the receiver notice the dropped connection
    assert len(slack) + len(smtp) == 0
    assert deliver(sender, [key]).sent == 1
    received = slack.keys() if channel == "slack" else smtp.message_ids()
    assert received == {key if channel == "slack" else message_id(key): 1}


def test_a_receiver_silent_after_the_whole_message_leaves_it_in_doubt(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message arrived and the answer never came: not resent (it did arrive)."""
    monkeypatch.setattr(slack_module, "SEND_TIMEOUT_S", 0.5)
    key = "acme/red-2/red-alert"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key, "slack")]))
    with SlackRecorder(delay=2.0) as slack:
        silent = DeliveryActivities(store, replace(quiet_settings(), slack_webhook_url=slack.url))
        report = deliver(silent, [key])
        assert (report.sent, report.in_doubt) == (0, 1)
        assert row(store, key)["status"] == "unknown"
        assert deliver(silent, [key]).sent == 0
        assert slack.keys() == {key: 1}


def test_a_webhook_without_100_continue_still_gets_the_message(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTP/1.0 server ignores `Expect: 100-continue`; the body follows after a pause."""
    monkeypatch.setattr(slack_module, "CONTINUE_WAIT_S", 0.2)
    bodies: list[dict[str, object]] = []

    class OldServer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OldServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        key = "acme/red-3/red-alert"
        store.apply_effects(Effects(account="acme", deliveries=[delivery(key, "slack")]))
        url = f"http://127.0.0.1:{server.server_address[1]}/hook?team=cs"
        report = deliver(DeliveryActivities(store, replace(quiet_settings(), slack_webhook_url=url)), [key])
        assert report.sent == 1 and [b["journey_key"] for b in bodies] == [key]
    finally:
        server.shutdown()
        server.server_close()


def test_network_error_puts_the_row_back_for_the_retry(store: Store, sender: DeliveryActivities, servers: tuple[SlackRecorder, SmtpRecorder]) -> None:
    _, smtp = servers
    key = "acme/nurture-email/2026-03-09"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key)]))
    unreachable = DeliveryActivities(store, replace(sender.settings, smtp_port=free_port()))
    with pytest.raises(DeliveryFailed, match="delivery acme/nurture-email/2026-03-09 failed"):
        deliver(unreachable, [key])
    assert (row(store, key)["status"], row(store, key)["attempts"]) == ("pending", 1)
    assert deliver(sender, [key]).sent == 1
    assert smtp.message_ids() == {message_id(key): 1}


def test_not_configured_is_recorded_as_failed(store: Store) -> None:
    key = "acme/red-9/red-alert"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(key, "slack")]))
    report = deliver(DeliveryActivities(store, quiet_settings()), [key])
    assert (report.sent, report.failed) == (0, 1)
    assert row(store, key)["status"] == "failed" and "JOURNEY_SLACK_WEBHOOK_URL" in str(row(store, key)["last_error"])


def test_message_id_is_a_valid_msg_id() -> None:
    assert message_id("acme/enablement/2026-03-02@0.5") == "<acme.enablement.2026-03-02+0.5@journey>"
