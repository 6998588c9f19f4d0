"""One definition per KPI: `journey report --portfolio` shows exactly `journey kpis`'s
figures for the same period, in its JSON and in its HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from journey.store import Store
from tests.helpers.portfolio import account, build_portfolio, usage

PERIOD = ("2025-01-01", "2025-12-31")


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def portfolio(journey_home: Path) -> None:
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        build_portfolio(store)


def test_portfolio_report_figures_equal_kpis(invoke: Callable[..., Result], portfolio: None, tmp_path: Path) -> None:
    kpis = as_json(invoke("kpis", "--from", PERIOD[0], "--to", PERIOD[1], "--json"))["total"]
    report = as_json(
        invoke("report", "--portfolio", "--since", PERIOD[0], "--on", PERIOD[1], "--out", str(tmp_path), "--json")
    )
    assert (report["since"], report["until"]) == PERIOD
    assert report["kpis"] == kpis
    summary = report["summary"]
    for field in ("adoption", "adopted", "mean_consumption", "gross_retention", "net_retention", "nps", "renewal_rate"):
        assert summary[field] == kpis[field], field
    # delta (active, no usage) is in the denominator of both: 1 adopted of 3 active.
    assert (summary["active"], summary["adopted"], summary["with_usage"]) == (kpis["accounts"], 1, 2) == (3, 1, 2)
    # The accounts the adoption chart draws are the ones the KPI counts, at the same utilization.
    adopted = [row for row in next(c for c in report["charts"] if c["key"] == "adoption")["rows"] if row[1] >= 0.8]
    assert len(adopted) == kpis["adopted"]

    page = Path(report["path"]).read_text()
    summary_table = re.search(r'<table data-table="summary">.*?</table>', page, re.S)
    assert summary_table is not None
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", summary_table.group(0))
    shown = dict(cells)
    assert shown["Adoption"] == "33.3%"  # 1/3, as kpis
    assert shown["Mean consumption"] == "45.0%"
    assert shown["Gross retention"] == "68.4%" and shown["Net retention"] == "78.9%"
    assert shown["NPS"] == "14.3" and shown["Renewal rate"] == "66.7%"
    assert shown["Active ARR"] == "160,000"  # alpha 120k + gamma 30k + delta 10k, in force on --on


def test_default_period_is_kpis_default(invoke: Callable[..., Result], portfolio: None, tmp_path: Path) -> None:
    kpis = as_json(invoke("kpis", "--to", PERIOD[1], "--json"))
    report = as_json(invoke("report", "--portfolio", "--on", PERIOD[1], "--out", str(tmp_path), "--json"))
    assert report["since"] == kpis["from"] and report["kpis"] == kpis["total"]


def test_accounts_without_usage_count_in_both(invoke: Callable[..., Result], journey_home: Path, tmp_path: Path) -> None:
    """Two of four accounts report usage and one of them is adopted: 0.25 in both."""
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([account(name, signed=date(2025, 1, 1)) for name in ("a", "b", "c", "d")])
        usage(store, "a", (date(2025, 6, 1), 50, 90))
        usage(store, "b", (date(2025, 6, 1), 10, 20))
    kpis = as_json(invoke("kpis", "--to", "2025-06-30", "--json"))["total"]
    report = as_json(invoke("report", "--portfolio", "--on", "2025-06-30", "--out", str(tmp_path), "--json"))
    assert kpis["adoption"] == report["summary"]["adoption"] == 0.25
    assert "1 of 4 active accounts are at or above 80%; 2 without usage count as not adopted" in Path(
        report["path"]
    ).read_text()


def test_kpis_table_reads_as_percentages_and_money(invoke: Callable[..., Result], portfolio: None) -> None:
    result = invoke("kpis", "--from", PERIOD[0], "--to", PERIOD[1], "--by", "segment")
    assert result.exit_code == 0, result.output
    header, total, *groups = result.output.splitlines()[1:]
    assert header.split() == [
        "GROUP", "ACCOUNTS", "ADOPTION", "MEAN_CONSUMPTION", "GROSS_RETENTION", "NET_RETENTION", "NPS",
        "RENEWAL_RATE", "STARTING_ARR",
    ]
    # adoption 1/3, consumption 0.45, GRR 130/190, NRR 150/190, NPS 14.29 points, renewals 2/3, ARR 190k
    assert total.split() == ["(all)", "3", "33.3%", "45.0%", "68.4%", "78.9%", "14.3", "66.7%", "190,000"]
    assert re.search(r"\d[eE][+-]?\d", result.output) is None
    strategic = next(line for line in groups if line.startswith("strategic")).split()
    assert strategic[2] == "100.0%" and strategic[-1] == "150,000"
    raw = as_json(invoke("kpis", "--from", PERIOD[0], "--to", PERIOD[1], "--json"))["total"]
    assert raw["adoption"] == 1 / 3 and raw["starting_arr"] == 190_000.0


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("utilization", 0.8126, "81.3%"),
        ("utilization", 1e-05, "0.0%"),
        ("arr", 1_234_567.0, "1,234,567"),
        ("arr", 1234.5, "1,234.50"),
        ("mau_trend_30d", -0.24, "-24.0%"),
        ("mau_growth", 0.1, "+10.0%"),
        ("nps", -33.3333, "-33.3"),
        ("weight", 1e-05, "0.00001"),
        ("seats", 12000, "12,000"),
        ("consumption", None, "-"),
        ("utilization", float("nan"), "-"),
    ],
)
def test_numbers_never_read_as_field_values(field: str, value: float | None, shown: str) -> None:
    from journey.domain.numbers import figure

    assert figure(field, value) == shown


def test_reports_go_under_journey_home_unless_out_is_given(
    invoke: Callable[..., Result], portfolio: None, journey_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    account_run = invoke("report", "alpha", "--on", "2025-12-31")
    assert account_run.exit_code == 0, account_run.output
    expected = journey_home / "reports" / "alpha" / "alpha-report-2025-12-31.html"
    assert account_run.output.strip() == f"wrote {expected}" and expected.is_file()
    book = as_json(invoke("report", "--portfolio", "--on", "2025-12-31", "--json"))
    assert Path(book["path"]) == journey_home / "reports" / "portfolio-report-2025-12-31.html"
    assert list(elsewhere.iterdir()) == []  # nothing in the current directory
    given = as_json(invoke("report", "alpha", "--on", "2025-12-31", "--out", str(tmp_path / "given"), "--json"))
    assert Path(given["path"]).parent == tmp_path / "given"
