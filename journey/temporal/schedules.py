"""Temporal Schedules for the periodic sweeps: the nightly health sweep, the daily
task-reminder sweep, and the delivery sweep every few minutes.

`ensure_schedules(client)` creates every missing schedule and leaves existing ones alone
(their time may have been changed with `journey schedule set`), so `journey up` and every
worker can call it at start. Times are UTC.

A schedule keeps the payloads it was created with (the sweep's input, its summary),
encrypted with the key of the process that created it. `reencrypt_schedules`, which every
worker runs at start, gives them again, encrypted with the worker's key, when they are under
another: once the workers encrypt with a new key, the sweeps no longer need the old one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.messages import DeliverySweepInput, HealthSweepInput, ReminderSweepInput
from journey.domain import names
from journey.temporal.codec import EncryptionCodec, key_id_of

TIME_ZONE = "UTC"


@dataclass(frozen=True)
class Sweep:
    """One periodic sweep: its name on the command line, its schedule and workflow."""

    name: str
    schedule_id: str
    workflow: str
    description: str
    hour: int
    minute: int = 0
    # The workflow's input; every sweep's takes an optional `today` or `at` (default: the run's).
    make_input: Callable[[], Any] = ReminderSweepInput
    # A sweep that runs every so many minutes instead of daily at hour:minute.
    every_minutes: int | None = None

    def input(self) -> Any:
        return self.make_input()

    @property
    def daily(self) -> bool:
        return self.every_minutes is None


SWEEPS: dict[str, Sweep] = {
    "health": Sweep(
        name="health",
        schedule_id=names.Schedule.HEALTH_SWEEP,
        workflow=names.Workflow.HEALTH_SWEEP,
        description="score every account's health and tell the journeys that changed",
        hour=2,
        make_input=HealthSweepInput,
    ),
    "reminders": Sweep(
        name="reminders",
        schedule_id=names.Schedule.TASK_REMINDERS,
        workflow=names.Workflow.TASK_REMINDER_SWEEP,
        description="remind and escalate people's overdue tasks",
        hour=8,
    ),
    "deliveries": Sweep(
        name="deliveries",
        schedule_id=names.Schedule.DELIVERIES,
        workflow=names.Workflow.DELIVERY_SWEEP,
        description="send the outbox rows whose send window has opened (broadcasts, approved and capped touches)",
        hour=0,
        make_input=DeliverySweepInput,
        # Send windows open on the hour or the half hour: a touch waits at most this long.
        every_minutes=15,
    ),
}
# The sweeps whose time of day `journey schedule set` changes.
DAILY_SWEEPS = [name for name, sweep in SWEEPS.items() if sweep.daily]


def every(minutes: int) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=minutes))], time_zone_name=TIME_ZONE)


def daily_at(hour: int, minute: int = 0) -> ScheduleSpec:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(minute)],
                hour=[ScheduleRange(hour)],
                comment=f"daily at {hour:02d}:{minute:02d} {TIME_ZONE}",
            )
        ],
        time_zone_name=TIME_ZONE,
    )


def build_schedule(sweep: Sweep, *, task_queue: str = names.TASK_QUEUE, hour: int | None = None, minute: int | None = None) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            sweep.workflow,
            sweep.input(),
            id=sweep.schedule_id,
            task_queue=task_queue,
            static_summary=f"{'Daily sweep' if sweep.daily else f'Every {sweep.every_minutes} minutes'}: {sweep.description}",
        ),
        spec=(
            daily_at(sweep.hour if hour is None else hour, sweep.minute if minute is None else minute)
            if sweep.every_minutes is None
            else every(sweep.every_minutes)
        ),
        # One sweep at a time; a sweep missed while the server was down runs when it is
        # back (the same day for a daily one, not days later).
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=timedelta(hours=23) if sweep.daily else timedelta(minutes=sweep.every_minutes or 0),
        ),
    )


async def ensure_schedules(client: Client, *, task_queue: str = names.TASK_QUEUE) -> list[str]:
    """Create every missing sweep schedule; returns the ids created (existing ones are kept)."""
    created = []
    for sweep in SWEEPS.values():
        try:
            await client.create_schedule(sweep.schedule_id, build_schedule(sweep, task_queue=task_queue))
        except ScheduleAlreadyRunningError:
            continue
        created.append(sweep.schedule_id)
    return created


async def reencrypt_schedules(client: Client) -> list[str]:
    """Give every schedule whose start payloads are not encrypted with the key `client`
    encrypts with (in clear when it has none) its sweep's input and summary again, through
    `client`; its time, policy and state stay. Returns the ids of those changed."""
    codec = client.data_converter.payload_codec
    key = codec.ring.encrypting if isinstance(codec, EncryptionCodec) else None
    wanted = key.id if key is not None else None
    changed = []
    for sweep in SWEEPS.values():
        description = await describe(client, sweep)
        action = description.schedule.action if description is not None else None
        if not isinstance(action, ScheduleActionStartWorkflow):
            continue
        stored = [p for p in (*action.args, action.static_summary, action.static_details) if isinstance(p, Payload)]
        if all(key_id_of(payload) == wanted for payload in stored):
            continue
        fresh = build_schedule(sweep, task_queue=action.task_queue).action

        def change(current: ScheduleUpdateInput, fresh: Any = fresh) -> ScheduleUpdate:
            schedule = current.description.schedule
            schedule.action = fresh
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(sweep.schedule_id).update(change)
        changed.append(sweep.schedule_id)
    return changed


async def describe(client: Client, sweep: Sweep) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(sweep.schedule_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _time_of_day(description: ScheduleDescription) -> str | None:
    calendars = description.schedule.spec.calendars
    if len(calendars) != 1 or not calendars[0].hour or not calendars[0].minute:
        return None
    return f"{calendars[0].hour[0].start:02d}:{calendars[0].minute[0].start:02d}"


def _workflow_ids(description: ScheduleDescription) -> list[str]:
    actions = [*(r.action for r in description.info.recent_actions), *description.info.running_actions]
    return [a.workflow_id for a in actions if isinstance(a, ScheduleActionExecutionStartWorkflow)]


def summary(sweep: Sweep, description: ScheduleDescription | None) -> dict[str, Any]:
    """What `journey schedule show --json` prints for one sweep."""
    row: dict[str, Any] = {"name": sweep.name, "schedule_id": sweep.schedule_id, "workflow": sweep.workflow}
    if description is None:
        return row | {"exists": False}
    info = description.info
    action = description.schedule.action
    return row | {
        "exists": True,
        "time": _time_of_day(description),
        "every_minutes": sweep.every_minutes,
        "time_zone": description.schedule.spec.time_zone_name or TIME_ZONE,
        "paused": description.schedule.state.paused,
        "task_queue": action.task_queue if isinstance(action, ScheduleActionStartWorkflow) else None,
        "next_runs": [t.isoformat() for t in info.next_action_times[:3]],
        "recent_runs": [
            {
                "started_at": r.started_at.isoformat(),
                "workflow_id": r.action.workflow_id if isinstance(r.action, ScheduleActionExecutionStartWorkflow) else None,
            }
            for r in info.recent_actions[-5:]
        ],
        "running": [a.workflow_id for a in info.running_actions if isinstance(a, ScheduleActionExecutionStartWorkflow)],
        "runs": info.num_actions,
    }


async def show(client: Client) -> list[dict[str, Any]]:
    return [summary(sweep, await describe(client, sweep)) for sweep in SWEEPS.values()]


async def set_time(client: Client, sweep: Sweep, hour: int, minute: int = 0, *, task_queue: str = names.TASK_QUEUE) -> dict[str, Any]:
    """Move a daily sweep to another time of day (creating its schedule if missing)."""
    if not sweep.daily:
        raise ValueError(f"the {sweep.name} sweep runs every {sweep.every_minutes} minutes; it has no time of day")
    spec = daily_at(hour, minute)
    if await describe(client, sweep) is None:
        await client.create_schedule(sweep.schedule_id, build_schedule(sweep, task_queue=task_queue, hour=hour, minute=minute))
    else:

        def change(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = current.description.schedule
            schedule.spec = spec
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(sweep.schedule_id).update(change)
    return summary(sweep, await describe(client, sweep))


async def trigger(client: Client, sweep: Sweep, *, timeout: float = 30) -> WorkflowHandle[Any, Any]:
    """Run a sweep now (its schedule is created if missing); returns the started workflow,
    or the run already going (one sweep at a time, as the schedule's policy says)."""
    await ensure_schedules(client)
    before = await describe(client, sweep)
    running = [a.workflow_id for a in before.info.running_actions if isinstance(a, ScheduleActionExecutionStartWorkflow)] if before else []
    if running:
        return client.get_workflow_handle(running[-1])
    seen = set(_workflow_ids(before)) if before else set()
    await client.get_schedule_handle(sweep.schedule_id).trigger()
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        description = await describe(client, sweep)
        new = [wid for wid in (_workflow_ids(description) if description else []) if wid not in seen]
        if new:
            return client.get_workflow_handle(new[-1])
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"schedule {sweep.schedule_id} did not start a run within {timeout:.0f} s")
        await asyncio.sleep(0.2)
