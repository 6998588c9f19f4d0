"""`journey simulate`: preview a portfolio's journeys on the time-skipping server."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from journey.cli.common import echo_json, json_option, run, table


@click.command()
@click.option("--accounts", "accounts_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Accounts CSV.")
@click.option("--usage", "usage_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Usage CSV (account,date,dau,mau).")
@click.option("--events", "events_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Events CSV (account,date,event,data).")
@click.option("--start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First simulated day (any date, past or future).")
@click.option("--days", required=True, type=click.IntRange(1, 3660), help="How many days to simulate.")
@json_option
def simulate(accounts_file: Path, usage_file: Path | None, events_file: Path | None, start: Any, days: int, as_json: bool) -> None:
    """Dry-run real journeys: print the touchpoint calendar, stage changes and health changes.

    The journeys run on Temporal's time-skipping test server against a throwaway
    database; nothing is sent to anyone and nothing is written to your store. Usage
    reaches them as the nightly health sweep sends it, so usage-milestone touches fall on
    the day a milestone is reached; health colors come from events and the adoption
    deadline, not from the health score.
    """
    from journey.files import read_accounts, read_events, read_usage
    from journey.temporal.simulate import simulate as run_simulation

    first: date = start.date()
    accounts = read_accounts(accounts_file)
    known = {a.id for a in accounts}
    usage = read_usage(usage_file, known_accounts=known) if usage_file else []
    events = read_events(events_file, known_accounts=known) if events_file else []
    if as_json:
        result = run(run_simulation(accounts, start=first, days=days, usage=usage, events=events))
    else:
        with click.progressbar(length=days, label="simulating", file=sys.stderr) as bar:
            result = run(run_simulation(accounts, start=first, days=days, usage=usage, events=events, progress=bar.update))
    if as_json:
        echo_json(result.model_dump(mode="json"))
        return
    click.echo(f"Touchpoints ({len(result.touchpoints)})")
    table([t.model_dump(mode="json") for t in result.touchpoints], ["due", "account", "touchpoint", "stage"])
    click.echo(f"\nStage changes ({len(result.stages)})")
    table([s.model_dump(mode="json") for s in result.stages], ["at", "account", "stage"])
    click.echo(f"\nHealth changes ({len(result.health)})")
    table([h.model_dump(mode="json") for h in result.health], ["at", "account", "color", "reason"])
