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
    default=Path("."),
    show_default=True,
    help="Directory to write the HTML file to.",
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="First day covered (default: the contract's signature).")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="The report's date (default: today).")
@json_option
def report(
    account: str | None, portfolio: bool, out_dir: Path, since: datetime | None, on: datetime | None, as_json: bool
) -> None:
    """Write a self-contained HTML report: usage and value for ACCOUNT's QBR, or --portfolio.

    The account report charts MAU against licensed seats and the 80% target, DAU/MAU,
    health over time and the touchpoints delivered, with the numbers behind each chart;
    the file has no external resources, so it can be mailed or attached as it is.
    """
    from journey.reports.data import AccountReport, PortfolioReport, account_report, portfolio_report
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
            built = portfolio_report(store, today)
        else:
            assert account is not None
            built = account_report(store, account, today, since=first)
    finally:
        store.close()
    path = write_report(built, out_dir)
    if as_json:
        echo_json(built.model_dump(mode="json") | {"path": str(path)})
    else:
        click.echo(f"wrote {path}")
