"""Driving journeys on the time-skipping server: their status, and their calendar moved on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journey.config import DeliverySettings
from journey.domain.models import JourneyStatus
from journey.domain.names import Query


def quiet_settings() -> DeliverySettings:
    """No Slack or SMTP configured: automated touches are recorded as not configured."""
    return DeliverySettings.unconfigured()


async def status_of(handle: WorkflowHandle) -> JourneyStatus:
    return await handle.query(Query.STATUS, result_type=JourneyStatus)


async def advance_to(env: WorkflowEnvironment, handle: WorkflowHandle, day: date) -> JourneyStatus:
    """Skip server time until the journey's business date is `day` (plus a little, so its
    wake-up at the start of that day has run)."""
    status = await status_of(handle)
    now = await env.get_current_time()
    # Not `status.today`: a query answers from the journey's last wake-up, which may be days old.
    business_now = now + timedelta(days=status.calendar_offset_days)
    target = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    if target > business_now:
        await env.sleep(target - business_now)
    return await status_of(handle)
