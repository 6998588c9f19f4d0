"""The start request of a journey: compact, and read back whole by the workflow."""

from __future__ import annotations

from datetime import date, timedelta

from journey.domain.models import Account
from journey.temporal.journeys import journey_input, static_details, static_summary
from workflows.messages import JourneyInput

SIGNED = date(2026, 1, 5)


def account(account_id: str = "acct-memory") -> Account:
    return Account(
        id=account_id, name="Memory Co", segment="strategic", tier=3, seats=50, arr=20_000.0,
        signed=SIGNED, renewal=SIGNED + timedelta(days=365), ta="ana", ae="sam",
    )


def test_start_input_is_compact_and_reads_back_whole() -> None:
    acct = account()
    for today in (None, SIGNED):
        data = journey_input(acct, today).payload.data
        assert JourneyInput.model_validate_json(data) == JourneyInput(account=acct, today=today)
        assert len(data) < len(JourneyInput(account=acct, today=today).model_dump_json()) - 80
    # The details leave out what the summary already says.
    assert acct.name in static_summary(acct) and acct.name not in static_details(acct)
