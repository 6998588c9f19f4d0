"""`journey deliveries show|edit|approve|skip` in process: a held touch printed as it will
be sent, edited while held, and every bad review refused with exit 2 before anything
changes (approving and skipping then go to the journey: tests/workflows/test_review_before_send.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result

from journey.domain.effects import Delivery, Effects
from journey.store import Store

HELD = "acme/license-key/2026-03-02"
SENT = "acme/nurture-email/2026-03-03"


def delivery(key: str, held: bool) -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel="email", recipient="chris@customer.example",
        subject=f"Subject of {key}", body="Hello Chris,\n\nyour key.", due=date(2026, 3, 2), held=held,
    )


@pytest.fixture
def review_home(journey_home: Path) -> Iterator[Store]:
    journey_home.mkdir(parents=True)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.apply_effects(Effects(account="acme", deliveries=[delivery(HELD, True), delivery(SENT, False)]))
        store.mark_delivery(SENT, "sent")
        yield store


def rows(store: Store) -> dict[str, tuple[str, str, str]]:
    return {r.key: (r.status, r.subject, r.body) for r in store.deliveries()}


def test_show_prints_the_email_as_it_will_be_sent(review_home: Store, invoke: Callable[..., Result]) -> None:
    result = invoke("deliveries", "show", HELD)
    assert result.exit_code == 0, result.output
    assert f"{HELD}  held" in result.output
    for line in ("To: chris@customer.example", f"Subject: Subject of {HELD}", "Hello Chris,", "your key."):
        assert line in result.output
    shown = json.loads(invoke("deliveries", "show", HELD, "--json").output)
    assert shown["status"] == "held" and shown["body"] == "Hello Chris,\n\nyour key."
    assert "Message-ID: <acme.license-key.2026-03-02@journey>" in shown["message"]


def test_edit_changes_a_held_message_and_nothing_else(review_home: Store, invoke: Callable[..., Result], tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hello Chris,\n\nhere is your key.\n", encoding="utf-8")
    result = invoke("deliveries", "edit", HELD, "--subject", "Your key", "--body-file", str(body), "--by", "rita")
    assert result.exit_code == 0, result.output
    (row,) = review_home.deliveries(keys=[HELD])
    assert (row.status, row.subject, row.body, row.reviewed_by) == ("held", "Your key", "Hello Chris,\n\nhere is your key.\n", "rita")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edit", SENT, "--subject", "x"], f"key '{SENT}': status is sent; only held can be edited"),
        (["edit", HELD], "--subject or --body-file"),
        (["edit", HELD, "--subject", ""], "field 'subject'"),
        (["edit", HELD, "--body-file", "BINARY"], "not UTF-8"),
        (["edit", HELD, "--subject", "x", "--by", ""], "field 'by'"),
        (["show", "acme/nope/1"], "key 'acme/nope/1': no such delivery"),
        (["approve", SENT], f"key '{SENT}': status is sent; only a held delivery can be approved"),
        (["approve", "acme/nope/1"], "key 'acme/nope/1': no such delivery"),
        (["approve"], "keys: name the deliveries to be approved"),
        (["approve", "--account", "globex"], "no delivery of account 'globex' is held for review"),
        (["approve", HELD, "--touchpoint", "qbr"], f"key '{HELD}': is acme's license-key"),
        (["skip", HELD], "Missing option '--reason'"),
        (["skip", SENT, "--reason", "no"], f"key '{SENT}': status is sent; only a held delivery can be skipped"),
    ],
)
def test_bad_reviews_exit_2_and_change_nothing(
    review_home: Store, invoke: Callable[..., Result], tmp_path: Path, args: list[str], message: str
) -> None:
    binary = tmp_path / "body.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    before = rows(review_home)
    result = invoke("deliveries", *[str(binary) if a == "BINARY" else a for a in args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert rows(review_home) == before


def test_approving_needs_the_journey(review_home: Store, invoke: Callable[..., Result]) -> None:
    # The journey approves and sends (with the worker's settings): no Temporal, nothing changes.
    result = invoke("deliveries", "approve", HELD)
    assert result.exit_code == 1 and "cannot reach Temporal" in result.output, result.output
    assert review_home.deliveries(keys=[HELD])[0].status == "held"
