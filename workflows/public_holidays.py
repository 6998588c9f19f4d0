"""Public holidays for the send windows, read inside a journey's workflow.

The `holidays` package reads its holiday-name catalogues (gettext: files and locale
settings) whenever it builds a calendar, which the workflow sandbox refuses. The dates
do not depend on them, so a workflow reads the package with the sandbox's restrictions
lifted for that call alone; outside a workflow it is read as is. Importing this module
(passed through, once per process) installs that source.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

from journey.domain.sendwindow import library_holidays, use_holiday_source


def holidays_in_or_out_of_workflows(country: str, year: int) -> frozenset[date]:
    if workflow.unsafe.in_sandbox():
        with workflow.unsafe.sandbox_unrestricted():
            return library_holidays(country, year)
    return library_holidays(country, year)


use_holiday_source(holidays_in_or_out_of_workflows)
