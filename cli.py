"""`journey`: the command line of the customer-journey engine.

This module only parses, calls `journey.operations` / the store, and prints. Domain
errors become exit status 2 with a message naming the field, row or line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from journey.commands.common import (
    COLORS,
    MODELS,
    SEGMENTS,
    STAGES,
    BadInput,
    Failure,
    connected,
    echo_json,
    json_option,
    open_store,
    run,
    state,
    table,
    today_option,
)

# ----- the group -----


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="journey", message="journey %(version)s")
def main() -> None:
    """Customer journeys for post-sales Technical Advisor teams, durable on Temporal.

    Start the embedded stack with `journey up`, enroll accounts with `journey import
    accounts.csv`, then drive them with `journey event` and watch them with `journey
    status`, `journey list` and the Temporal Web UI (http://localhost:8233).
    """


# ----- servers and workers -----


def server_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--ui-port", default=8233, show_default=True, help="Port of the Web UI.")(func)
    func = click.option("--port", default=7233, show_default=True, help="gRPC port of the server.")(func)
    func = click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")(func)
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the server keeps its state (default: $JOURNEY_HOME/temporal).",
    )(func)
    return func


def _state_dir(state_dir: Path | None) -> Path:
    from journey.config import journey_home

    return state_dir or journey_home() / "temporal"


@main.command()
@server_options
def server(state_dir: Path | None, ip: str, port: int, ui_port: int) -> None:
    """Run the embedded Temporal dev server with its Web UI; state is kept on disk."""
    from journey.devserver import start_server, stop_server

    directory = _state_dir(state_dir)
    try:
        process = start_server(directory, ip=ip, port=port, ui_port=ui_port)
    except RuntimeError as err:
        raise Failure(str(err)) from None
    click.echo(f"Temporal dev server on {ip}:{port}, Web UI http://{ip}:{ui_port}, state in {directory}")
    click.echo("Press Ctrl-C to stop.")
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(process)


async def _run_worker(stop: asyncio.Event, *, task_queue: str) -> None:
    from journey.client import connect
    from journey.config import journey_home
    from journey.schedules import ensure_schedules
    from workflows.worker import build_worker

    store = open_store()
    client = await connect()
    worker = build_worker(client, store, task_queue=task_queue, reports_dir=journey_home() / "reports")
    # The nightly health sweep and the daily task reminders run wherever a worker does.
    created = await ensure_schedules(client, task_queue=task_queue)
    if created:
        click.echo(f"created schedules: {', '.join(created)}")
    async with worker:
        click.echo(f"worker polling task queue {task_queue!r}; database {store.engine.url.render_as_string(hide_password=True)}")
        await stop.wait()
    store.close()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@main.command()
@click.option("--task-queue", default="journey", show_default=True, help="Task queue to poll.")
def worker(task_queue: str) -> None:
    """Run a worker: executes journeys and writes the store. Run several to scale out."""

    async def body() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await _run_worker(stop, task_queue=task_queue)

    state["temporal"] = True
    try:
        run(body())
    except RuntimeError as err:
        raise Failure(f"worker stopped: {err}") from None
    click.echo("worker stopped")


@main.command()
@server_options
@click.option("--sample", is_flag=True, help="Enroll the sample portfolio (one account per segment and more).")
def up(state_dir: Path | None, ip: str, port: int, ui_port: int, sample: bool) -> None:
    """Run the dev server and a worker together; Ctrl-C stops both."""
    from journey.devserver import start_server, stop_server

    directory = _state_dir(state_dir)
    os.environ["TEMPORAL_ADDRESS"] = f"{ip}:{port}"
    try:
        process = start_server(directory, ip=ip, port=port, ui_port=ui_port)
    except RuntimeError as err:
        raise Failure(str(err)) from None
    click.echo(f"Temporal dev server on {ip}:{port} (state in {directory})")
    click.echo(f"Web UI: http://{ip}:{ui_port}/namespaces/default/workflows")

    async def body() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        worker_task = asyncio.create_task(_run_worker(stop, task_queue="journey"))
        if sample:
            await _enroll_sample()
        click.echo("Press Ctrl-C to stop the worker and the server.")
        await worker_task

    state["temporal"] = True
    try:
        run(body())
    finally:
        stop_server(process)
        click.echo("server stopped")


async def _enroll_sample() -> None:
    from journey.client import connect
    from journey.files import read_accounts
    from journey.operations import enroll_many

    accounts = read_accounts(sample_portfolio())
    client = await connect()
    report = await enroll_many(client, accounts)
    click.echo(f"sample portfolio: {len(report.started)} enrolled, {len(report.existing)} already enrolled")


def sample_portfolio() -> Path:
    return Path(__file__).resolve().parent / "journey" / "data" / "sample_accounts.csv"


# ----- enrollment -----


@main.command()
@click.option("--id", "account_id", required=True, help="Account id (a slug: lowercase, digits, dashes).")
@click.option("--name", required=True, help="Account name.")
@click.option("--segment", required=True, type=click.Choice(SEGMENTS), help="Customer segment.")
@click.option("--tier", required=True, type=int, help="Tier 1-3.")
@click.option("--seats", required=True, type=int, help="Licensed seats.")
@click.option("--arr", required=True, type=float, help="Annual recurring revenue.")
@click.option("--signed", required=True, help="Contract signed date, YYYY-MM-DD.")
@click.option("--renewal", required=True, help="Renewal date, YYYY-MM-DD.")
@click.option("--ta", required=True, help="Technical Advisor.")
@click.option("--ae", required=True, help="Account Executive.")
@click.option("--model", type=click.Choice(MODELS), default=None, help="Engagement model (default from segment).")
@click.option("--deployment", type=click.Choice(["cloud", "self-hosted"]), default="cloud", show_default=True)
@click.option("--production-ready", default=None, help="Date production infrastructure was established.")
@click.option("--onboarding-complete", default=None, help="Date user onboarding completed.")
@click.option("--contact", "contacts", multiple=True, metavar="ROLE:NAME[:EMAIL]", help="A contact (champion, economic-buyer, tech-advocate, admin); repeatable.")
@json_option
def enroll(account_id: str, contacts: tuple[str, ...], as_json: bool, **fields: Any) -> None:
    """Enroll one account: its journey starts at once, in the stage its dates say."""
    from journey.models import Account, describe_validation_error

    data = {"id": account_id, **{k: v for k, v in fields.items() if v is not None}}
    parsed_contacts = []
    for index, text in enumerate(contacts, 1):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise BadInput(f"--contact #{index}: expected ROLE:NAME or ROLE:NAME:EMAIL, got {text!r}")
        parsed_contacts.append({"role": parts[0], "name": parts[1], **({"email": parts[2]} if len(parts) == 3 else {})})
    data["contacts"] = parsed_contacts
    try:
        account = Account.model_validate(data)
    except ValidationError as err:
        raise BadInput(describe_validation_error(err, prefix="enroll: ")) from None
    started = _enroll([account])
    if as_json:
        echo_json({"account": account.id, "enrolled": bool(started.started)})
    elif started.started:
        click.echo(f"enrolled {account.id} ({account.engagement_model.value}); journey-{account.id}")
    else:
        click.echo(f"{account.id} already has a journey; nothing changed")


@connected
async def _enroll(client: Any, accounts: list[Any], progress: bool = False) -> Any:
    from journey.operations import enroll_many

    if not progress:
        return await enroll_many(client, accounts)
    with click.progressbar(length=len(accounts), label="enrolling", file=sys.stderr) as bar:
        return await enroll_many(client, accounts, progress=bar.update)


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def import_accounts(file: Path, as_json: bool) -> None:
    """Enroll every account of an accounts CSV (id,name,segment,tier,seats,arr,signed,renewal,ta,ae
    and optional model,deployment,production_ready,onboarding_complete).

    The whole file is checked first; any bad row stops the import with every problem
    listed by line, and nothing is enrolled. Importing the same file again changes nothing.
    """
    from journey.files import FileProblems, read_accounts

    try:
        accounts = read_accounts(file)
    except FileProblems as err:
        raise BadInput(str(err)) from None
    report = _enroll(accounts, progress=not as_json)
    if as_json:
        echo_json({"enrolled": report.started, "already_enrolled": report.existing})
    else:
        click.echo(f"{len(report.started)} enrolled, {len(report.existing)} already enrolled")


# ----- events -----


def _parse_data(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInput(f"--data: not valid JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(data, dict):
        raise BadInput("--data: must be a JSON object")
    return data


def _check_payload(event: str, data: dict[str, Any]) -> None:
    from journey.models import PayloadError, parse_event

    try:
        parse_event(event, data)
    except PayloadError as err:
        raise BadInput(str(err)) from None


@main.command()
@click.argument("account")
@click.argument("event")
@click.option("--data", default=None, help="The event's payload as a JSON object.")
@today_option
@json_option
def event(account: str, event: str, data: str | None, on: Any, as_json: bool) -> None:
    """Report an EVENT for ACCOUNT: kickoff-held, production-ready, onboarding-complete,
    set-health, touchpoint-done, renewal-closed, contract-changed, offboard.

    \b
    Examples:
      journey event acme kickoff-held --data '{"check_in_cadence_days": 14}'
      journey event acme production-ready --on 2026-03-02
      journey event acme renewal-closed --data '{"outcome": "renewed", "seats": 600}'
    """
    from journey.models import event_name_from_cli

    name = event_name_from_cli(event)
    payload = _parse_data(data)
    if on is not None:
        payload["on"] = on.date().isoformat()
    _check_payload(name, payload)
    status = _send(account, name, payload)
    _print_status(status, as_json, headline=f"{account}: {event} recorded")


@connected
async def _send(client: Any, account: str, event: str, payload: dict[str, Any]) -> Any:
    from journey.operations import send_event

    return await send_event(client, account, event, payload)


@main.command()
@click.argument("account")
@click.argument("color", type=click.Choice(COLORS))
@click.option("--reason", required=True, help="Why (e.g. 'champion left').")
@click.option("--expires-days", type=click.IntRange(1, 365), default=None, help="Days the hand-set color wins over the score (default 14).")
@today_option
@json_option
def health(account: str, color: str, reason: str, expires_days: int | None, on: Any, as_json: bool) -> None:
    """Set ACCOUNT's health by hand; red starts red-account remediation."""
    payload: dict[str, Any] = {"color": color, "reason": reason}
    if expires_days:
        payload["expires_days"] = expires_days
    if on is not None:
        payload["on"] = on.date().isoformat()
    _check_payload("set_health", payload)
    _print_status(_send(account, "set_health", payload), as_json, headline=f"{account}: health {color}")


@main.command()
@click.argument("account")
@click.argument("touchpoint")
@click.option("--notes", default=None, help="Notes for the timeline.")
@today_option
@json_option
def done(account: str, touchpoint: str, notes: str | None, on: Any, as_json: bool) -> None:
    """Mark ACCOUNT's open TOUCHPOINT task done; the journey stops reminding."""
    payload: dict[str, Any] = {"touchpoint": touchpoint}
    if notes:
        payload["notes"] = notes
    if on is not None:
        payload["on"] = on.date().isoformat()
    _check_payload("touchpoint_done", payload)
    _print_status(_send(account, "touchpoint_done", payload), as_json, headline=f"{account}: {touchpoint} done")


# ----- reading -----


def _status_document(status: Any) -> dict[str, Any]:
    from journey.metrics import account_metrics

    document = status.model_dump(mode="json")
    try:
        store = open_store()
        try:
            measured = account_metrics(store, status.account, status.today, status.seats)
        finally:
            store.close()
    except Exception as err:  # the store is optional for status: say so, keep going
        document["metrics_error"] = str(err)
        return document
    # The store is the source of the measures: no usage means None, not a stale value.
    document.update(measured)
    return document


def _print_status(status: Any, as_json: bool, headline: str | None = None) -> None:
    document = _status_document(status)
    if as_json:
        echo_json(document)
        return
    if headline:
        click.echo(headline)
    d = document
    click.echo(f"{d['name']} ({d['account']})  stage {d['stage']}  health {d['health']}"
               + (f" ({d['health_reason']})" if d.get("health_reason") else ""))
    click.echo(f"  {d['segment']} tier {d['tier']} {d['engagement_model']}; TA {d['ta']}, AE {d['ae']}; "
               f"{d['seats']} seats, ARR {d['arr']:,.0f}")
    click.echo(f"  renewal {d['renewal_date']} (term {d['term']}); adoption deadline {d.get('adoption_deadline') or '-'}"
               + (f" ({d['adoption_result']})" if d.get("adoption_result") else ""))
    util = d.get("utilization")
    cons = d.get("consumption")
    click.echo(f"  utilization {'-' if util is None else f'{util:.1%}'}; consumption {'-' if cons is None else f'{cons:.1%}'}")
    if d["open_tasks"]:
        click.echo("  open tasks: " + ", ".join(f"{t['touchpoint']} ({t['owner']}, due {t['due']})" for t in d["open_tasks"]))
    if d["next_touchpoints"]:
        click.echo("  next: " + ", ".join(f"{t['touchpoint']} {t['due']}" for t in d["next_touchpoints"]))
    if d.get("remediation"):
        click.echo(f"  remediation: {d['remediation']}")
    if d.get("allowed_events"):
        click.echo("  allowed events: " + ", ".join(e.replace("_", "-") for e in d["allowed_events"]))


@main.command()
@click.argument("account")
@json_option
def status(account: str, as_json: bool) -> None:
    """Show ACCOUNT's stage, health, metrics, open tasks and next touchpoints."""
    _print_status(_query_status(account), as_json)


@connected
async def _query_status(client: Any, account: str) -> Any:
    from journey.operations import journey_status

    return await journey_status(client, account)


@main.command(name="list")
@click.option("--stage", type=click.Choice(STAGES), default=None)
@click.option("--segment", type=click.Choice(SEGMENTS), default=None)
@click.option("--health", type=click.Choice(COLORS), default=None)
@click.option("--model", type=click.Choice(MODELS), default=None)
@click.option("--ta", default=None, help="Technical Advisor.")
@click.option("--all", "include_closed", is_flag=True, help="Include ended journeys.")
@click.option("--limit", type=click.IntRange(1), default=None)
@json_option
def list_command(stage: str | None, segment: str | None, health: str | None, model: str | None,
                 ta: str | None, include_closed: bool, limit: int | None, as_json: bool) -> None:
    """List journeys through Temporal visibility, filtered by stage, segment, health, TA."""
    from journey.operations import visibility_query

    query = visibility_query(stage=stage, segment=segment, health=health, ta=ta, model=model, running_only=not include_closed)
    rows = _list(query, limit)
    if as_json:
        echo_json(rows)
    else:
        table(rows, ["account", "stage", "health", "segment", "tier", "engagement_model", "ta", "renewal_date"])


@connected
async def _list(client: Any, query: str, limit: int | None) -> list[dict[str, Any]]:
    from journey.operations import list_journeys

    return await list_journeys(client, query, limit)


@main.command()
@click.option("--owner", default=None, help="Only tasks owned by this person.")
@click.option("--account", default=None, help="Only this account's tasks.")
@click.option("--overdue", is_flag=True, help="Only tasks past their due date.")
@click.option("--status", "status_", type=click.Choice(["open", "done", "skipped", "cancelled", "all"]), default="open", show_default=True)
@json_option
def tasks(owner: str | None, account: str | None, overdue: bool, status_: str, as_json: bool) -> None:
    """List tasks for people, soonest due first."""
    store = open_store()
    try:
        rows = store.tasks(owner=owner, account=account, status=None if status_ == "all" else status_,
                           overdue_on=date.today() if overdue else None)
    finally:
        store.close()
    rows = [_plain(r) for r in rows]
    if as_json:
        echo_json(rows)
    else:
        table(rows, ["account", "touchpoint", "owner", "due", "status", "title"])


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    if "account_id" in out and "account" not in out:
        out["account"] = out["account_id"]
    return out


@main.command()
@click.argument("account")
@click.option("--kind", default=None, help="Only rows of this kind (stage, event, touchpoint, health, task, adoption, remediation).")
@json_option
def timeline(account: str, kind: str | None, as_json: bool) -> None:
    """Show ACCOUNT's timeline: every stage change, event, touchpoint and health change."""
    store = open_store()
    try:
        rows = [_plain(r) for r in store.timeline(account)]
    finally:
        store.close()
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            detail = row.get("detail") or {}
            extra = ", ".join(f"{k}={v}" for k, v in detail.items() if k not in ("playbook_version",))
            click.echo(f"{row['at']}  {row['kind']:<11} {row['name']:<22} {extra}")


# ----- playbooks -----


@main.group()
def playbook() -> None:
    """Validate, show and draw the playbooks and state machines."""


@playbook.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check playbook FILES (default: the four in playbooks/)."""
    from journey.playbook import PlaybookError, load_playbook
    from playbooks import DEFAULT_DIR

    paths: Iterable[Path] = files or [DEFAULT_DIR / f"{model}.toml" for model in MODELS]  # not health.toml
    failed = []
    for path in paths:
        try:
            book = load_playbook(path)
        except PlaybookError as err:
            failed.append(str(err))
            continue
        click.echo(f"{path}: ok ({book.model.value}, {len(book.touchpoints)} touchpoints, version {book.version})")
    if failed:
        raise BadInput("\n".join(failed))


@playbook.command()
@click.argument("model", type=click.Choice(MODELS))
@json_option
def show(model: str, as_json: bool) -> None:
    """Show MODEL's playbook: every touchpoint, when it fires and who owns it."""
    from journey.models import EngagementModel
    from journey.playbook import PlaybookError, load_playbooks

    try:
        book = load_playbooks()[EngagementModel(model)]
    except PlaybookError as err:
        raise BadInput(str(err)) from None
    if as_json:
        echo_json(book.model_dump(mode="json") | {"version": book.version})
        return
    click.echo(f"{book.title or book.model.value} (version {book.version})")
    rows = []
    for tp in book.touchpoints:
        when = f"{tp.anchor.value}{tp.offset_days:+d}d"
        if tp.recurrence:
            when += f", every {tp.recurrence.interval} {tp.recurrence.every.value}"
            if tp.recurrence.count:
                when += f" x{tp.recurrence.count}"
        if tp.milestones:
            when = "utilization " + "/".join(f"{m:.0%}" for m in tp.milestones)
        rows.append({
            "touchpoint": tp.id, "owner": tp.owner.value, "channel": tp.channel.value, "when": when,
            "stages": ",".join(s.value for s in tp.stages) or "any",
            "tiers": ",".join(map(str, tp.tiers)) or "all",
        })
    table(rows, ["touchpoint", "owner", "channel", "when", "stages", "tiers"])


@playbook.command()
@click.option("--machine", type=click.Choice(["lifecycle", "health", "both"]), default="both", show_default=True)
def diagram(machine: str) -> None:
    """Print the lifecycle and health state machines as Mermaid."""
    from journey.machines import mermaid_health, mermaid_lifecycle

    if machine in ("lifecycle", "both"):
        click.echo(mermaid_lifecycle())
    if machine in ("health", "both"):
        click.echo(mermaid_health())


@playbook.command()
def schema() -> None:
    """Print the JSON Schema of playbook files, for editors."""
    from journey.playbook import playbook_json_schema

    echo_json(playbook_json_schema())


def entry() -> None:
    """Console-script entry. A process that talked to Temporal leaves without interpreter
    teardown: the SDK's runtime threads can abort a normal exit (sdk-python #300)."""
    from journey.client import use_quiet_runtime

    use_quiet_runtime()
    try:
        main(standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if state["temporal"]:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise


# ----- command groups from journey/commands/ -----
# (each module defines its commands; they are registered here, one line each)
from journey.commands.simulate import simulate  # noqa: E402

main.add_command(simulate)
from journey.commands.schedule import schedule  # noqa: E402

main.add_command(schedule)
from journey.commands.playbook_apply import apply_command  # noqa: E402

playbook.add_command(apply_command)

from journey.commands.usage import nps, usage  # noqa: E402

main.add_command(usage)
main.add_command(nps)
from journey.commands.kpis import kpis  # noqa: E402

main.add_command(kpis)

from journey.commands.health_score import health_score  # noqa: E402

main.add_command(health_score)
from journey.commands.report import report  # noqa: E402

main.add_command(report)
from journey.commands.deliveries import deliveries  # noqa: E402

main.add_command(deliveries)


if __name__ == "__main__":
    entry()
