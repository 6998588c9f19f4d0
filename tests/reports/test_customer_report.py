"""The account report a TA hands to a customer (`--audience customer`, the default): no
health, scores, red episodes or internal names; numbers formatted for people; every text
from data escaped, checked in a real browser (headless Chromium) that runs no script of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from journey.domain.effects import AccountSnapshot, Effects, RedTrackerRow, TaskChange, TaskOpen, TimelineEntry
from journey.reports.data import account_report
from journey.reports.render import render_html, write_report
from journey.store import Store
from tests.helpers.accounts import make_account
from tests.helpers.stores import add_usage

TODAY = date(2026, 6, 30)
SIGNED = date(2026, 1, 5)
HOSTILE = [
    "<script>alert(1)</script>",
    "| pipe | **bold**",
    "<img src=x onerror=alert(1)>",
    "<script>document.documentElement.setAttribute('data-ran','yes')</script>",
]
E_NOTATION = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d")


def hostile_store(store: Store, name: str) -> Store:
    """An account named `name` with a huge book and a tiny utilization (1 of 100,000 seats:
    1e-05 as a float), health changes with reasons, a done training and a red episode."""
    store.upsert_accounts(
        [
            make_account(
                "acme", name=name, seats=100_000, arr=1_234_567.89, signed=SIGNED, renewal=date(2027, 1, 5),
                ta="tara.internal", ae="alex.internal",
            )
        ]
    )
    add_usage(store, [("acme", SIGNED + timedelta(days=n), 1, 1) for n in range(0, 170, 7)])
    reason = "<script>alert(3)</script> health score 12"
    timeline = [
        TimelineEntry(key="acme/h1", account="acme", at=date(2026, 3, 1), kind="health", name="red",
                      detail={"from": "green", "source": "score", "reason": reason}),
        TimelineEntry(key="acme/training-101", account="acme", at=date(2026, 2, 2), kind="touchpoint",
                      name="training-101", detail={"status": "task"}),
    ]
    task = TaskOpen(key="acme/training-101", account="acme", touchpoint="training-101", title="Training 101",
                    owner_role="ta", owner="tara.internal", due=date(2026, 2, 2))
    snapshot = AccountSnapshot(
        id="acme", stage="steady", health="red", health_reason=reason, segment="strategic", tier=1,
        model="enterprise", seats=100_000, arr=1_234_567.89, renewal=date(2027, 1, 5), term=1,
    )
    store.apply_effects(
        Effects(
            account="acme", timeline=timeline, open_tasks=[task],
            task_changes=[TaskChange(key="acme/training-101", status="done", done_on=date(2026, 2, 3))],
            red_rows=[RedTrackerRow(key="acme/red/1", account="acme", episode=1, opened_on=date(2026, 3, 1), reason=reason)],
            snapshot=snapshot,
        )
    )
    return store


class Page(HTMLParser):
    """What a browser's DOM holds: elements with their attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> Page:
    page = Page()
    page.feed(markup)
    return page


def chromium_dom(path: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium (headless) is not installed: `chromium --headless --dump-dom` renders the page")
    done = subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", path.as_uri()],
        check=True, capture_output=True, text=True, timeout=90,
    )
    return done.stdout


@pytest.mark.parametrize("name", HOSTILE)
def test_customer_report_in_chromium_runs_no_script_and_reads_as_numbers(store: Store, tmp_path: Path, name: str) -> None:
    path = write_report(account_report(hostile_store(store, name), "acme", TODAY), tmp_path)
    page = parse(chromium_dom(path))
    tags = [tag for tag, _ in page.elements]
    assert "script" not in tags
    assert all(not any(a.startswith("on") for a in attrs) for _, attrs in page.elements)
    assert all((attrs.get("src") or "").startswith("data:image/png;base64,") for tag, attrs in page.elements if tag == "img")
    assert all("data-ran" not in attrs for _, attrs in page.elements)
    text = " ".join(page.text)
    assert name in text  # shown as the text it is, in the title and the heading
    assert E_NOTATION.search(text) is None, E_NOTATION.findall(text)
    assert "1,234,567.89" in text and "100,000" in text and "0.0%" in text


def test_customer_report_leaves_out_what_is_internal(store: Store) -> None:
    report = account_report(hostile_store(store, "Acme"), "acme", TODAY)
    assert report.audience == "customer"
    assert set(report.shown_summary()) == {
        "seats", "arr", "renewal_date", "utilization", "consumption", "mau_trend_30d", "adoption_target",
        "mau_first", "mau_last", "mau_growth", "touchpoints_due", "touchpoints_skipped", "tasks_done", "trainings_done",
    }
    # The JSON keeps every field for tools; the page shows the customer's summary only.
    assert {"health", "ta", "red_episodes"} <= set(report.summary)
    assert [c.key for c in report.charts] == ["mau_vs_seats", "dau_mau", "touchpoints"] and report.red_history == []
    text = " ".join(parse(render_html(report)).text)
    for internal in ("tara.internal", "alex.internal", "health score", "Health", "strategic", "enterprise", "steady", "Red"):
        assert internal not in text, internal
    # Labels in words, not field names; every chart titled once (in its heading only).
    assert "mau_vs_seats" not in text and "touchpoints_due" not in text and "Training 101" in text
    assert "Utilization (monthly active users / licensed seats)" in text
    for chart in report.charts:
        assert text.count(chart.title) == 1, chart.title


def test_internal_report_adds_health_and_red_history(store: Store) -> None:
    report = account_report(hostile_store(store, "Acme"), "acme", TODAY, audience="internal")
    assert {"health", "health_reason", "health_score", "ta", "red_episodes"} <= set(report.summary)
    assert [c.key for c in report.charts] == ["mau_vs_seats", "dau_mau", "health", "touchpoints"]
    page = render_html(report)
    assert "&lt;script&gt;alert(3)&lt;/script&gt; health score 12" in page and "<script>" not in page
    assert "Red-account history" in page and report.red_history[0]["opened_on"] == "2026-03-01"


def test_an_account_without_usage_says_so_instead_of_empty_axes(store: Store) -> None:
    store.upsert_accounts([make_account("quiet", signed=SIGNED, renewal=date(2027, 1, 5))])
    report = account_report(store, "quiet", TODAY, audience="internal")
    page = render_html(report)
    found = re.finditer(r'<section class="chart" id="([a-z_]+)".*?</section>', page, re.S)
    sections = {m.group(1): m.group(0) for m in found}
    for key in ("mau_vs_seats", "dau_mau"):
        assert "No usage reported in this period." in sections[key] and "<img" not in sections[key]
    assert "No touchpoints fell due in this period." in sections["touchpoints"]
    # Health has a span even with no change: the color it had all along, over the whole period.
    assert report.chart("health").rows == [[SIGNED.isoformat(), "green", None, None, TODAY.isoformat()]]
    assert "<img" in sections["health"]
    # Every time axis covers the report's period, whatever days have data.
    assert {(c.key, c.since, c.until) for c in report.charts} == {(c.key, SIGNED, TODAY) for c in report.charts}
