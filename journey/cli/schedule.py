"""`journey schedule`: the Temporal Schedules of the periodic sweeps (show, ensure, set, trigger)."""

from __future__ import annotations

from typing import Any

import click

from journey.cli.common import Failure, connected, echo_json, json_option, table
from journey.domain.names import TASK_QUEUE

# The keys of journey.temporal.schedules.SWEEPS, and those of its daily sweeps (a test keeps
# them equal); spelled out so that `journey --help` does not import the Temporal client.
SWEEP_NAMES = ["health", "reminders", "deliveries"]
DAILY_SWEEP_NAMES = ["health", "reminders"]


def _sweep(name: str) -> Any:
    from journey.temporal.schedules import SWEEPS

    return SWEEPS[name]


@click.group(name="schedule")
def schedule() -> None:
    """Show and change the schedules of the periodic sweeps (daily, UTC; deliveries every 15 minutes)."""


@schedule.command(name="show")
@json_option
def show_command(as_json: bool) -> None:
    """Show each sweep's schedule: time of day, next runs, recent runs."""
    rows = _show()
    if as_json:
        echo_json(rows)
        return
    table(
        [
            {
                "name": r["name"],
                "schedule": r["schedule_id"],
                "time": _when(r),
                "paused": r.get("paused"),
                "next run": (r.get("next_runs") or [None])[0],
                "last run": (r.get("recent_runs") or [{}])[-1].get("started_at"),
            }
            for r in rows
        ],
        ["name", "schedule", "time", "paused", "next run", "last run"],
    )


def _when(row: dict[str, Any]) -> str:
    if not row.get("exists"):
        return "(missing: journey schedule ensure)"
    if row.get("every_minutes"):
        return f"every {row['every_minutes']} min"
    return f"{row['time']} {row['time_zone']}"


@connected
async def _show(client: Any) -> list[dict[str, Any]]:
    from journey.temporal.schedules import show

    return await show(client)


@schedule.command(name="ensure")
@click.option("--task-queue", default=TASK_QUEUE, show_default=True, help="Task queue the sweeps run on.")
def ensure_command(task_queue: str) -> None:
    """Create the sweeps' schedules that are missing; existing ones are left as they are."""
    created = _ensure(task_queue)
    click.echo(f"created {', '.join(created)}" if created else "all schedules exist; nothing changed")


@connected
async def _ensure(client: Any, task_queue: str) -> list[str]:
    from journey.temporal.schedules import ensure_schedules

    return await ensure_schedules(client, task_queue=task_queue)


@schedule.command(name="set")
@click.argument("name", type=click.Choice(DAILY_SWEEP_NAMES))
@click.option("--hour", type=click.IntRange(0, 23), required=True, help="Hour of day, UTC (0-23).")
@click.option("--minute", type=click.IntRange(0, 59), default=0, show_default=True, help="Minute of the hour.")
@json_option
def set_command(name: str, hour: int, minute: int, as_json: bool) -> None:
    """Run sweep NAME daily at --hour (and --minute) UTC; creates its schedule if missing."""
    row = _set(name, hour, minute)
    if as_json:
        echo_json(row)
    else:
        click.echo(f"{name}: daily at {row['time']} {row['time_zone']}; next run {(row.get('next_runs') or ['-'])[0]}")


@connected
async def _set(client: Any, name: str, hour: int, minute: int) -> dict[str, Any]:
    from journey.temporal.schedules import set_time

    return await set_time(client, _sweep(name), hour, minute)


@schedule.command(name="trigger")
@click.argument("name", type=click.Choice(SWEEP_NAMES))
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the sweep to finish and print its report.")
@json_option
def trigger_command(name: str, wait: bool, as_json: bool) -> None:
    """Run sweep NAME now, through its schedule."""
    result = _trigger(name, wait)
    if as_json:
        echo_json(result)
    elif wait:
        counts = ", ".join(f"{k} {v}" for k, v in result["report"].items() if isinstance(v, int))
        click.echo(f"{name}: {result['workflow_id']} done; {counts}")
    else:
        click.echo(f"{name}: started {result['workflow_id']}")


@connected
async def _trigger(client: Any, name: str, wait: bool) -> dict[str, Any]:
    from temporalio.client import WorkflowFailureError

    from journey.temporal.schedules import trigger

    try:
        handle = await trigger(client, _sweep(name))
    except TimeoutError as err:
        raise Failure(f"{err}; is a worker running?") from None
    result: dict[str, Any] = {"name": name, "workflow_id": handle.id}
    if wait:
        try:
            report = await handle.result()
        except WorkflowFailureError as err:
            raise Failure(f"{handle.id} failed: {err.cause}") from None
        result["report"] = report if isinstance(report, dict) else report.model_dump(mode="json")
    return result

