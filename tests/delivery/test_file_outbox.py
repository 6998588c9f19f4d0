"""The file channel (JOURNEY_OUTBOX_DIR): touches written as `.eml` and `.json` files,
one per key, 0600, whole or not at all, the same bytes when written again."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import stat
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from journey.config import DeliverySettings
from journey.delivery.files import FileOutbox, file_name
from journey.delivery.outbox import OutboxSender
from journey.delivery.smtp import message_id
from journey.delivery.transport import Message, Superseded
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from tests.helpers.journeys import quiet_settings

EMAIL = "acme/nurture-email/2026-03-09"
SLACK = "acme/red-1/red-alert"
MILESTONE = "acme/enablement/2026-03-02@0.5"


def delivery(key: str, channel: str = "email", recipient: str = "chris@customer.example") -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel=channel,  # type: ignore[arg-type]
        recipient="#red-accounts" if channel == "slack" else recipient,
        subject="Welcome, <b>Acme</b>\nBcc: evil@example.com", body="Hello <!channel> & team\n.\nBye", due=date(2026, 3, 9),
    )


def file_settings(directory: Path) -> DeliverySettings:
    return replace(quiet_settings(), outbox_dir=directory)


def status(store: Store, key: str) -> tuple[str, int, str | None]:
    row = store.deliveries(keys=[key])[0]
    return row.status, row.attempts, row.last_error


def test_touches_are_written_as_files(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "home" / "outbox"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(EMAIL), delivery(SLACK, "slack"), delivery(MILESTONE)]))
    report = OutboxSender(store, file_settings(directory)).deliver([EMAIL, SLACK, MILESTONE])
    assert (report.sent, report.failed) == (3, 0)
    assert sorted(p.name for p in directory.iterdir()) == [
        "acme.enablement.2026-03-02+0.5.eml", "acme.nurture-email.2026-03-09.eml", "acme.red-1.red-alert.json",
    ]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {0o600}
    assert status(store, EMAIL)[:2] == ("sent", 1)

    mail = email.message_from_bytes((directory / "acme.nurture-email.2026-03-09.eml").read_bytes(), policy=email.policy.default)
    assert mail["To"] == "chris@customer.example" and mail["Message-ID"] == message_id(EMAIL)
    assert mail["Subject"] == "Welcome, <b>Acme</b> Bcc: evil@example.com" and mail["Bcc"] is None
    # The bytes SMTP would carry (CRLF line ends), without the dot-stuffing of the wire.
    assert mail.get_content() == "Hello <!channel> & team\r\n.\r\nBye\r\n"

    post = json.loads((directory / "acme.red-1.red-alert.json").read_text())
    assert post["journey_key"] == SLACK and post["channel"] == "#red-accounts"
    assert "&lt;!channel&gt; &amp; team" in post["text"]


def test_writing_a_key_again_gives_the_same_file(store: Store, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    store.apply_effects(Effects(account="acme", deliveries=[delivery(EMAIL)]))
    sender = OutboxSender(store, file_settings(outbox))
    sender.deliver([EMAIL])
    first = (outbox / file_name(EMAIL, "email")).read_bytes()
    assert store.requeue_delivery(EMAIL, ("sent",), "written again")
    assert sender.deliver([EMAIL]).sent == 1
    assert [p.name for p in outbox.iterdir()] == [file_name(EMAIL, "email")]
    assert (outbox / file_name(EMAIL, "email")).read_bytes() == first
    # Sent is final for the sweep: a later batch with the key leaves the file alone.
    assert sender.deliver([EMAIL]).skipped == 1


def test_a_superseded_write_leaves_no_file(tmp_path: Path) -> None:
    def taken_over() -> None:
        raise Superseded(EMAIL)

    transport = FileOutbox(quiet_settings(), tmp_path, "email")
    with pytest.raises(Superseded):
        transport.send(Message(key=EMAIL, recipient="chris@customer.example", subject="s", body="b"), taken_over)
    assert list(tmp_path.iterdir()) == []


def test_a_recipient_smtp_would_refuse_fails_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    store.apply_effects(Effects(account="acme", deliveries=[delivery(EMAIL, recipient="a@x.example, b@y.example")]))
    assert OutboxSender(store, file_settings(tmp_path / "outbox")).deliver([EMAIL]).failed == 1
    assert status(store, EMAIL)[0] == "failed" and "not a single email address" in str(status(store, EMAIL)[2])
    assert not (tmp_path / "outbox").exists()


def test_unwritable_directory_is_retried_then_failed_with_its_reason(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    store.apply_effects(Effects(account="acme", deliveries=[delivery(EMAIL)]))
    report = OutboxSender(store, file_settings(blocked / "outbox")).deliver([EMAIL], last_attempt=3)
    assert report.failed == 1
    state, _, reason = status(store, EMAIL)
    assert state == "failed" and f"cannot write to {blocked / 'outbox'}" in str(reason)
    assert any(EMAIL in r.getMessage() and "cannot write" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (EMAIL, "acme.nurture-email.2026-03-09.eml"),
        ("../../etc/passwd", None),
        ("acme/reminder/tara smith<x>", None),
    ],
)
def test_file_names_stay_in_the_directory_and_apart(key: str, name: str | None) -> None:
    made = file_name(key, "email")
    assert "/" not in made and not made.startswith(".")
    if name is not None:
        assert made == name
    else:
        assert made != file_name(key + "x", "email")


def test_every_failed_send_is_a_log_line_with_key_and_reason(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.apply_effects(Effects(account="acme", deliveries=[delivery(EMAIL), delivery(SLACK, "slack")]))
    with caplog.at_level(logging.WARNING, logger="journey.delivery.outbox"):
        report = OutboxSender(store, quiet_settings()).deliver([EMAIL, SLACK])
    assert report.failed == 2
    lines = [r.getMessage() for r in caplog.records]
    assert f"delivery {EMAIL} failed: email is not configured (set JOURNEY_SMTP_HOST)" in lines
    assert f"delivery {SLACK} failed: Slack is not configured (set JOURNEY_SLACK_WEBHOOK_URL)" in lines


def test_outbox_dir_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "files"))
    settings = DeliverySettings.from_env()
    assert settings.outbox_dir == tmp_path / "files"
    assert (settings.channels(), settings.missing_channels()) == ([f"files in {tmp_path / 'files'}"], [])
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", " ")
    monkeypatch.delenv("JOURNEY_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("JOURNEY_SMTP_HOST", raising=False)
    settings = DeliverySettings.from_env()
    assert settings.outbox_dir is None and settings.channels() == []
