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
from journey.reports.data import AccountReport, Chart, PortfolioReport

HEALTH_LEVEL = {Health.red.value: 0, Health.yellow.value: 1, Health.green.value: 2}
COLOR_HEX = {"green": "#2e9e4f", "yellow": "#e0b000", "red": "#d23c3c"}


def draw(chart: Chart) -> bytes:
    """The chart as a PNG, drawn from exactly its rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.ticker
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=96, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(_plain(chart.title), fontsize=11, loc="left")
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
        axes.set_xticks(list(positions), [_plain(r[0]) for r in rows], rotation=45, fontsize=8)
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


def _plain(text: object) -> str:
    """Text drawn as it is: matplotlib reads `$...$` as math, which data must not start."""
    return str(text).replace("$", r"\$")


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
        f'<p class="meta">Generated by journey on {_e(report.generated_on)}.</p>',
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


def _summary_table(summary: dict[str, Any]) -> str:
    rows = [[key.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else v] for key, v in summary.items()]
    return _table(["measure", "value"], rows, "summary")


def _table(columns: list[str], rows: list[list[Any]], key: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table data-table="{_e(key)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value
