"""Send windows: when an automated touch may go out (journey.domain.sendwindow), the
playbook keys that set it, the account fields it reads, and the engine's deliveries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from pydantic import ValidationError

from journey.config import playbooks_dir
from journey.domain.engine import Engine
from journey.domain.enums import ContactRole
from journey.domain.models import Account, Contact
from journey.domain.playbook_files import PlaybookError, load_playbook
from journey.domain.sendwindow import ALL_DAY, WEEKDAYS, parse_window, send_after
from tests.domain.test_engine import PLAYBOOKS, account


def enrolled(today: date, **overrides: object) -> Engine:
    """A journey on its model's bundled playbook with a team's send window: 09:00-17:00 on business days."""
    acct = account(**overrides)
    playbook = PLAYBOOKS[acct.engagement_model].model_copy(update={"send_window": "09:00-17:00"})
    engine = Engine.enroll(acct, playbook, today, chain="t")
    engine.place(today)
    engine.advance(today)
    return engine

TOKYO = ZoneInfo("Asia/Tokyo")
FRIDAY = date(2026, 7, 10)  # an ordinary Friday in Japan
MARINE_DAY = date(2026, 7, 20)  # a Monday public holiday in Japan


def at(day: date, hour: int, tz: ZoneInfo = TOKYO) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def test_a_touch_due_on_a_friday_evening_in_tokyo_waits_for_monday_morning() -> None:
    moment = send_after(FRIDAY, at(FRIDAY, 19), "Asia/Tokyo", "JP", "09:00-17:00")
    assert moment == at(FRIDAY + timedelta(days=3), 9).astimezone(UTC)
    assert moment.tzinfo is UTC


def test_a_japanese_public_holiday_moves_it_to_the_next_business_day() -> None:
    assert MARINE_DAY in holidays.Japan(years=2026)
    friday = MARINE_DAY - timedelta(days=3)
    moment = send_after(friday, at(friday, 19), "Asia/Tokyo", "JP", "09:00-17:00")
    assert moment == at(MARINE_DAY + timedelta(days=1), 9).astimezone(UTC)
    # Without the country the holiday is an ordinary Monday.
    assert send_after(friday, at(friday, 19), "Asia/Tokyo", None, "09:00-17:00") == at(MARINE_DAY, 9).astimezone(UTC)


def test_a_touch_due_on_saturday_waits_for_monday_and_one_in_the_window_goes_at_once() -> None:
    saturday = FRIDAY + timedelta(days=1)
    assert send_after(saturday, at(saturday, 0), "Asia/Tokyo", "JP", "09:00-17:00") == at(saturday + timedelta(days=2), 9)
    # Due on a business day: from 09:00 that day; inside the window: at that moment.
    assert send_after(FRIDAY, datetime(2026, 7, 1, tzinfo=UTC), "Asia/Tokyo", "JP", "09:00-17:00") == at(FRIDAY, 9)
    assert send_after(FRIDAY, at(FRIDAY, 11), "Asia/Tokyo", "JP", "09:00-17:00") == at(FRIDAY, 11)


def test_all_day_every_day_sends_at_once() -> None:
    saturday_night = datetime(2026, 7, 11, 23, 30, tzinfo=TOKYO)
    assert send_after(saturday_night.date(), saturday_night, "Asia/Tokyo", "JP", ALL_DAY, WEEKDAYS) == saturday_night


def test_company_shutdowns_and_the_window_are_read_in_the_accounts_timezone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    christmas_eve = date(2026, 12, 24)  # a Thursday
    moment = send_after(christmas_eve, at(christmas_eve, 0, berlin), "Europe/Berlin", None, "09:00-17:00", extra_holidays={christmas_eve})
    assert moment == at(christmas_eve + timedelta(days=1), 9, berlin)
    # 17:00 closes the window: a touch at 17:00 waits for the next day.
    assert send_after(christmas_eve, at(christmas_eve, 17, berlin), "Europe/Berlin", None, "09:00-17:00") == at(
        christmas_eve + timedelta(days=1), 9, berlin
    )


@pytest.mark.parametrize("window", ["25:00-26:00", "17:00-09:00", "09:00-09:00", "9-17", "09:60-17:00", "24:00-24:00"])
def test_windows_that_are_no_window_are_refused(window: str) -> None:
    with pytest.raises(ValueError):
        parse_window(window)


def _playbook_text(**keys: str) -> str:
    text = (playbooks_dir() / "digital.toml").read_text()
    lines = text.replace('send_window = "09:00-17:00"\n', "").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("max_customer_touches_per_week"))
    lines[index + 1 : index + 1] = [f"{key} = {value}\n" for key, value in keys.items()]
    return "".join(lines)


def test_a_bad_send_window_is_a_playbook_error_naming_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "digital.toml"
    path.write_text(_playbook_text(send_window='"25:00-26:00"'))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("send_window"))
    assert caught.value.location == "send_window" and caught.value.line == line
    assert "25:00" in str(caught.value)


def test_a_playbook_without_the_new_keys_keeps_its_version(tmp_path: Path) -> None:
    path = tmp_path / "digital.toml"
    path.write_text(_playbook_text())
    bare = load_playbook(path)
    path.write_text(_playbook_text(send_days='["mon", "tue", "wed", "thu", "fri"]', holidays="[]"))
    assert load_playbook(path).version == bare.version
    path.write_text(_playbook_text(send_window='"09:00-17:00"', holidays='["2026-12-24"]', timezone='"Europe/Berlin"'))
    windowed = load_playbook(path)
    assert windowed.version != bare.version and windowed.holidays == (date(2026, 12, 24),)
    path.write_text(_playbook_text(timezone='"Mars/Base"'))
    with pytest.raises(PlaybookError, match="timezone"):
        load_playbook(path)


def _account(**fields: object) -> Account:
    base: dict[str, object] = {
        "id": "kaisha", "name": "Kaisha", "segment": "strategic", "tier": 1, "seats": 100, "arr": 1e5,
        "signed": "2026-06-01", "renewal": "2027-06-01", "ta": "ta", "ae": "ae",
    }
    return Account.model_validate(base | fields)


def test_an_account_names_a_known_timezone_and_country() -> None:
    assert _account(timezone="Asia/Tokyo", country="JP").country == "JP"
    for field, value in (("timezone", "Asia/Nowhere"), ("timezone", "../etc"), ("country", "XX"), ("country", "jp")):
        with pytest.raises(ValidationError) as caught:
            _account(**{field: value})
        assert caught.value.errors()[0]["loc"] == (field,)


def test_the_engine_queues_automated_touches_with_their_send_after() -> None:
    contacts = [Contact(name="Chris", email="chris@customer.example", role=ContactRole.champion)]
    signed = date(2026, 7, 18)  # a Saturday; the Monday after is Marine Day
    engine = enrolled(
        signed, segment="commercial", tier=3, signed=signed, renewal=date(2027, 7, 18), contacts=contacts,
        timezone="Asia/Tokyo", country="JP",
    )
    for day in range(1, 20):
        engine.advance(signed + timedelta(days=day))
    deliveries = [*engine.take_effects().deliveries]
    assert len(deliveries) >= 3
    license_key = next(d for d in deliveries if d.touchpoint == "license-key")
    assert license_key.send_after == at(MARINE_DAY + timedelta(days=1), 9).astimezone(UTC)
    for delivery in deliveries:
        assert delivery.timezone == "Asia/Tokyo" and delivery.send_after is not None
        local = delivery.send_after.astimezone(TOKYO)
        assert local.weekday() < 5 and 9 <= local.hour < 17 and local.date() >= delivery.due
        assert local.date() not in holidays.Japan(years=local.year)


def test_without_a_timezone_the_playbooks_and_then_utc_apply() -> None:
    engine = enrolled(date(2026, 7, 18), segment="commercial", tier=3, signed=date(2026, 7, 18),
                      contacts=[Contact(name="Chris", email="c@customer.example", role=ContactRole.champion)])
    engine.advance(date(2026, 7, 20))
    (delivery,) = [d for d in engine.take_effects().deliveries if d.touchpoint == "license-key"]
    assert delivery.timezone == "UTC" and delivery.send_after == datetime(2026, 7, 20, 9, tzinfo=UTC)


def test_the_shipped_playbooks_send_in_business_hours() -> None:
    from journey.domain.playbook_files import load_playbooks
    from playbooks import DEFAULT_DIR

    for playbook in load_playbooks(DEFAULT_DIR).values():
        assert (playbook.send_window, playbook.send_days) == ("09:00-17:00", ("mon", "tue", "wed", "thu", "fri"))
