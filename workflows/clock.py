"""A journey's own business calendar: the server's clock shifted by a fixed number of days.

Journeys can run with dates in the past or the future of the server's clock (the
time-skipping test server and `journey simulate` use this); both workflows of an
account share the offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from temporalio import workflow


def business_today(day_offset: int) -> date:
    """The journey's own date: the server's clock shifted by a fixed number of days."""
    return (workflow.now() + timedelta(days=day_offset)).date()


def business_now(day_offset: int) -> datetime:
    """The journey's own moment: the server's clock shifted by a fixed number of days."""
    return workflow.now() + timedelta(days=day_offset)


def until(day: date, day_offset: int) -> timedelta:
    """Server-clock time from now until the start of the business date `day`."""
    target = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=day_offset)
    return max(target - workflow.now(), timedelta(seconds=1))
