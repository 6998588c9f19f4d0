"""`journey deliveries`: list the outbox, settle rows in doubt (mark, resend), in process.

Rows are written through the store as the worker writes them; resends go to a local SMTP
server started here, through the same JOURNEY_SMTP_* settings the worker reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result

from journey.delivery.smtp import message_id
from journey.domain.effects import Delivery, Effects
from journey.store import Store
from journey.temporal.devserver import free_port
from tests.helpers.local_servers import SmtpRecorder

IN_DOUBT = "acme/license-key/2026-03-02"
FAILED = "acme/nurture-email/2026-03-09"
SENT = "acme/red-1/red-alert"


def delivery(key: str, channel: str = "email") -> Delivery:
    return Delivery(
        key=key, account=key.split("/")[0], touchpoint=key.split("/")[1], channel=channel,  # type: ignore[arg-type]
        recipient="#red-accounts" if channel == "slack" else "chris@customer.example",
        subject=f"Subject of {key}", body="Body", due=date(2026, 3, 2),
    )


@pytest.fixture
def outbox_home(journey_home: Path) -> Iterator[Store]:
    """An outbox with one row in doubt, one failed and one sent."""
    journey_home.mkdir(parents=True)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.apply_effects(Effects(account="acme", deliveries=[delivery(IN_DOUBT), delivery(FAILED), delivery(SENT, "slack")]))
        claimed = store.claim_delivery(IN_DOUBT)
        assert claimed is not None and store.hand_over(IN_DOUBT, str(claimed.claim))
        assert store.mark_in_doubt(IN_DOUBT, "worker killed")
        store.mark_delivery(FAILED, "failed", "email is not configured")
        store.mark_delivery(SENT, "sent")
        yield store


def statuses(store: Store) -> dict[str, str]:
    return {str(r.key): str(r.status) for r in store.deliveries()}


def test_lists_rows_in_doubt(outbox_home: Store, invoke: Callable[..., Result]) -> None:
    result = invoke("deliveries", "--in-doubt", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["key"], r["account"], r["status"], r["channel"]) for r in rows] == [(IN_DOUBT, "acme", "unknown", "email")]
    assert rows[0]["last_error"] == "worker killed"
    table = invoke("deliveries", "--status", "sent", "--status", "failed")
    assert table.exit_code == 0
    assert SENT in table.output and FAILED in table.output and IN_DOUBT not in table.output


def test_mark_settles_a_row_in_doubt(outbox_home: Store, invoke: Callable[..., Result]) -> None:
    result = invoke("deliveries", "mark", IN_DOUBT, "--sent", "--note", "customer confirmed")
    assert result.exit_code == 0, result.output
    assert statuses(outbox_home)[IN_DOUBT] == "sent"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mark", IN_DOUBT], "--sent or --failed"),
        (["mark", SENT, "--failed"], f"key '{SENT}': status is sent; only unknown can be settled"),
        (["mark", IN_DOUBT, "acme/nope/1", "--sent"], "key 'acme/nope/1': no such delivery"),
        (["resend", SENT], f"key '{SENT}': status is sent; only unknown, failed, pending can be resent"),
    ],
)
def test_bad_keys_exit_2_and_change_nothing(outbox_home: Store, invoke: Callable[..., Result], args: list[str], message: str) -> None:
    before = statuses(outbox_home)
    result = invoke("deliveries", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert statuses(outbox_home) == before


def test_resend_sends_once_through_the_configured_server(
    outbox_home: Store, invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpRecorder(free_port()) as smtp:
        monkeypatch.setenv("JOURNEY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JOURNEY_SMTP_PORT", str(smtp.port))
        result = invoke("deliveries", "resend", IN_DOUBT, FAILED)
        assert result.exit_code == 0, result.output
        assert "2 sent" in result.output
        assert smtp.message_ids() == {message_id(IN_DOUBT): 1, message_id(FAILED): 1}
    assert statuses(outbox_home) == {IN_DOUBT: "sent", FAILED: "sent", SENT: "sent"}
    # One attempt before (the send in doubt, the failure), one for the resend.
    assert {r.key: r.attempts for r in outbox_home.deliveries(keys=[IN_DOUBT, FAILED])} == {IN_DOUBT: 2, FAILED: 2}


def test_resend_without_a_configured_channel_says_so(outbox_home: Store, invoke: Callable[..., Result]) -> None:
    result = invoke("deliveries", "resend", FAILED)
    assert result.exit_code == 1
    assert f"not sent: {FAILED}: email is not configured (set JOURNEY_SMTP_HOST)" in result.output
    assert statuses(outbox_home)[FAILED] == "failed"
    assert outbox_home.deliveries(keys=[FAILED])[0].attempts == 2


def test_resend_counts_one_attempt_each_time(
    outbox_home: Store, invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for resends in (1, 2, 3):
        assert invoke("deliveries", "resend", FAILED).exit_code == 1
        assert outbox_home.deliveries(keys=[FAILED])[0].attempts == 1 + resends
    # A failed row resent through the file channel is sent, and counts one attempt more.
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(tmp_path / "outbox"))
    result = invoke("deliveries", "resend", FAILED)
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    row = outbox_home.deliveries(keys=[FAILED])[0]
    assert (row.status, row.attempts) == ("sent", 5)
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["acme.nurture-email.2026-03-09.eml"]
