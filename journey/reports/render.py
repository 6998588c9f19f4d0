"""Drawing reports: every chart with matplotlib (Agg, no display), and one self-contained
HTML file with the charts embedded as base64 PNG and the numbers behind each chart in a
table, with no external resource (no CDN, no web font, no remote link), so it can be
mailed or attached."""

from __future__ import annotations

import base64
import html
import io
from datetime import date
from pathlib import Path
from typing import Any

from journey.config import write_private_file
from journey.domain.enums import Health
from journey.domain.metrics import ADOPTION_TARGET
from journey.domain.numbers import figure, plain
from journey.reports.data import AccountReport, Chart, PortfolioReport

HEALTH_LEVEL = {Health.red.value: 0, Health.yellow.value: 1, Health.green.value: 2}
COLOR_HEX = {"green": "#2e9e4f", "yellow": "#e0b000", "red": "#d23c3c"}
# The touchpoints chart's stacked bars, in the order of its columns from "done" on.
TOUCH_STACK = (("done", "#2e9e4f"), ("sent", "#3366cc"), ("skipped", "#aaaaaa"), ("open", "#e0b000"))


def draw(chart: Chart) -> bytes:
    """The chart as a PNG, drawn from exactly its rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.patches
    import matplotlib.ticker
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=96, layout="constrained")
    axes = figure.add_subplot()
    # The page titles every chart in its heading; the image does not repeat it.
    axes.grid(True, alpha=0.3)
    rows = chart.rows
    if not rows:
        axes.text(0.5, 0.5, _plain(chart.empty or "Nothing in this period."), ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
    elif chart.key == "mau_vs_seats":
        days = list(mdates.date2num([date.fromisoformat(r[0]) for r in rows]))
        axes.plot(days, [r[1] for r in rows], color="#3366cc", label="monthly active users")
        axes.plot(days, [r[2] for r in rows], color="#555555", linestyle="--", label="licensed seats")
        axes.plot(days, [r[3] for r in rows], color="#2e9e4f", linestyle=":", label=f"{ADOPTION_TARGET:.0%} target")
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        axes.legend(loc="lower right", fontsize=8)
        _date_axis(axes, chart)
    elif chart.key == "dau_mau":
        days = list(mdates.date2num([date.fromisoformat(r[0]) for r in rows]))
        axes.plot(days, [r[3] for r in rows], color="#7a3db8")
        axes.set_ylim(0, 1)
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        _date_axis(axes, chart)
    elif chart.key == "health":
        # One colored span per row, from its day to the next change (column "until").
        for start, color, *_, end in rows:
            first, last = mdates.date2num([date.fromisoformat(start), date.fromisoformat(end)])
            axes.axvspan(first, max(last, first + 1), color=COLOR_HEX.get(color, "#888888"), alpha=0.85, lw=0)
        axes.set_yticks([])
        axes.grid(False)
        handles = [matplotlib.patches.Patch(color=COLOR_HEX[c], label=c) for c in ("green", "yellow", "red")]
        axes.legend(handles=handles, loc="upper left", fontsize=8, ncols=3)
        axes.set_ylim(0, 1.25)
        _date_axis(axes, chart)
    elif chart.key == "touchpoints":
        # Every month of the period gets its place, the quiet ones too.
        by_month = {r[0]: r for r in rows}
        months = _months(chart.since, chart.until) or list(by_month)
        months += [m for m in by_month if m not in months]
        positions = list(range(len(months)))
        bottom = [0] * len(months)
        for index, (name, color) in enumerate(TOUCH_STACK, start=2):
            values = [by_month[m][index] if m in by_month else 0 for m in months]
            axes.bar(positions, values, bottom=bottom, width=0.6, color=color, label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_xlim(-0.6, max(len(months), 6) - 0.4)
        axes.set_xticks(positions, [_plain(m) for m in months], rotation=45, fontsize=8)
        axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axes.legend(fontsize=8)
    elif chart.key == "adoption":
        names = [_plain(r[0]) for r in rows]
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
        axes.bar([_plain(label) for label in labels], [r[1] for r in rows], color=colors)
        axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axes.tick_params(axis="x", labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _months(first: date | None, last: date | None) -> list[str]:
    """The months `YYYY-MM` from `first`'s to `last`'s, both included."""
    if first is None or last is None:
        return []
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _plain(text: object) -> str:
    """Text drawn as it is: matplotlib reads `$...$` as math, which data must not start."""
    return str(text).replace("$", r"\$")


def _date_axis(axes: Any, chart: Chart) -> None:
    """A time axis over the report's period, whatever days have data."""
    import matplotlib.dates as mdates

    if chart.since is not None and chart.until is not None:
        first, last = mdates.date2num([chart.since, chart.until])
        axes.set_xlim(first, max(last, first + 1))
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def render_html(report: AccountReport | PortfolioReport) -> str:
    """One self-contained HTML document: inline CSS, charts as data: URIs, numbers in tables."""
    if isinstance(report, AccountReport):
        title = f"{report.name}: usage and value review, {report.since} to {report.until}"
        if report.audience == "internal":
            title += " (internal)"
    else:
        title = f"Portfolio review, {report.since} to {report.until}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Generated by journey on {_e(report.generated_on)}.</p>',
        "<h2>Summary</h2>",
        _summary_table(report.shown_summary() if isinstance(report, AccountReport) else report.summary),
    ]
    for chart in report.charts:
        parts.append(f'<section class="chart" id="{_e(chart.key)}" data-chart="{_e(chart.key)}">')
        parts.append(f"<h2>{_e(chart.title)}</h2>")
        if not chart.rows and chart.empty:
            parts.append(f'<p class="empty">{_e(chart.empty)}</p></section>')
            continue
        png = base64.b64encode(draw(chart)).decode("ascii")
        parts.append(f'<img alt="{_e(chart.title)}" src="data:image/png;base64,{png}">')
        if chart.note:
            parts.append(f'<p class="note">{_e(chart.note)}</p>')
        parts.append(f"<details><summary>The numbers ({len(chart.rows)} rows)</summary>")
        rows = [[figure(c, v) for c, v in zip(chart.columns, row, strict=False)] for row in chart.rows]
        parts.append(_table([label(c) for c in chart.columns], rows, chart.key))
        parts.append("</details></section>")
    if isinstance(report, AccountReport) and report.audience == "internal":
        parts.append("<h2>Red-account history</h2>")
        if report.red_history:
            columns = list(report.red_history[0])
            parts.append(_table([label(c) for c in columns], [[r[c] for c in columns] for r in report.red_history], "red_history"))
        else:
            parts.append('<p class="empty">No red-account episode in this period.</p>')
    if isinstance(report, PortfolioReport):
        columns = list(report.accounts[0]) if report.accounts else ["account"]
        parts.append("<h2>Accounts</h2>")
        rows = [[figure(c, row[c]) for c in columns] for row in report.accounts]
        parts.append(_table([label(c) for c in columns], rows, "accounts"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: AccountReport | PortfolioReport, out_dir: str | Path) -> Path:
    """Write the report into `out_dir` (made 0700 where missing), whole or not at all,
    readable by its owner alone (0600): it holds the customer's numbers. A place that
    cannot take it raises `journey.config.NotWritable`, naming it."""
    name = (
        f"{report.account}-report-{report.generated_on}.html"
        if isinstance(report, AccountReport)
        else f"portfolio-report-{report.generated_on}.html"
    )
    html_text = render_html(report)
    return write_private_file(Path(out_dir) / name, html_text.encode("utf-8"))


CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%}.meta,.note{color:#666;font-size:.85em}"
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# Summary figures in words; a key not listed here is shown with its underscores as spaces.
LABELS = {
    "stage": "Stage",
    "health": "Health",
    "health_reason": "Why this health",
    "health_score": "Health score (0-100)",
    "segment": "Segment",
    "tier": "Tier",
    "engagement_model": "Engagement model",
    "ta": "Technical Advisor",
    "ae": "Account Executive",
    "seats": "Licensed seats",
    "arr": "Annual recurring revenue (ARR)",
    "renewal_date": "Renewal date",
    "utilization": "Utilization (monthly active users / licensed seats)",
    "consumption": "Consumption (daily active users / last month's monthly active users)",
    "mau_trend_30d": "Change in monthly active users, last 30 days",
    "adoption_target": "Adoption target",
    "mau_first": "Monthly active users at the start of the period",
    "mau_last": "Monthly active users at the end of the period",
    "mau_growth": "Growth in monthly active users over the period",
    "touchpoints_due": "Touchpoints that fell due in the period (tasks opened, messages sent)",
    "touchpoints_skipped": "Touchpoints skipped (fell due before the engagement began, or cancelled)",
    "tasks_done": "Tasks completed",
    "trainings_done": "Trainings completed",
    "red_episodes": "Red-account episodes in the period",
    "accounts": "Accounts",
    "active": "Active accounts",
    "churned": "Churned accounts",
    "arr_active": "Active ARR",
    "red": "Red accounts",
    "with_usage": "Accounts reporting usage",
    "adopted": "Accounts at or above 80% utilization",
    "adoption": "Adoption",
    "mean_consumption": "Mean consumption",
    "gross_retention": "Gross retention",
    "net_retention": "Net retention",
    "nps": "NPS",
    "renewal_rate": "Renewal rate",
    # Chart and table columns.
    "date": "Date",
    "mau": "Monthly active users",
    "dau": "Daily active users",
    "target": "80% target",
    "dau_mau": "Daily / monthly active users",
    "color": "Health",
    "source": "Set by",
    "reason": "Reason",
    "until": "Until",
    "month": "Month",
    "due": "Fell due",
    "done": "Done",
    "sent": "Sent",
    "skipped": "Skipped",
    "open": "Open",
    "account": "Account",
    "name": "Name",
    "episode": "Episode",
    "opened_on": "Opened",
    "escalated_on": "Escalated",
    "closed_on": "Closed",
    "resolution": "Resolution",
}


def _words(key: str, value: Any) -> Any:
    """Touchpoint ids as words (`training-101` -> `Training 101`)."""
    if key == "trainings_done" and isinstance(value, list):
        return [str(v).replace("-", " ").capitalize() for v in value]
    return value


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _summary_table(summary: dict[str, Any]) -> str:
    rows = [[label(key), figure(key, _words(key, value))] for key, value in summary.items()]
    return _table(["Measure", "Value"], rows, "summary")


def _table(columns: list[str], rows: list[list[Any]], key: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table data-table="{_e(key)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> Any:
    return plain(value) if isinstance(value, float) else value
