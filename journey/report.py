"""QBR / value-realization reports as self-contained HTML, and the team's portfolio report.

Each report is built in two steps: `account_report` / `portfolio_report` read the store
and return the numbers (a pydantic model, also what `--json` prints), and `render_html`
draws every chart with matplotlib (Agg, no display) and writes one HTML file with the
charts embedded as base64 PNG and the numbers behind each chart in a table, with no
external resource (no CDN, no web font, no remote link), so it can be mailed or attached.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from journey.metrics import ADOPTION_TARGET, TREND_DAYS, consumption_on, sweep_metrics, utilization_on
from journey.models import Health, Stage
from journey.store import Store, accounts, usage

FIRED_STATUSES = ("task", "queued")  # a touchpoint that fell due: a task opened or a touch queued
HEALTH_LEVEL = {Health.red.value: 0, Health.yellow.value: 1, Health.green.value: 2}
COLOR_HEX = {"green": "#2e9e4f", "yellow": "#e0b000", "red": "#d23c3c"}


class Chart(BaseModel):
    """One chart and the numbers drawn in it: `rows` holds one list per point, in `columns` order."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = Field(default_factory=list)
    note: str | None = None
    until: date | None = Field(default=None, description="the period's last day: a time axis runs to it")


class AccountReport(BaseModel):
    kind: str = "account"
    account: str
    name: str
    generated_on: date
    since: date
    until: date
    summary: dict[str, Any]
    charts: list[Chart]

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


class PortfolioReport(BaseModel):
    kind: str = "portfolio"
    generated_on: date
    summary: dict[str, Any]
    charts: list[Chart]
    accounts: list[dict[str, Any]]

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


class AccountNotFound(LookupError):
    pass


# --- The numbers -------------------------------------------------------------------------


def account_report(store: Store, account_id: str, today: date, since: date | None = None) -> AccountReport:
    """Everything a QBR / value review shows for one account, up to `today`."""
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        if found is None:
            raise AccountNotFound(f"no account {account_id!r} in the store (enroll or import it first)")
        account = dict(found._mapping)
        since = since or account["signed"]
        daily = conn.execute(
            sa.select(usage.c.date, usage.c.dau, usage.c.mau)
            .where(usage.c.account_id == account_id, usage.c.date.between(since, today))
            .order_by(usage.c.date)
        ).all()
        mau_now = utilization_on(conn, account_id, today)
        mau_before = utilization_on(conn, account_id, today - timedelta(days=TREND_DAYS))
        consumption = consumption_on(conn, account_id, today)
    seats = int(account["seats"])
    timeline = [r for r in store.timeline(account_id) if since <= r["at"] <= today]
    health_rows = [r for r in timeline if r["kind"] == "health"]
    fired = [r for r in timeline if r["kind"] == "touchpoint" and r["detail"].get("status") in FIRED_STATUSES]
    done = [t for t in store.tasks(account=account_id, status="done") if t["done_on"] and since <= t["done_on"] <= today]

    target = round(ADOPTION_TARGET * seats, 2)
    mau_chart = Chart(
        key="mau_vs_seats",
        title="Monthly active users against licensed seats",
        columns=["date", "mau", "seats", "target"],
        rows=[[d.isoformat(), mau, seats, target] for d, _, mau in daily],
        note=f"target: {ADOPTION_TARGET:.0%} of the {seats} licensed seats (utilization = MAU / seats)",
    )
    ratio_chart = Chart(
        key="dau_mau",
        title="Daily / monthly active users (stickiness)",
        columns=["date", "dau", "mau", "dau_mau"],
        rows=[[d.isoformat(), dau, mau, round(dau / mau, 4) if mau else None] for d, dau, mau in daily],
    )
    health_chart = Chart(
        key="health",
        title="Health over time",
        columns=["date", "color", "source", "reason"],
        rows=[[r["at"].isoformat(), r["name"], r["detail"].get("source"), r["detail"].get("reason")] for r in health_rows],
        note="every change of color: by score, by hand, or at the adoption deadline",
        until=today,
    )
    months = sorted({_month(r["at"]) for r in fired} | {_month(t["done_on"]) for t in done})
    fired_by_month = Counter(_month(r["at"]) for r in fired)
    done_by_month = Counter(_month(t["done_on"]) for t in done)
    touch_chart = Chart(
        key="touchpoints",
        title="Touchpoints delivered",
        columns=["month", "due", "done"],
        rows=[[m, fired_by_month[m], done_by_month[m]] for m in months],
        note="due: tasks opened and automated touches queued; done: tasks marked done",
    )
    first_mau = daily[0][2] if daily else None
    last_mau = daily[-1][2] if daily else None
    red_episodes = [r for r in store.red_rows(account_id) if since <= r["opened_on"] <= today]
    summary = {
        "stage": account["stage"],
        "health": account["health"],
        "health_reason": account["health_reason"],
        "health_score": account["health_score"],
        "segment": account["segment"],
        "tier": account["tier"],
        "engagement_model": account["model"],
        "ta": account["ta"],
        "ae": account["ae"],
        "seats": seats,
        "arr": account["arr"],
        "renewal_date": account["renewal"].isoformat(),
        "utilization": _round(mau_now / seats) if mau_now is not None else None,
        "consumption": _round(consumption),
        "mau_trend_30d": _round(mau_now / mau_before - 1) if mau_now is not None and mau_before else None,
        "adoption_target": ADOPTION_TARGET,
        "mau_first": first_mau,
        "mau_last": last_mau,
        "mau_growth": _round(last_mau / first_mau - 1) if first_mau and last_mau is not None else None,
        "touchpoints_due": len(fired),
        "tasks_done": len(done),
        "trainings_done": sorted({t["touchpoint"] for t in done if t["touchpoint"].startswith("training-")}),
        "red_episodes": len(red_episodes),
    }
    return AccountReport(
        account=account_id,
        name=account["name"],
        generated_on=today,
        since=since,
        until=today,
        summary=summary,
        charts=[mau_chart, ratio_chart, health_chart, touch_chart],
    )


def portfolio_report(store: Store, today: date) -> PortfolioReport:
    """The team's book of business: accounts by stage, health and segment, and adoption."""
    accounts = store.list_accounts()
    with store.engine.connect() as conn:
        measured = sweep_metrics(conn, today)
    rows = []
    for a in accounts:
        m = measured.get(a["id"])
        rows.append(
            {
                "account": a["id"],
                "name": a["name"],
                "segment": a["segment"],
                "tier": a["tier"],
                "stage": a["stage"],
                "health": a["health"],
                "health_score": a.get("health_score"),
                "ta": a["ta"],
                "seats": a["seats"],
                "arr": a["arr"],
                "renewal_date": a["renewal"].isoformat(),
                "utilization": _round(m.utilization if m else None),
            }
        )
    active = [r for r in rows if r["stage"] != Stage.churned.value]

    def counted(key: str, order: list[str]) -> list[list[Any]]:
        counts = Counter(r[key] for r in active)
        return [[value, counts[value]] for value in order if counts[value]] + [
            [value, n] for value, n in sorted(counts.items()) if value not in order
        ]

    stages = [s.value for s in Stage if s is not Stage.churned]
    adoption_rows = sorted(
        ([r["account"], r["utilization"]] for r in active if r["utilization"] is not None),
        key=lambda row: (row[1], row[0]),
    )
    adopted = sum(1 for _, u in adoption_rows if u >= ADOPTION_TARGET)
    charts = [
        Chart(key="by_stage", title="Active accounts by stage", columns=["stage", "accounts"], rows=counted("stage", stages)),
        Chart(
            key="by_health",
            title="Active accounts by health",
            columns=["health", "accounts"],
            rows=counted("health", [h.value for h in Health]),
        ),
        Chart(
            key="by_segment",
            title="Active accounts by segment",
            columns=["segment", "accounts"],
            rows=counted("segment", ["strategic", "large-enterprise", "small-enterprise", "commercial"]),
        ),
        Chart(
            key="adoption",
            title="Utilization against the 80% target",
            columns=["account", "utilization"],
            rows=adoption_rows,
            note=f"{adopted} of {len(adoption_rows)} accounts with usage are at or above {ADOPTION_TARGET:.0%}",
        ),
    ]
    summary = {
        "accounts": len(rows),
        "active": len(active),
        "churned": len(rows) - len(active),
        "arr_active": round(sum(r["arr"] for r in active), 2),
        "red": sum(1 for r in active if r["health"] == Health.red.value),
        "with_usage": len(adoption_rows),
        "adopted": adopted,
        "adoption": _round(adopted / len(adoption_rows)) if adoption_rows else None,
    }
    return PortfolioReport(generated_on=today, summary=summary, charts=charts, accounts=rows)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- Drawing -----------------------------------------------------------------------------


def draw(chart: Chart) -> bytes:
    """The chart as a PNG, drawn from exactly its rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.ticker
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=96, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(chart.title, fontsize=11, loc="left")
    axes.grid(True, alpha=0.3)
    rows = chart.rows
    if not rows:
        axes.text(0.5, 0.5, "no data in this period", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
    elif chart.key == "mau_vs_seats":
        days = list(mdates.date2num([date.fromisoformat(r[0]) for r in rows]))
        axes.plot(days, [r[1] for r in rows], color="#3366cc", label="MAU")
        axes.plot(days, [r[2] for r in rows], color="#555555", linestyle="--", label="licensed seats")
        axes.plot(days, [r[3] for r in rows], color="#2e9e4f", linestyle=":", label=f"{ADOPTION_TARGET:.0%} target")
        axes.set_ylim(bottom=0)
        axes.legend(loc="lower right", fontsize=8)
        _date_axis(axes)
    elif chart.key == "dau_mau":
        days = list(mdates.date2num([date.fromisoformat(r[0]) for r in rows]))
        axes.plot(days, [r[3] for r in rows], color="#7a3db8")
        axes.set_ylim(0, 1)
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        _date_axis(axes)
    elif chart.key == "health":
        days = list(mdates.date2num([date.fromisoformat(r[0]) for r in rows]))
        levels = [HEALTH_LEVEL[r[1]] for r in rows]
        # The last color holds until the end of the period.
        end = list(mdates.date2num([chart.until])) if chart.until and chart.until.isoformat() > rows[-1][0] else []
        axes.step(days + end, levels + levels[-1:] * len(end), where="post", color="#888888")
        axes.scatter(days, levels, c=[COLOR_HEX[r[1]] for r in rows], s=60, zorder=3)
        axes.set_yticks([0, 1, 2], ["red", "yellow", "green"])
        axes.set_ylim(-0.5, 2.5)
        _date_axis(axes)
    elif chart.key == "touchpoints":
        positions = range(len(rows))
        axes.bar([p - 0.2 for p in positions], [r[1] for r in rows], width=0.4, color="#3366cc", label="due")
        axes.bar([p + 0.2 for p in positions], [r[2] for r in rows], width=0.4, color="#2e9e4f", label="done")
        axes.set_xticks(list(positions), [r[0] for r in rows], rotation=45, fontsize=8)
        axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axes.legend(fontsize=8)
    elif chart.key == "adoption":
        names = [r[0] for r in rows]
        values = [r[1] for r in rows]
        colors = [COLOR_HEX["green"] if v >= ADOPTION_TARGET else COLOR_HEX["yellow"] for v in values]
        figure.set_size_inches(8, max(2.5, 0.25 * len(rows) + 1))
        axes.barh(names, values, color=colors)
        axes.axvline(ADOPTION_TARGET, color="#555555", linestyle="--")
        axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        axes.tick_params(axis="y", labelsize=7)
    else:  # counts by category
        labels = [str(r[0]) for r in rows]
        colors = [COLOR_HEX.get(label, "#3366cc") for label in labels]
        axes.bar(labels, [r[1] for r in rows], color=colors)
        axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axes.tick_params(axis="x", labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _date_axis(axes: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def render_html(report: AccountReport | PortfolioReport) -> str:
    """One self-contained HTML document: inline CSS, charts as data: URIs, numbers in tables."""
    if isinstance(report, AccountReport):
        title = f"{report.name}: usage and value review, {report.since} to {report.until}"
    else:
        title = f"Portfolio review, {report.generated_on}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Generated by journey on {report.generated_on}.</p>',
        "<h2>Summary</h2>",
        _summary_table(report.summary),
    ]
    for chart in report.charts:
        png = base64.b64encode(draw(chart)).decode("ascii")
        parts.append(f'<section class="chart" id="{_e(chart.key)}" data-chart="{_e(chart.key)}">')
        parts.append(f"<h2>{_e(chart.title)}</h2>")
        parts.append(f'<img alt="{_e(chart.title)}" src="data:image/png;base64,{png}">')
        if chart.note:
            parts.append(f'<p class="note">{_e(chart.note)}</p>')
        parts.append(f"<details><summary>The numbers ({len(chart.rows)} rows)</summary>")
        parts.append(_table(chart.columns, chart.rows, chart.key))
        parts.append("</details></section>")
    if isinstance(report, PortfolioReport):
        columns = list(report.accounts[0]) if report.accounts else ["account"]
        parts.append("<h2>Accounts</h2>")
        parts.append(_table(columns, [[row[c] for c in columns] for row in report.accounts], "accounts"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: AccountReport | PortfolioReport, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = (
        f"{report.account}-report-{report.generated_on}.html"
        if isinstance(report, AccountReport)
        else f"portfolio-report-{report.generated_on}.html"
    )
    path = out / name
    path.write_text(render_html(report), encoding="utf-8")
    return path


CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%}.meta,.note{color:#666;font-size:.85em}"
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _summary_table(summary: dict[str, Any]) -> str:
    rows = [[key.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else v] for key, v in summary.items()]
    return _table(["measure", "value"], rows, "summary")


def _table(columns: list[str], rows: list[list[Any]], key: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table data-table="{_e(key)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value
