"""`journey kpis`: portfolio KPIs over a period, for all accounts or per group."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

import click

from journey.cli.common import BadInput, echo_json, json_option, open_store, table

DATE = click.DateTime(formats=["%Y-%m-%d"])
COLUMNS = [
    "accounts", "adoption", "mean_consumption", "gross_retention", "net_retention", "nps", "renewal_rate", "starting_arr",
]


@click.command()
@click.option("--from", "start", type=DATE, default=None, help="First day of the period (YYYY-MM-DD); default: 12 months before --to.")
@click.option("--to", "end", type=DATE, default=None, help="Last day of the period (YYYY-MM-DD); default: today.")
@click.option("--by", type=click.Choice(["segment", "ta", "model"]), default=None, help="Also break the KPIs down by this account attribute.")
@json_option
def kpis(start: datetime | None, end: datetime | None, by: str | None, as_json: bool) -> None:
    """Portfolio KPIs over [--from, --to]: adoption, consumption, retention, NPS, renewals.

    adoption = share of the accounts active on --to at or above 80% utilization;
    mean_consumption = their mean consumption on --to; gross/net retention of the ARR of
    the accounts signed by --from; NPS (points, -100..100) of the answers in the period;
    renewal rate = renewed / renewals closed in the period. The table shows ratios as
    percentages and ARR with thousands separators; --json gives ratios as fractions
    (0.95), and None (null) when nothing was there to measure. docs/metrics.md gives
    every definition exactly.
    """
    from journey.domain.calendar import add_months

    last = date.today() if end is None else end.date()
    first = add_months(last, -12) if start is None else start.date()
    if first > last:
        raise BadInput(f"kpis: field '--from': {first} is after --to {last}")
    with open_store() as store:
        total = store.kpis(first, last)[None]
        groups = store.kpis(first, last, by) if by else {}
    document: dict[str, Any] = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "total": asdict(total),
        "groups": [{by: name, **asdict(found)} for name, found in sorted(groups.items(), key=lambda item: str(item[0]))],
    }
    if as_json:
        echo_json(document)
        return
    click.echo(f"KPIs from {first} to {last}")
    rows = [{"group": "(all)", **document["total"]}]
    rows += [{"group": group[by], **group} for group in document["groups"]] if by else []
    table(rows, ["group", *COLUMNS])
