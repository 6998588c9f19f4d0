"""Send windows at the command line, in process: `deliveries` shows when each touch may go,
a bad window or timezone exits 2 naming where it is, and `deliveries resend` never sends
a touch before its send_after."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import Result

from journey.domain.effects import Delivery, Effects
from journey.store import Store
from playbooks import DEFAULT_DIR
from tests.cli.test_bad_input import GOOD, HEADER, assert_bad_input, write_csv

LATER = "kaisha/license-key/2026-07-18"
NOW = "kaisha/nurture-email/2026-07-18"
MONDAY_9_TOKYO = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)


def _row(key: str, send_after: datetime | None) -> Delivery:
    return Delivery(
        key=key, account="kaisha", touchpoint=key.split("/")[1], channel="email", recipient="kenji@kaisha.example",
        subject="Hello", body="Body", due=date(2026, 7, 17), send_after=send_after, timezone="Asia/Tokyo",
    )


def test_deliveries_show_send_after_and_timezone(invoke: Callable[..., Result], journey_home: Path) -> None:
    journey_home.mkdir(parents=True)
    far = datetime.now(UTC) + timedelta(days=3650)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.apply_effects(Effects(account="kaisha", deliveries=[_row(LATER, far), _row(NOW, MONDAY_9_TOKYO)]))
    listed = invoke("deliveries", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["key"]: row for row in json.loads(listed.output)}
    assert rows[NOW]["send_after"] == "2026-07-20T00:00:00+00:00" and rows[NOW]["timezone"] == "Asia/Tokyo"
    assert datetime.fromisoformat(rows[LATER]["send_after"]) == far
    table = invoke("deliveries")
    assert "SEND_AFTER" in table.output.splitlines()[0] and "2026-07-20T00:00:00+00:00" in table.output

    # A resend of a row whose window has not come leaves it pending.
    resent = invoke("deliveries", "resend", LATER)
    assert resent.exit_code == 0, resent.output
    assert "1 pending until their send_after" in resent.output
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        assert [row.status for row in store.deliveries(keys=[LATER])] == ["pending"]


def test_a_window_that_is_no_time_of_day_is_a_playbook_error(invoke: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "digital.toml"
    text = (DEFAULT_DIR / "digital.toml").read_text(encoding="utf-8")
    path.write_text(text.replace('send_window = "09:00-17:00"', 'send_window = "25:00-26:00"'), encoding="utf-8")
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("send_window"))
    assert_bad_input(invoke("playbook", "validate", str(path)), f"{path}:{line}: send_window", "25:00")


def test_an_unknown_timezone_or_country_in_the_accounts_csv_exits_2(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        HEADER + ",timezone,country",
        GOOD.replace("acme", "first") + ",Asia/Tokyo,JP",
        GOOD + ",Asia/Atlantis,",
        GOOD.replace("acme", "third") + ",,XX",
    )
    result = invoke("import", str(path))
    assert_bad_input(result, "line 3: field 'timezone'", "Asia/Atlantis", "line 4: field 'country'", "XX")
    assert "line 2" not in result.output
    nothing_written()
    enrolled = invoke(
        "enroll", "--id", "x", "--name", "X", "--segment", "strategic", "--tier", "1", "--seats", "1", "--arr", "1",
        "--signed", "2026-01-05", "--renewal", "2027-01-05", "--ta", "t", "--ae", "a", "--timezone", "Nowhere/City",
    )
    assert_bad_input(enrolled, "timezone", "Nowhere/City")
