"""Driving journeys on the time-skipping server: their status, and their calendar moved on."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from journey.config import DeliverySettings
from journey.domain.models import JourneyStatus
from journey.domain.names import Query


def quiet_settings() -> DeliverySettings:
    """No Slack or SMTP configured: automated touches are recorded as not configured."""
    return DeliverySettings.unconfigured()


async def status_of(handle: WorkflowHandle) -> JourneyStatus:
    return await handle.query(Query.STATUS, result_type=JourneyStatus)


# Where `advance_to` parks a journey's business clock on its day: past the wake-up at the
# start of the day and the opening of the shipped send window (09:00-17:00 UTC), so the
# automated touches of that day have gone out.
PARK_HOUR = 10


async def park_in_business_hours(env: WorkflowEnvironment) -> None:
    """Move a new time-skipping server's clock to the next PARK_HOUR UTC. Journeys there
    take their business dates from the test and their time of day from the server: parked
    so, a test sees the shipped send window (09:00-17:00) open, whatever the hour it runs."""
    now = await env.get_current_time()
    target = datetime(now.year, now.month, now.day, PARK_HOUR, tzinfo=UTC)
    if target <= now:
        target += timedelta(days=1)
    await env.sleep(target - now)


# A test starting before this hour of the server's clock has the rest of the business day
# to run in: past it, a long test could cross midnight into the hours before the window.
BUSINESS_MARGIN_HOURS = 12


async def keep_in_business_hours(env: WorkflowEnvironment) -> None:
    """Park the shared server's clock again when the tests before have skipped it out of the
    morning. A touch due today waits for the window's opening (09:00); a test whose checks
    poll the store stands the clock still, so before 09:00 it would wait for ever (this
    failed CI when earlier files on the same process left the clock at night)."""
    now = await env.get_current_time()
    if not PARK_HOUR <= now.astimezone(UTC).hour < BUSINESS_MARGIN_HOURS:
        await park_in_business_hours(env)


async def advance_to(env: WorkflowEnvironment, handle: WorkflowHandle, day: date) -> JourneyStatus:
    """Skip server time until the journey's business date is `day` at PARK_HOUR UTC (its
    wake-up at the start of that day has run, and the touches of that day sent in the
    send window have gone)."""
    status = await status_of(handle)
    now = await env.get_current_time()
    # Not `status.today`: a query answers from the journey's last wake-up, which may be days old.
    business_now = now + timedelta(days=status.calendar_offset_days)
    target = datetime(day.year, day.month, day.day, PARK_HOUR, tzinfo=UTC)
    if target > business_now:
        await env.sleep(target - business_now)
    return await status_of(handle)


@contextlib.asynccontextmanager
async def own_time_skipping_env(converter: DataConverter | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server for one test alone. For a test whose journeys go red,
    or whose commands talk to the server from another client: what such a test leaves
    on the session's shared server can hold its clock for the tests after it. Its client
    uses `converter` (default: the one without a key)."""
    from journey.temporal.converter import data_converter
    from journey.temporal.devserver import packaged_binary
    from workflows.search_attributes import register_search_attributes

    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=packaged_binary("temporal-test-server"), data_converter=converter or data_converter
    )
    try:
        await register_search_attributes(environment.client)
        await park_in_business_hours(environment)
        yield environment
    finally:
        await environment.shutdown()
