"""QBR / value reports (journey.report): the numbers behind every chart are the store's
rows, and the HTML stands alone (charts as data: URIs, nothing fetched from anywhere)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from journey.domain.effects import AccountSnapshot, Effects, TaskChange, TaskOpen, TimelineEntry
from journey.domain.models import Account
from journey.reports.data import account_report, portfolio_report
from journey.reports.render import render_html, write_report
from journey.store import Store
from tests.helpers.stores import add_usage

TODAY = date(2026, 6, 30)
SIGNED = date(2026, 1, 5)


def make_account(account_id: str, seats: int = 200, segment: str = "strategic") -> Account:
    return Account.model_validate(
        {
            "id": account_id, "name": f"{account_id.title()} <Inc> & Co", "segment": segment, "tier": 1,
            "seats": seats, "arr": 120_000, "signed": SIGNED, "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
        }
    )


def entry(account: str, key: str, at: date, kind: str, name: str, **detail: object) -> TimelineEntry:
    return TimelineEntry(key=f"{account}/{key}", account=account, at=at, kind=kind, name=name, detail=detail)  # type: ignore[arg-type]


@pytest.fixture
def filled(store: Store) -> Store:
    """Two accounts: `acme` with usage, health changes, touchpoints and done tasks; `beta` quieter."""
    store.upsert_accounts([make_account("acme"), make_account("beta", seats=50, segment="commercial")])
    rows = []
    day = date(2026, 2, 1)
    while day <= date(2026, 7, 10):  # rows after TODAY are outside the report
        mau = 100 + (day - date(2026, 2, 1)).days // 3
        rows.append(("acme", day, mau // 3, mau))
        day += timedelta(days=1)
    rows += [("beta", date(2026, 6, 1), 20, 45), ("beta", date(2026, 6, 29), 25, 46)]
    add_usage(store, rows)
    timeline = [
        entry("acme", "h1", date(2026, 3, 20), "health", "yellow", source="adoption", reason="adoption target missed"),
        entry("acme", "h2", date(2026, 4, 2), "health", "red", source="score", reason="health score 40"),
        entry("acme", "h3", date(2026, 5, 2), "health", "green", source="score", reason="health score 90"),
        entry("acme", "t1", date(2026, 1, 5), "touchpoint", "license-key", status="task"),
        entry("acme", "t2", date(2026, 1, 12), "touchpoint", "kickoff-call", status="task"),
        entry("acme", "t3", date(2026, 2, 2), "touchpoint", "training-101", status="task"),
        entry("acme", "t4", date(2026, 2, 9), "touchpoint", "nurture-email", status="queued"),
        entry("acme", "t5", date(2026, 1, 3), "touchpoint", "qbr", status="skipped"),  # never delivered
        entry("acme", "t6", date(2026, 7, 5), "touchpoint", "check-in", status="task"),  # after the report's date
    ]
    tasks = [
        TaskOpen(key=f"acme/{tp}", account="acme", touchpoint=tp, title=tp, owner_role="ta", owner="ana", due=due)
        for tp, due in (("license-key", date(2026, 1, 5)), ("kickoff-call", date(2026, 1, 12)), ("training-101", date(2026, 2, 2)))
    ]
    changes = [
        TaskChange(key="acme/license-key", status="done", done_on=date(2026, 1, 6)),
        TaskChange(key="acme/training-101", status="done", done_on=date(2026, 2, 3)),
    ]
    snapshot = AccountSnapshot(
        id="acme", stage="steady", health="green", health_reason="health score 90", segment="strategic", tier=1,
        model="enterprise", seats=200, arr=120_000, renewal=date(2027, 1, 5), term=1,
    )
    store.apply_effects(Effects(account="acme", timeline=timeline, open_tasks=tasks, task_changes=changes, snapshot=snapshot))
    return store


def test_account_report_charts_are_the_stores_rows(filled: Store) -> None:
    report = account_report(filled, "acme", TODAY, audience="internal")
    usage = [(d, dau, mau) for account, d, dau, mau in _usage(filled) if account == "acme" and d <= TODAY]

    mau = report.chart("mau_vs_seats")
    assert mau.columns == ["date", "mau", "seats", "target"]
    assert mau.rows == [[d.isoformat(), m, 200, 160.0] for d, _, m in usage]

    ratio = report.chart("dau_mau")
    assert ratio.rows == [[d.isoformat(), dau, m, round(dau / m, 4)] for d, dau, m in usage]

    health = report.chart("health")
    stored = [r for r in filled.timeline("acme") if r.kind == "health"]
    # Spans over the period: the color on its first day (no change before it: today's green
    # held until the first change), then each change until the next one or the report's date.
    ends = [r.at.isoformat() for r in stored[1:]] + [TODAY.isoformat()]
    assert health.rows == [["2026-01-05", "green", None, None, "2026-03-20"]] + [
        [r.at.isoformat(), r.name, r.detail["source"], r.detail["reason"], end] for r, end in zip(stored, ends, strict=True)
    ]

    touch = report.chart("touchpoints")
    assert touch.columns == ["month", "due", "done", "sent", "skipped", "open"]
    # By the month each fell due, up to the report's date (qbr, skipped on 2026-01-03, is
    # before the period): license-key done, kickoff-call open; training-101 done, the
    # nurture email sent.
    assert touch.rows == [["2026-01", 2, 1, 0, 0, 1], ["2026-02", 2, 1, 1, 0, 0]]

    summary = report.summary
    last = usage[-1]
    assert summary["utilization"] == round(last[2] / 200, 4)
    assert summary["mau_first"] == usage[0][2] and summary["mau_last"] == last[2]
    assert summary["trainings_done"] == ["training-101"] and summary["tasks_done"] == 2
    assert summary["health"] == "green" and summary["touchpoints_due"] == 4
    # The summary's counts are the chart's columns, summed.
    assert summary["touchpoints_due"] == sum(row[1] for row in touch.rows)
    assert summary["touchpoints_skipped"] == sum(row[4] for row in touch.rows) == 0


def test_since_limits_every_chart(filled: Store) -> None:
    report = account_report(filled, "acme", TODAY, since=date(2026, 4, 1), audience="internal")
    assert report.chart("mau_vs_seats").rows[0][0] == "2026-04-01"
    # The color on the period's first day (yellow since 2026-03-20) is its first span.
    assert [r[:2] for r in report.chart("health").rows] == [["2026-04-01", "yellow"], ["2026-04-02", "red"], ["2026-05-02", "green"]]
    assert report.chart("touchpoints").rows == []


def test_html_is_self_contained(filled: Store, tmp_path: Path) -> None:
    report = account_report(filled, "acme", TODAY, audience="internal")
    path = write_report(report, tmp_path / "out")
    text = path.read_text()
    assert path.name == "acme-report-2026-06-30.html"
    images = re.findall(r'<img[^>]*src="([^"]+)"', text)
    assert len(images) == 4 and all(src.startswith("data:image/png;base64,") for src in images)
    for src in images:
        import base64

        assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in text and "https://" not in text
    references = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", text)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    assert "<link" not in text and "<script" not in text and "@import" not in text and "url(" not in text
    # Text is escaped; every chart's numbers are in a table.
    assert "Acme &lt;Inc&gt; &amp; Co" in text
    for chart in report.charts:
        assert f'data-table="{chart.key}"' in text
    assert "<td>2026-04-02</td><td>red</td><td>score</td><td>health score 40</td>" in text


def test_portfolio_report(filled: Store, tmp_path: Path) -> None:
    report = portfolio_report(filled, TODAY)
    assert report.chart("by_stage").rows == [["signed", 1], ["steady", 1]]
    assert report.chart("by_health").rows == [["green", 2]]
    assert report.chart("by_segment").rows == [["strategic", 1], ["commercial", 1]]
    acme_mau = max(m for a, d, _, m in _usage(filled) if a == "acme" and d <= TODAY)
    # Lowest utilization first.
    assert report.chart("adoption").rows == [["acme", round(acme_mau / 200, 4)], ["beta", round(46 / 50, 4)]]
    assert report.summary["adopted"] == 1 and report.summary["active"] == 2
    text = render_html(report)
    assert text.count("data:image/png;base64,") == 4 and "https://" not in text


def test_cli_report(filled: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from cli import main

    monkeypatch.setenv("JOURNEY_DATABASE_URL", filled.url.render_as_string(hide_password=False))
    runner = CliRunner()
    out = tmp_path / "reports"
    result = runner.invoke(main, ["report", "acme", "--out", str(out), "--on", "2026-06-30", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert Path(document["path"]).is_file() and document["account"] == "acme"
    assert document["audience"] == "customer"
    assert [c["key"] for c in document["charts"]] == ["mau_vs_seats", "dau_mau", "touchpoints"]
    internal = runner.invoke(main, ["report", "acme", "--out", str(out), "--on", "2026-06-30", "--audience", "internal", "--json"])
    assert [c["key"] for c in json.loads(internal.output)["charts"]] == ["mau_vs_seats", "dau_mau", "health", "touchpoints"]
    portfolio = runner.invoke(main, ["report", "--portfolio", "--out", str(out), "--on", "2026-06-30"])
    assert portfolio.exit_code == 0 and "portfolio-report-2026-06-30.html" in portfolio.output

    unknown = runner.invoke(main, ["report", "nobody", "--out", str(out)])
    assert unknown.exit_code == 2 and "no account 'nobody'" in unknown.output
    assert runner.invoke(main, ["report", "--out", str(out)]).exit_code == 2
    assert runner.invoke(main, ["report", "acme", "--portfolio"]).exit_code == 2


def test_renders_in_headless_chromium(filled: Store, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        pytest.skip("chromium not installed")
    path = write_report(account_report(filled, "acme", TODAY), tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--screenshot={shot}", "--window-size=1200,2400",
         path.as_uri()],
        check=True, capture_output=True, timeout=60,
    )
    assert shot.stat().st_size > 10_000


def _usage(store: Store) -> list[tuple[str, date, int, int]]:
    import sqlalchemy as sa

    from journey.store.schema import usage

    with store.engine.connect() as conn:
        query = sa.select(usage.c.account_id, usage.c.date, usage.c.dau, usage.c.mau).order_by(usage.c.account_id, usage.c.date)
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]
