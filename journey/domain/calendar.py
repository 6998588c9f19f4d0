"""Business-calendar arithmetic: months, business days, ISO weeks, fiscal quarters."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """Same day of month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_business_day(day: date) -> date:
    """Saturdays and Sundays move to the following Monday."""
    weekday = day.weekday()
    if weekday >= 5:
        return day + timedelta(days=7 - weekday)
    return day


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def fiscal_quarter_start(day: date, fiscal_year_start_month: int) -> date:
    """The first day of the fiscal quarter that contains `day`."""
    months_into_year = (day.month - fiscal_year_start_month) % 12
    return add_months(date(day.year, day.month, 1), -(months_into_year % 3))


def fiscal_quarter(day: date, fiscal_year_start_month: int) -> tuple[int, int]:
    """(fiscal year, quarter 1-4). The fiscal year is named by the calendar year it ends in."""
    start = fiscal_quarter_start(day, fiscal_year_start_month)
    months_into_year = (start.month - fiscal_year_start_month) % 12
    quarter = months_into_year // 3 + 1
    year_start_year = start.year if start.month >= fiscal_year_start_month else start.year - 1
    fiscal_year = year_start_year + (1 if fiscal_year_start_month != 1 else 0)
    return fiscal_year, quarter
