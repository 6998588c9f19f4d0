"""Reading journeys: `journey status`, `list`, `timeline`; and `repair`, for a journey
whose workflow task keeps failing. (`journey tasks` is in `journey.cli.tasks`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from journey.cli.common import (
    COLORS,
    MODELS,
    SEGMENTS,
    STAGES,
    Failure,
    connected,
    echo_json,
    json_option,
    open_store,
    table,
)
from journey.domain.errors import NotFound

if TYPE_CHECKING:
    from journey.store.records import Record


def _status_document(status: Any) -> dict[str, Any]:
    document = status.model_dump(mode="json")
    try:
        store = open_store()
        try:
            measured = store.account_metrics(status.account, status.today, status.seats)
            stored_tasks = store.tasks(account=status.account)
        finally:
            store.close()
    except Exception as err:  # the store is optional for status: say so, keep going
        document["metrics_error"] = str(err)
        return document
    # The store is the source of the measures: no usage means None, not a stale value.
    document.update(measured)
    # The journey knows its own tasks; a red-account remediation's are in the store only.
    known = {t["key"] for t in document["open_tasks"]}
    document["open_tasks"] += [
        {"touchpoint": t.touchpoint, "due": t.due.isoformat(), "owner": t.owner, "key": t.key}
        for t in stored_tasks if t.key not in known
    ]
    document["open_tasks"].sort(key=lambda t: (t["due"], t["touchpoint"]))
    return document


_ADOPTION_WORDS = {"no-data": "no-data: not judged until usage on or before it is reported"}


def print_status(status: Any, as_json: bool, headline: str | None = None) -> None:
    document = _status_document(status)
    if as_json:
        echo_json(document)
        return
    if headline:
        click.echo(headline)
    d = document
    if d["stage"] == "churned":
        click.echo(f"{d['name']} ({d['account']})  stage churned  health - (the journey has ended)")
    else:
        click.echo(f"{d['name']} ({d['account']})  stage {d['stage']}  health {d['health']}"
                   + (f" ({d['health_reason']})" if d.get("health_reason") else ""))
    click.echo(f"  {d['segment']} tier {d['tier']} {d['engagement_model']}; TA {d['ta']}, AE {d['ae']}; "
               f"{d['seats']} seats, ARR {d['arr']:,.0f}")
    click.echo(f"  renewal {d['renewal_date']} (term {d['term']}); adoption deadline {d.get('adoption_deadline') or '-'}"
               + (f" ({_ADOPTION_WORDS.get(d['adoption_result'], d['adoption_result'])})" if d.get("adoption_result") else ""))
    util = d.get("utilization")
    cons = d.get("consumption")
    click.echo(f"  utilization {'-' if util is None else f'{util:.1%}'}; consumption {'-' if cons is None else f'{cons:.1%}'}")
    if d["open_tasks"]:
        click.echo("  open tasks: " + ", ".join(f"{t['touchpoint']} ({t['owner']}, due {t['due']})" for t in d["open_tasks"]))
    if d.get("held_deliveries"):
        click.echo("  held for review: " + ", ".join(f"{t['key']} (due {t['due']})" for t in d["held_deliveries"])
                   + "  (journey deliveries show KEY, then approve or skip)")
    if d["next_touchpoints"]:
        click.echo("  next: " + ", ".join(f"{t['touchpoint']} {t['due']}" for t in d["next_touchpoints"]))
    if d.get("remediation"):
        click.echo(f"  remediation: {d['remediation']}")
    if d.get("allowed_events"):
        click.echo("  allowed events: " + ", ".join(e.replace("_", "-") for e in d["allowed_events"]))


@click.command()
@click.argument("account")
@json_option
def status(account: str, as_json: bool) -> None:
    """Show ACCOUNT's stage, health, metrics, open tasks and next touchpoints."""
    print_status(_query_status(account), as_json)


@connected
async def _query_status(client: Any, account: str) -> Any:
    from journey.temporal.journeys import journey_status

    return await journey_status(client, account)


@click.command(name="list")
@click.option("--stage", type=click.Choice(STAGES), default=None)
@click.option("--segment", type=click.Choice(SEGMENTS), default=None)
@click.option("--health", type=click.Choice(COLORS), default=None)
@click.option("--model", type=click.Choice(MODELS), default=None)
@click.option("--ta", default=None, help="Technical Advisor.")
@click.option("--all", "include_closed", is_flag=True, help="Include ended journeys.")
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--stuck", is_flag=True, help="Only running journeys whose workflow task keeps failing, with the failure.")
@json_option
def list_command(stage: str | None, segment: str | None, health: str | None, model: str | None,
                 ta: str | None, include_closed: bool, limit: int | None, stuck: bool, as_json: bool) -> None:
    """List journeys through Temporal visibility, filtered by stage, segment, health, TA."""
    from journey.temporal.journeys import visibility_query

    # A journey that has ended cannot be stuck: --stuck looks at running ones only.
    # Churned journeys have ended: asking for them includes ended ones.
    query = visibility_query(stage=stage, segment=segment, health=health, ta=ta, model=model,
                             running_only=stuck or not (include_closed or stage == "churned"))
    rows = _list(query, limit, stuck)
    columns = ["account", "stage", "health", "segment", "tier", "engagement_model", "ta", "renewal_date"]
    if as_json:
        echo_json(rows)
    else:
        # An ended journey has no health to speak of: its last color is not shown.
        shown = [{**r, "health": None} if r.get("stage") == "churned" else r for r in rows]
        table(shown, columns + (["attempts", "since", "failure"] if stuck else []))


@connected
async def _list(client: Any, query: str, limit: int | None, stuck: bool = False) -> list[dict[str, Any]]:
    from journey.temporal.journeys import list_journeys, stuck_journeys

    if stuck:
        return await stuck_journeys(client, query, limit)
    return await list_journeys(client, query, limit)


def _plain(record: Record) -> dict[str, Any]:
    """A stored row as `--json` prints it: ISO dates, and `account` beside `account_id`."""
    out = record.plain()
    out.setdefault("account", out.get("account_id"))
    return out


@click.command()
@click.argument("account")
@click.option("--kind", default=None, help="Only rows of this kind (stage, event, touchpoint, health, task, adoption, remediation).")
@json_option
def timeline(account: str, kind: str | None, as_json: bool) -> None:
    """Show ACCOUNT's timeline: every stage change, event, touchpoint and health change."""
    store = open_store()
    try:
        rows = [_plain(r) for r in store.timeline(account)]
        if not rows and store.find_account(account) is None:
            raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
    finally:
        store.close()
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    if as_json:
        echo_json(rows)
    else:
        from journey.domain.events import event_name_for_cli

        for row in rows:
            detail = dict(row.get("detail") or {})
            # Events and the triggers of stage changes in the CLI's spelling.
            name = event_name_for_cli(row["name"]) if row["kind"] == "event" else row["name"]
            if isinstance(detail.get("trigger"), str):
                detail["trigger"] = event_name_for_cli(detail["trigger"])
            extra = ", ".join(f"{k}={v}" for k, v in detail.items() if k not in ("playbook_version",))
            click.echo(f"{row['at']}  {row['kind']:<11} {name:<22} {extra}")


@click.command()
@click.argument("account")
@click.option("--yes", "assume_yes", is_flag=True, help="Reset without asking.")
@click.option("--wait", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Seconds to watch the reset journey for a workflow task that completes.")
@json_option
def repair(account: str, assume_yes: bool, wait: float, as_json: bool) -> None:
    """Find ACCOUNT's workflow task that keeps failing, show the failure, and reset the
    journey to its last good point (Temporal's reset).

    Fix the cause first (a worker with the corrected code or files); an update whose
    payload the code cannot process is dropped by the reset. The new run replays the
    journey up to the last workflow task that completed and goes on from there under the
    same workflow id. A journey that is not stuck is left alone.
    """
    diagnosis = _diagnose(account)
    document: dict[str, Any] = {
        "account": account, "workflow_id": diagnosis.workflow_id, "run_id": diagnosis.run_id,
        "status": diagnosis.status, "stuck": diagnosis.failure is not None, "failure": None, "reset": None,
    }
    failure = diagnosis.failure
    if failure is None:
        if as_json:
            echo_json(document)
        elif diagnosis.status == "running":
            click.echo(f"{diagnosis.workflow_id} is healthy: its workflow tasks complete; nothing to repair")
        else:
            click.echo(f"{diagnosis.workflow_id} is not running ({diagnosis.status}); nothing to repair")
        return
    document["failure"] = failure.document()
    _show_failure(failure, to_stderr=as_json)
    if not assume_yes:
        click.confirm(f"Reset {failure.workflow_id} to event {failure.reset_event_id}?", abort=True, err=True)
    reset = _reset(failure, wait)
    if reset is None:
        if as_json:
            echo_json(document)
        else:
            click.echo(f"{failure.workflow_id} is no longer stuck (it got past the task, or someone reset it); nothing reset")
        return
    outcome, new_run, again = reset
    document["reset"] = {"run_id": new_run, "event_id": failure.reset_event_id, "outcome": outcome,
                         "failure": again.document() if again else None}
    if as_json:
        echo_json(document)
    if again is not None:
        raise Failure(f"{failure.workflow_id} was reset (new run {new_run}) but fails again: {again.summary()}. "
                      f"The cause is not fixed yet; fix it and run `journey repair {account}` again")
    if not as_json:
        done = ("its workflow task completed" if outcome == "progressing"
                else f"no worker has run it within {wait:g} s; it goes on once one does")
        click.echo(f"reset {failure.workflow_id} to event {failure.reset_event_id}: new run {new_run}; {done}")


def _show_failure(failure: Any, to_stderr: bool) -> None:
    from journey.temporal.repair import describe_reset_point

    for line in (
        f"{failure.workflow_id} (run {failure.run_id}) is stuck: {failure.summary()}",
        *([f"  cause: {failure.cause}"] if failure.cause else []),
        f"  last good point: {describe_reset_point(failure)}",
        "  A reset starts a new run from there; the failing task, and any update waiting on it, are dropped.",
    ):
        click.echo(line, err=to_stderr)


@connected
async def _diagnose(client: Any, account: str) -> Any:
    from journey.temporal.journeys import journey_diagnosis

    return await journey_diagnosis(client, account)


@connected
async def _reset(client: Any, failure: Any, wait: float) -> tuple[str, str, Any] | None:
    """Reset and watch the new run; None when the run is no longer the stuck one (time
    passed at the prompt), so that a journey that went on is never sent back."""
    from journey.temporal.repair import await_progress, diagnose, reset_to_last_good_point

    now = await diagnose(client, failure.workflow_id)
    if now.failure is None or now.run_id != failure.run_id:
        return None
    reason = f"journey repair: {failure.summary()}"
    new_run = await reset_to_last_good_point(client, failure, reason)
    outcome, again = await await_progress(client, failure.workflow_id, new_run, failure.reset_event_id, wait)
    return outcome, new_run, again
