"""`journey plan`: the quarterly account plan and its items; `journey review`: the 2x2
meeting view of a TA's accounts.

`journey plan ACCOUNT` builds the plan and `journey plan add|close` record its items: the
group runs its hidden `show` command whenever its first argument is not a subcommand, so
an account is named directly (`journey plan show add` reaches an account called `add`).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from journey.cli.common import DefaultCommandGroup, echo_json, json_option, open_store, table

QUARTER_HELP = "Fiscal quarter, e.g. FY27Q1 (the fiscal year starts in February and is named by the year it ends in)."


def _day(value: datetime | None) -> date:
    return value.date() if value is not None else date.today()


def _on_option(help_text: str) -> Any:
    return click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=help_text)


class PlanGroup(DefaultCommandGroup):
    """`plan ACCOUNT ...` is `plan show ACCOUNT ...`; `plan add|close ...` are subcommands."""

    DEFAULT = "show"
    USAGE = (
        "{path} ACCOUNT [OPTIONS]",
        "{path} add ACCOUNT TEXT --objective|--risk|--opportunity|--use-case [--on DATE]",
        "{path} close ACCOUNT ITEM --outcome met|missed|dropped [--notes TEXT] [--on DATE]",
    )
    DEFAULT_OPTIONS = "Options of {path} ACCOUNT"


@click.group(cls=PlanGroup, no_args_is_help=True)
def plan() -> None:
    """The quarterly account plan: `journey plan ACCOUNT` writes it, `add` and `close` record its items.

    `journey plan ACCOUNT` builds ACCOUNT's plan for a quarter (--quarter, default the
    quarter of --on) with the handbook's sections: contacts by role, use cases, usage
    (utilization, MAU against seats), NPS, health and why; expansion opportunities, risks,
    product feedback themes, the quarter's objectives, and last quarter's objectives with
    their outcomes. It writes ACCOUNT-plan-QUARTER.md and .html to $JOURNEY_HOME/reports/ACCOUNT/
    (or --out) and prints their paths; --json prints the plan document.

    Items stay open, and in every later quarter's plan, until closed with an outcome.
    """


@plan.command(name="show", hidden=True)
@click.argument("account")
@click.option("--quarter", default=None, help=QUARTER_HELP + " Default: the quarter of --on.")
@_on_option("The plan's date (YYYY-MM-DD; default today): figures are as of it, or of the quarter's last day when earlier.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the markdown and HTML files (default: $JOURNEY_HOME/reports/ACCOUNT/).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan document as JSON (the files are written too).")
def show(account: str, quarter: str | None, on: datetime | None, out_dir: Path | None, as_json: bool) -> None:
    """Write ACCOUNT's account plan for a quarter as markdown and HTML (this is `journey plan ACCOUNT`)."""
    from journey.domain.quarters import parse_quarter, quarter_of
    from journey.reports.plan import account_plan, write_plan

    today = _day(on)
    chosen = quarter_of(today) if quarter is None else parse_quarter(quarter).name
    store = open_store()
    try:
        built = account_plan(store, account, chosen, today)
    finally:
        store.close()
    if out_dir is None:
        from journey.config import reports_dir

        # Beside the reports the worker attaches to tasks, never the current directory.
        out_dir = reports_dir() / built.account
    md_path, html_path = write_plan(built, out_dir)
    if as_json:
        echo_json(built.document() | {"paths": {"markdown": str(md_path), "html": str(html_path)}})
    else:
        click.echo(f"wrote {md_path}")
        click.echo(f"wrote {html_path}")


KINDS = {
    "objective": "a quarterly account objective",
    "risk": "an account risk or challenge",
    "opportunity": "an expansion or growth opportunity",
    "use-case": "a use case",
}


def _kind_options(func: Any) -> Any:
    for kind, what in reversed(KINDS.items()):
        func = click.option(f"--{kind}", kind.replace("-", "_"), is_flag=True, help=f"TEXT is {what}.")(func)
    return func


@plan.command(name="add")
@click.argument("account")
@click.argument("text")
@_kind_options
@_on_option("The day it was raised (YYYY-MM-DD; default today): its quarter is this day's.")
def add(account: str, text: str, on: datetime | None, **kinds: bool) -> None:
    """Record an item of ACCOUNT's plan and print its number (the ITEM of `journey plan close`).

    Give exactly one of --objective, --risk, --opportunity, --use-case. The item shows in
    the plan of the quarter it is raised in and of every quarter after, until closed.
    """
    from journey.cli.common import BadInput

    chosen = [kind for kind in KINDS if kinds[kind.replace("-", "_")]]
    if len(chosen) != 1:
        raise BadInput("field 'kind': give exactly one of --objective, --risk, --opportunity, --use-case")
    store = open_store()
    try:
        item = store.add_plan_item(account, chosen[0], text, _day(on))
    finally:
        store.close()
    click.echo(item.number)


@plan.command(name="close")
@click.argument("account")
@click.argument("item", type=click.IntRange(min=1))
@click.option("--outcome", required=True, type=click.Choice(["met", "missed", "dropped"]), help="How it ended.")
@click.option("--notes", default=None, help="What happened, for the next plan.")
@_on_option("The day it was closed (YYYY-MM-DD; default today).")
def close(account: str, item: int, outcome: str, notes: str | None, on: datetime | None) -> None:
    """Close ITEM of ACCOUNT's plan with its outcome.

    A closed objective shows with its outcome in the next quarter's plan, under last
    quarter's objectives. Closing an item twice, or an unknown ITEM, exits 2.
    """
    store = open_store()
    try:
        closed = store.close_plan_item(account, item, outcome, _day(on), notes=notes)
    finally:
        store.close()
    click.echo(f"closed item {closed.number} of {account}: {closed.outcome} on {closed.closed_on}")


@click.command()
@click.option("--ta", "ta", required=True, help="The Technical Advisor whose accounts to review.")
@_on_option("The day of the review (YYYY-MM-DD; default today).")
@json_option
def review(ta: str, on: datetime | None, as_json: bool) -> None:
    """The 2x2 meeting view of a TA's active accounts, what needs attention first.

    For each account: health and its top reasons (the stored health score's measures that
    capped the color or lost the most points), utilization against the 80% target, the
    renewal date, open and overdue tasks, and the plan's open risks and objectives. Sorted
    red, then yellow, then green; within a color by overdue tasks (most first), then by the
    soonest renewal. An unknown TA exits 2.
    """
    from journey.reports.plan import review as build_review

    store = open_store()
    try:
        built = build_review(store, ta, _day(on))
    finally:
        store.close()
    if as_json:
        echo_json(built.document())
        return
    rows = [
        {
            "account": a.account,
            "health": a.health,
            "score": a.health_score,
            "utilization": a.utilization,
            "renewal": a.renewal_date.isoformat(),
            "days": a.days_to_renewal,
            "open": a.open_tasks,
            "overdue": a.overdue_tasks,
            "risks": len(a.risks),
            "objectives": len(a.objectives),
        }
        for a in built.accounts
    ]
    click.echo(f"TA {ta} on {built.on}: {len(rows)} active account{'' if len(rows) == 1 else 's'} (utilization target 80%)")
    table(rows, ["account", "health", "score", "utilization", "renewal", "days", "open", "overdue", "risks", "objectives"])
    for a in built.accounts:
        lines = [f"  why: {r['measure']}: {r['reason']}" for r in a.reasons if r["reason"]]
        lines += [f"  risk {r['item']}: {r['text']}" for r in a.risks]
        lines += [f"  objective {o['item']}: {o['text']}" for o in a.objectives]
        if lines:
            click.echo(f"{a.account} ({a.name}):")
            for line in lines:
                click.echo(line)
