"""Fiscal quarters by name: the fiscal year starts in February (as the playbooks' quarterly
touchpoints do) and is named by the year it ends in."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from journey.domain.calendar import fiscal_quarter_start
from journey.domain.errors import InputError
from journey.domain.quarters import Quarter, parse_quarter, quarter_containing, quarter_of

D = date


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("FY27Q1", D(2026, 2, 1), D(2026, 4, 30)),
        ("FY27Q2", D(2026, 5, 1), D(2026, 7, 31)),
        ("FY27Q3", D(2026, 8, 1), D(2026, 10, 31)),
        ("FY27Q4", D(2026, 11, 1), D(2027, 1, 31)),
        ("FY28Q1", D(2027, 2, 1), D(2027, 4, 30)),
        ("fy24q4", D(2023, 11, 1), D(2024, 1, 31)),  # February of a leap year is inside Q1, not here
    ],
)
def test_parse_quarter(name: str, first: date, last: date) -> None:
    quarter = parse_quarter(name)
    assert (quarter.first, quarter.last, quarter.name) == (first, last, name.upper())
    assert str(quarter) == name.upper()
    assert first in quarter and last in quarter
    assert first - timedelta(days=1) not in quarter and last + timedelta(days=1) not in quarter


@pytest.mark.parametrize("text", ["FY27Q5", "FY27Q0", "27Q1", "Q2FY27", "FY2027Q1", "FY27", "", "FY27Q1x"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="is not a fiscal quarter"):
        parse_quarter(text)


def test_quarter_of_every_day_agrees_with_its_bounds_and_the_playbook_calendar() -> None:
    day, end = D(2025, 12, 1), D(2028, 3, 1)
    while day < end:
        quarter = parse_quarter(quarter_of(day))
        assert day in quarter, day
        # The playbooks' quarterly touchpoints fall on the same quarter starts.
        assert quarter.first == fiscal_quarter_start(day, 2)
        day += timedelta(days=1)
    assert quarter_of(D(2027, 1, 31)) == "FY27Q4" and quarter_of(D(2027, 2, 1)) == "FY28Q1"


def test_next_and_previous_and_a_calendar_fiscal_year() -> None:
    q = parse_quarter("FY27Q4")
    assert q.next() == parse_quarter("FY28Q1") and q.previous() == parse_quarter("FY27Q3")
    assert quarter_containing(D(2026, 6, 15)) == Quarter(D(2026, 5, 1), D(2026, 7, 31), "FY27Q2")
    # A fiscal year that starts in January is the calendar year.
    assert parse_quarter("FY27Q1", start_month=1) == Quarter(D(2027, 1, 1), D(2027, 3, 31), "FY27Q1")
    assert quarter_of(D(2027, 12, 31), start_month=1) == "FY27Q4"
