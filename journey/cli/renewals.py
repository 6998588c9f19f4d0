"""`journey renewals`, `journey assess`, `journey deployments`: the renewal pipeline finance
reviews each quarter, the monthly renewal health assessment, and the self-hosted
deployments still short of production.

`renewals` and `deployments` read the store alone (the accounts mirror their journey's
stage and health). `assess` records in the store, and tells the journey only what it must
know: that the month's `renewal-assessment` task is done, and, with `--red`, that the
account is red.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import click
from pydantic import ValidationError

from journey.cli.common import BadInput, connected, echo_json, json_option, open_store, table, today_option
from journey.domain.errors import InputError, NotFound, describe_validation_error
from journey.domain.numbers import money
from journey.domain.text import one_line

DATE = click.DateTime(formats=["%Y-%m-%d"])
# Without a window: the renewals of the next 90 days, the renewal stage's own window.
DEFAULT_WINDOW_DAYS = 90
# Risk text in the table is cut to this many characters (`--json` keeps all of it).
SHOWN_RISK = 40


class QuarterType(click.ParamType):
    """A fiscal quarter named FY<yy>Q<1-4> (journey.domain.quarters)."""

    name = "FYyyQn"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from journey.domain.quarters import Quarter, parse_quarter

        if isinstance(value, Quarter):
            return value
        try:
            return parse_quarter(str(value))
        except InputError as err:
            self.fail(str(err), param, ctx)


def renewal_window(first: date | None, last: date | None, quarter: Any, today: date) -> tuple[date, date]:
    """The window [first, last] the options give: a fiscal quarter, or --from/--to (an
    open end: today, or 90 days after the start), or the next 90 days."""
    if quarter is not None:
        if first is not None or last is not None:
            option = "--from" if first is not None else "--to"
            raise BadInput(f"--quarter: cannot be combined with {option} (give a quarter or a date range)")
        return quarter.first, quarter.last
    first = first or today
    last = last or first + timedelta(days=DEFAULT_WINDOW_DAYS)
    if last < first:
        raise BadInput(f"--to: {last} is before --from {first}")
    return first, last


@click.command()
@click.option("--from", "first", type=DATE, default=None, help="First renewal date of the window (YYYY-MM-DD); default today.")
@click.option("--to", "last", type=DATE, default=None, help="Last renewal date of the window (YYYY-MM-DD); default 90 days after --from.")
@click.option("--quarter", type=QuarterType(), metavar="FYyyQn", default=None, help="A fiscal quarter instead of --from/--to, e.g. FY27Q2.")
@click.option("--ta", default=None, help="Only this Technical Advisor's accounts.")
@json_option
def renewals(first: datetime | None, last: datetime | None, quarter: Any, ta: str | None, as_json: bool) -> None:
    """The renewal pipeline: the accounts renewing in a window, in date order.

    Each with ARR, health, stage, whether the value review of its current term is done
    and its latest renewal assessment's risks; then the ARR renewing and the ARR at risk
    (yellow and red accounts). Bounds are inclusive; default: the next 90 days.
    """
    window = renewal_window(None if first is None else first.date(), None if last is None else last.date(),
                            quarter, date.today())
    with open_store() as store:
        pipeline = store.renewal_pipeline(*window, ta=ta)
    document = {
        "from": pipeline.first.isoformat(),
        "to": pipeline.last.isoformat(),
        "quarter": None if quarter is None else quarter.name,
        "ta": ta,
        "renewals": [r.model_dump(mode="json") for r in pipeline.renewals],
        "totals": pipeline.totals.model_dump(mode="json"),
    }
    if as_json:
        echo_json(document)
        return
    rows = []
    for r in document["renewals"]:
        assessment = r["assessment"] or {}
        rows.append({**r, "value_review": "done" if r["value_review_done"] else "-",
                     "assessed": assessment.get("on"), "ae_risk": _cut(assessment.get("ae_risk")),
                     "ta_risk": _cut(assessment.get("ta_risk"))})
    table(rows, ["renewal", "account", "arr", "health", "stage", "ta", "value_review", "assessed", "ae_risk", "ta_risk"])
    t = pipeline.totals
    named = f" ({quarter.name})" if quarter is not None else ""
    click.echo(
        f"{t.accounts} renewing {pipeline.first}..{pipeline.last}{named}: ARR {money(t.arr_renewing)}; "
        f"at risk (yellow, red) {t.at_risk}: ARR {money(t.arr_at_risk)}; "
        f"value reviews done {t.value_reviews_done}, assessed {t.assessed}"
    )


@click.command()
@json_option
def deployments(as_json: bool) -> None:
    """Self-hosted accounts not production ready yet, longest since signature first.

    Each with the days since signature, stage, TA and the open deployment follow-up task.
    """
    with open_store() as store:
        rows = [d.model_dump(mode="json") for d in store.deployments(date.today())]
    if as_json:
        echo_json(rows)
    else:
        table(rows, ["account", "signed", "days_since_signed", "stage", "ta", "follow_up_due"])


@click.command()
@click.argument("account")
@click.option("--ae-risk", required=True, help="The AE's relationship and business risks.")
@click.option("--ta-risk", required=True, help="The TA's technical risks.")
@click.option("--red", is_flag=True, help="Put the account in the Red Accounts Program with these risks as its reason.")
@today_option
@json_option
def assess(account: str, ae_risk: str, ta_risk: str, red: bool, on: datetime | None, as_json: bool) -> None:
    """Record ACCOUNT's monthly renewal health assessment.

    One per account and month: a second one that month replaces the first. It closes the
    month's open renewal-assessment task; it is on the timeline with both risks; --red
    sets the account red with the risks as the reason.
    """
    from journey.domain.events import parse_event
    from journey.domain.names import Update
    from journey.store.book import RENEWAL_ASSESSMENT, Assessment

    day = date.today() if on is None else on.date()
    try:
        assessment = Assessment.model_validate({"account": account, "on": day, "ae_risk": ae_risk, "ta_risk": ta_risk, "red": red})
    except ValidationError as err:
        message = describe_validation_error(err, prefix="assess: ").replace("Value error, ", "")
        raise InputError(message.replace("field 'ae_risk'", "--ae-risk").replace("field 'ta_risk'", "--ta-risk")) from None
    with open_store() as store:
        if store.find_account(account) is None:
            raise NotFound(f"assess: no account {account!r} in the store (enroll or import it first)")
        # The month's task, or one of an earlier month still open: the journey closes the soonest due.
        task = store.open_task_due_by(account, RENEWAL_ASSESSMENT, assessment.month_end)
        events: list[tuple[str, dict[str, Any]]] = []
        if task is not None:
            events.append((Update.TOUCHPOINT_DONE, {"touchpoint": RENEWAL_ASSESSMENT, "on": day.isoformat()}))
        if red:
            events.append((Update.SET_HEALTH, {"color": "red", "reason": assessment.red_reason, "on": day.isoformat()}))
        for name, payload in events:
            parse_event(name, payload)  # refused here, before anything is sent
        status = _send(account, events) if events else None
        replaced = store.record_assessment(assessment)
    document = {
        "account": account, "month": assessment.month, "on": day.isoformat(),
        "ae_risk": assessment.ae_risk, "ta_risk": assessment.ta_risk, "red": red, "replaced": replaced,
        "task_closed": task, "health": None if status is None else status.health.value,
    }
    if as_json:
        echo_json(document)
        return
    click.echo(f"{account}: renewal assessment {assessment.month} recorded" + (" (it replaces the month's earlier one)" if replaced else ""))
    if task is not None:
        click.echo(f"  {RENEWAL_ASSESSMENT} task done ({task})")
    else:
        click.echo(f"  no {RENEWAL_ASSESSMENT} task was open for {assessment.month}: recorded without closing one")
    if red:
        click.echo(f"  health red: in the Red Accounts Program ({one_line(assessment.red_reason)})")


@connected
async def _send(client: Any, account: str, events: list[tuple[str, dict[str, Any]]]) -> Any:
    """Send the events in order; the journey's status after the last."""
    from journey.temporal.journeys import send_event

    status = None
    for name, payload in events:
        status = await send_event(client, account, name, payload)
    return status


def _cut(text: str | None) -> str | None:
    if text is None:
        return None
    line = one_line(text)
    return line if len(line) <= SHOWN_RISK else line[: SHOWN_RISK - 1] + "…"
