"""A broadcast keeps to its accounts' send windows and weekly caps per contact, at a
frozen moment: a Tokyo account's message on a Friday evening there waits for Monday
09:00 in Tokyo (Tuesday after a Japanese public holiday); a contact who has had the week's
emails gets the broadcast next week; an urgent one goes at once, whatever both say."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import Result
from freezegun import freeze_time

from journey.domain.effects import Delivery, Effects
from journey.domain.enums import ContactRole
from journey.domain.models import Contact
from journey.store import Store
from tests.helpers.accounts import make_account
from tests.helpers.playbooks import always_open_playbooks

KENJI = "kenji@kaisha.example"
KEY = f"broadcast:upd-1:kaisha:{KENJI}"


@pytest.fixture
def store(journey_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(journey_home.parent / "outbox"))
    journey_home.mkdir(parents=True)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as opened:
        opened.upsert_accounts([make_account(
            "kaisha", name="Kaisha KK", segment="commercial", timezone="Asia/Tokyo", country="JP",
            contacts=[Contact(name="Kenji", email=KENJI, role=ContactRole.champion)],
        )])
        yield opened


def broadcast(invoke: Callable[..., Result], tmp_path: Path, *args: str) -> dict[str, object]:
    body = tmp_path / "body.txt"
    body.write_text("Hello {contact.name}, a product update for {account.name}.\n")
    result = invoke("broadcast", "--id", "upd-1", "--subject", "Product update", "--body-file", str(body),
                    "--account", "kaisha", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("now", "goes"),
    [
        # Friday 2026-12-04, 19:00 in Tokyo: Monday 09:00 in Tokyo.
        (datetime(2026, 12, 4, 10, 0, tzinfo=UTC), datetime(2026, 12, 7, 0, 0, tzinfo=UTC)),
        # Friday 2026-07-17, 19:00 in Tokyo; Monday the 20th is Marine Day: Tuesday 09:00.
        (datetime(2026, 7, 17, 10, 0, tzinfo=UTC), datetime(2026, 7, 21, 0, 0, tzinfo=UTC)),
    ],
    ids=["friday-evening", "before-a-public-holiday"],
)
def test_a_friday_evening_in_tokyo_waits_for_the_next_business_morning(
    store: Store, invoke: Callable[..., Result], tmp_path: Path, now: datetime, goes: datetime
) -> None:
    with freeze_time(now):
        report = broadcast(invoke, tmp_path)
    assert (report["sent"], report["waiting"]) == (0, 1)
    (row,) = store.deliveries(keys=[KEY])
    assert (row.status, row.send_after, row.timezone) == ("pending", goes, "Asia/Tokyo")
    listed = json.loads(invoke("deliveries", "--json").output)
    assert listed[0]["send_after"] == goes.isoformat() and listed[0]["timezone"] == "Asia/Tokyo"


def test_a_contact_over_the_weekly_cap_gets_the_broadcast_next_week_unless_urgent(
    store: Store, invoke: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = always_open_playbooks(tmp_path / "playbooks")
    digital = books / "digital.toml"
    digital.write_text(re.sub(r"(?m)^send_window = .*$", "\\g<0>\nmax_emails_per_contact_per_week = 1", digital.read_text()))
    monkeypatch.setenv("JOURNEY_PLAYBOOKS_DIR", str(books))
    wednesday = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    with freeze_time(wednesday):
        # Kenji had this week's email already (a journey's touch).
        tips = Delivery(key="kaisha/nurture-email/2026-12-08", account="kaisha", touchpoint="nurture-email",
                        channel="email", recipient=KENJI, subject="Tips", body="b", due=date(2026, 12, 8))
        store.apply_effects(Effects(account="kaisha", deliveries=[tips]))
        store.mark_delivery(tips.key, "sent")
        report = broadcast(invoke, tmp_path)
        assert (report["sent"], report["waiting"]) == (0, 1)
        (row,) = store.deliveries(keys=[KEY])
        # Next Monday 00:00 in Tokyo: the window is open all day, the week is the cap's.
        assert (row.status, row.send_after) == ("pending", datetime(2026, 12, 13, 15, 0, tzinfo=UTC))
        assert f"{KENJI} has had 1 emails this week" in str(row.last_error)

        urgent = tmp_path / "urgent.txt"
        urgent.write_text("Service incident: resolved.\n")
        result = invoke("broadcast", "--id", "inc-1", "--subject", "Incident", "--body-file", str(urgent),
                        "--account", "kaisha", "--urgent")
        assert result.exit_code == 0, result.output
        assert "1 sent" in result.output and "urgent: send windows and caps ignored" in result.output
