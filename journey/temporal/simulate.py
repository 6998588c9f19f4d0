"""A dry run of real journeys on the time-skipping server.

The accounts are enrolled on `start` (or on their signature date, if later), usage rows
go into a throwaway store, events are applied on their dates, and the server's clock is
skipped forward to `start + days`. Journeys run exactly as in production, except that
automated touches are recorded as simulated instead of sent. The result is read back
from the throwaway store's timeline.

Usage is observed as the nightly health sweep observes it: on each day that can move an
account's adoption band (see `_drive`), the sweep's own scoring
(`Store.score_accounts`) runs over the throwaway store, and every journey
whose band changed gets the `metrics` update with its utilization and consumption, so
usage-milestone touches go out on the day a milestone is reached. The score's color is
not sent: health changes in a simulation come from events and the adoption judgement
(a daily sweep would be needed for it, and would replace manual colors with the score's
once they expire).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from journey.config import DeliverySettings, health_config_path
from journey.domain import names
from journey.domain.events import MetricsUpdate
from journey.domain.health import HealthConfig, band_changed, load_health_config
from journey.domain.measurements import UsageRow
from journey.domain.models import Account, JourneyStatus
from journey.files import EventRow
from journey.store import Store
from journey.temporal.converter import configured_data_converter
from journey.temporal.devserver import packaged_binary
from journey.temporal.journeys import enroll_one, send_event
from journey.temporal.runtime import process_runtime
from workflows.search_attributes import register_search_attributes
from workflows.worker import build_worker


class SimulatedTouchpoint(BaseModel):
    account: str
    touchpoint: str
    due: date
    stage: str


class SimulatedStage(BaseModel):
    account: str
    stage: str
    at: date


class SimulatedHealth(BaseModel):
    account: str
    color: str
    at: date
    reason: str | None = None


class SimulationResult(BaseModel):
    """The `journey simulate --json` document (interface contract)."""

    touchpoints: list[SimulatedTouchpoint]
    stages: list[SimulatedStage]
    health: list[SimulatedHealth]


async def simulate(
    accounts: list[Account],
    *,
    start: date,
    days: int,
    usage: list[UsageRow] | None = None,
    events: list[EventRow] | None = None,
    progress: Callable[[int], None] | None = None,
    workdir: Path | None = None,
) -> SimulationResult:
    """Run the journeys from `start` for `days` days and collect what happened."""
    end = start + timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix="journey-sim-", dir=workdir) as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'simulation.db'}")
        try:
            if usage:
                store.write_usage(usage)
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=packaged_binary("temporal-test-server"),
                data_converter=configured_data_converter(),
                runtime=process_runtime(),
            )
            async with env:
                await register_search_attributes(env.client)
                worker = build_worker(
                    env.client,
                    store,
                    task_queue=names.SIMULATION_TASK_QUEUE,
                    settings=DeliverySettings.unconfigured(),
                    dry_run=True,
                )
                async with worker:
                    await _drive(env, store, accounts, events or [], usage or [], start, end, progress)
            return _collect(store, {a.id for a in accounts}, start, end)
        finally:
            store.close()


async def _drive(
    env: WorkflowEnvironment,
    store: Store,
    accounts: list[Account],
    events: list[EventRow],
    usage: list[UsageRow],
    start: date,
    end: date,
    progress: Callable[[int], None] | None,
) -> None:
    """Walk the calendar: tell the journeys what the health sweep would about usage, enroll
    and apply events on their dates, skipping time between."""
    origin = await env.get_current_time()
    # Business date D begins at the server's midnight this many days after `origin`'s date.
    def server_time(day: date) -> datetime:
        midnight = datetime.combine(origin.date(), time(0), tzinfo=UTC)
        return midnight + timedelta(days=(day - start).days, hours=1)

    agenda: dict[date, list[Account | EventRow]] = defaultdict(list)
    for account in accounts:
        agenda[max(account.signed, start)].append(account)
    for event in events:
        if start <= event.date <= end:
            agenda[event.date].append(event)
    # The sweep runs at the start of each day it can find an adoption band changed, before
    # the day's enrollments and events (production's runs at night). Utilization (latest
    # mau / seats) moves with a usage row, so on the row's day; an account enrolled, or
    # whose seats an event set, is measured the day after.
    sweep_days = {row.date for row in usage if start <= row.date <= end}
    sweep_days |= {
        day + timedelta(days=1)
        for day, items in agenda.items()
        if day < end and any(isinstance(item, Account) or "seats" in item.data for item in items)
    }
    health_config = load_health_config(health_config_path())

    async def skip_to(when: datetime) -> None:
        now = await env.get_current_time()
        if when > now:
            await env.sleep(when - now)

    reported = start
    for day in sorted(agenda.keys() | sweep_days):
        if day > start:
            await skip_to(server_time(day))
        if day in sweep_days:
            await _tell_usage(env.client, store, day, health_config)
        for item in agenda.get(day, []):
            if isinstance(item, Account):
                await enroll_one(env.client, item, today=day, task_queue=names.SIMULATION_TASK_QUEUE)
            else:
                await send_event(env.client, item.account, item.event, item.data)
        if progress and day > reported:
            progress((day - reported).days)
            reported = day
    # Run to the last day: its wake-ups happen at the start of the day.
    await skip_to(server_time(end))
    if progress and end > reported:
        progress((end - reported).days)


async def _tell_usage(client: Client, store: Store, day: date, config: HealthConfig) -> None:
    """The health sweep's usage part on `day`: score every account as the nightly sweep does
    and send the `metrics` update to each journey whose adoption band changed, one after
    the other (in account order, so the run is deterministic)."""
    for scored in await asyncio.to_thread(store.score_accounts, day, config):
        if not band_changed(scored):
            continue
        update = MetricsUpdate(on=day, utilization=scored.measures.utilization, consumption=scored.measures.consumption)
        await client.get_workflow_handle(names.journey_workflow_id(scored.account)).execute_update(
            names.Update.METRICS, update, result_type=JourneyStatus
        )
        await asyncio.to_thread(store.record_delivered, scored.account, None, scored.band)


def _send_days(store: Store, account: str) -> dict[str, date]:
    """The local date (in the account's timezone) each of the account's automated touches
    may go out, by outbox key; touches without a send_after are not listed."""
    days: dict[str, date] = {}
    for row in store.deliveries(account=account):
        if row.send_after is not None:
            days[row.key] = row.send_after.astimezone(ZoneInfo(row.timezone or "UTC")).date()
    return days


def _collect(store: Store, accounts: set[str], start: date, end: date) -> SimulationResult:
    touchpoints: list[SimulatedTouchpoint] = []
    stages: list[SimulatedStage] = []
    health: list[SimulatedHealth] = []
    for account in sorted(accounts):
        timeline = store.timeline(account)
        sends_on = _send_days(store, account)
        # A task opened ahead and cancelled before its day (production became ready, the
        # account churned) never fell due.
        cancelled = {
            row.detail.get("task"): row.at
            for row in timeline
            if row.kind == "task" and row.detail.get("status") == "cancelled"
        }
        for row in timeline:
            at, detail = row.at, row.detail
            if row.key in cancelled and at > cancelled[row.key]:
                continue
            if at > end:
                continue
            # Stage history before `start` is where a mid-life account was placed; touches
            # before `start` were skipped at enrollment, not simulated.
            if row.kind == "touchpoint" and at >= start and detail.get("status") in ("task", "queued"):
                # An automated touch is shown on the day it goes out: its send window's local date.
                day = sends_on.get(row.key, at) if detail.get("status") == "queued" else at
                touchpoints.append(
                    SimulatedTouchpoint(account=account, touchpoint=row.name, due=day, stage=str(detail.get("stage", "")))
                )
            elif row.kind == "stage":
                stages.append(SimulatedStage(account=account, stage=row.name, at=at))
            elif row.kind == "health":
                health.append(SimulatedHealth(account=account, color=row.name, at=at, reason=detail.get("reason")))
    touchpoints.sort(key=lambda t: (t.due, t.account, t.touchpoint))
    stages.sort(key=lambda s: (s.at, s.account))
    health.sort(key=lambda h: (h.at, h.account))
    return SimulationResult(touchpoints=touchpoints, stages=stages, health=health)
