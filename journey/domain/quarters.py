"""Fiscal quarters by name (`FY27Q2`): what finance's renewal analysis and the quarterly
account plans are counted in.

The fiscal year is the one the playbooks already schedule quarterly touchpoints by
(`fiscal_year_start_month`, 2 by default: the team's quarters are named like `Q2FY23`): it
starts on February 1 and is named by the calendar year it ends in, so FY27 runs from
2026-02-01 to 2027-01-31 and FY27Q1 is February to April 2026. With a start month of 1 the
fiscal year is the calendar year (FY27 = 2027). Two-digit years are 2000-2099.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from journey.domain.calendar import add_months, fiscal_quarter
from journey.domain.errors import InputError

# The default of the playbooks' `fiscal_year_start_month` (journey.domain.playbook).
FISCAL_YEAR_START_MONTH = 2

_NAME = re.compile(r"FY(\d{2})Q([1-4])")


@dataclass(frozen=True, order=True)
class Quarter:
    """One fiscal quarter: its first and last day, both included."""

    first: date
    last: date
    name: str

    def __str__(self) -> str:
        return self.name

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def next(self, start_month: int = FISCAL_YEAR_START_MONTH) -> Quarter:
        return quarter_containing(self.last + timedelta(days=1), start_month)

    def previous(self, start_month: int = FISCAL_YEAR_START_MONTH) -> Quarter:
        return quarter_containing(self.first - timedelta(days=1), start_month)


def parse_quarter(text: str, start_month: int = FISCAL_YEAR_START_MONTH) -> Quarter:
    """`FY27Q1` (any case) as a Quarter; InputError for anything else (`FY27Q5`, `27Q1`)."""
    match = _NAME.fullmatch(text.strip().upper())
    if match is None:
        raise InputError(f"{text!r} is not a fiscal quarter: expected FY<yy>Q<1-4>, e.g. FY27Q2")
    fiscal_year, number = 2000 + int(match[1]), int(match[2])
    # A fiscal year named by its end year starts the year before, unless it is the calendar year.
    start_year = fiscal_year if start_month == 1 else fiscal_year - 1
    first = add_months(date(start_year, start_month, 1), 3 * (number - 1))
    last = add_months(first, 3) - timedelta(days=1)
    return Quarter(first=first, last=last, name=f"FY{match[1]}Q{number}")


def quarter_of(day: date, start_month: int = FISCAL_YEAR_START_MONTH) -> str:
    """The name of the fiscal quarter that holds `day`: quarter_of(2026-05-20) == "FY27Q2"."""
    fiscal_year, number = fiscal_quarter(day, start_month)
    if not 2000 <= fiscal_year <= 2099:
        raise InputError(f"{day} is outside the fiscal years FY00-FY99 (2000-2099)")
    return f"FY{fiscal_year % 100:02d}Q{number}"


def quarter_containing(day: date, start_month: int = FISCAL_YEAR_START_MONTH) -> Quarter:
    """The fiscal quarter that holds `day`, with its bounds."""
    return parse_quarter(quarter_of(day, start_month), start_month)
