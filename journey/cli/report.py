"""`journey report`: a QBR / value-realization report for one account, or the team's portfolio."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from journey.cli.common import BadInput, echo_json, json_option, open_store


@click.command()
@click.argument("account", required=False)
@click.option("--portfolio", is_flag=True, help="Report on every account instead (by stage, health, segment; adoption).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the HTML file to (default: $JOURNEY_HOME/reports/ACCOUNT/, or $JOURNEY_HOME/reports/ for --portfolio).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day covered (default: the contract's signature; for --portfolio, 12 months before --on, as `journey kpis`).",
)
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="The report's date (default: today).")
@click.option(
    "--audience",
    type=click.Choice(["customer", "internal"]),  # journey.reports.data.AUDIENCES
    default="customer",
    show_default=True,
    help="customer: fit to hand to the customer (no health, scores, red episodes or internal names); "
    "internal: adds health, its explanation and the red-account history.",
)
@json_option
def report(
    account: str | None,
    portfolio: bool,
    out_dir: Path | None,
    since: datetime | None,
    on: datetime | None,
    audience: str,
    as_json: bool,
) -> None:
    """Write a self-contained HTML report: usage and value for ACCOUNT's QBR, or --portfolio.

    The account report charts MAU against licensed seats and the 80% target, DAU/MAU
    and the touchpoints by month, with the numbers behind each chart; --audience internal
    adds health over the period and the red-account history. The file has no external
    resources, so it can be mailed or attached as it is.
    """
    from journey.reports.data import AUDIENCES, AccountReport, PortfolioReport, account_report, portfolio_report
    from journey.reports.render import write_report

    if portfolio == (account is not None):
        raise BadInput("give either ACCOUNT or --portfolio")
    today = on.date() if on else date.today()
    first = since.date() if since else None
    if first is not None and first > today:
        raise BadInput(f"--since {first} is after the report's date {today}")
    store = open_store()
    built: AccountReport | PortfolioReport
    try:
        if portfolio:
            built = portfolio_report(store, today, since=first)
        else:
            assert account is not None
            chosen = next(a for a in AUDIENCES if a == audience)
            built = account_report(store, account, today, since=first, audience=chosen)
    finally:
        store.close()
    if out_dir is None:
        from journey.config import reports_dir

        # Beside the reports a worker attaches to value reviews, never the current directory.
        out_dir = reports_dir() / built.account if isinstance(built, AccountReport) else reports_dir()
    path = write_report(built, out_dir)
    if as_json:
        echo_json(built.model_dump(mode="json") | {"path": str(path)})
    else:
        click.echo(f"wrote {path}")
