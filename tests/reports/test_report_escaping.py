"""A report shows data as text: HTML from an account's name or a health reason is escaped
in the page, and `$...$` (which matplotlib reads as math) is drawn as it is."""

from __future__ import annotations

from datetime import date

from journey.domain.effects import Effects, TimelineEntry
from journey.reports.data import Chart, account_report
from journey.reports.render import draw, render_html
from journey.store import Store
from tests.helpers.accounts import make_account

IMG = "<img src=x onerror=alert(1)>"


def test_names_and_reasons_are_escaped_in_the_page(store: Store) -> None:
    store.upsert_accounts([make_account("acme", name=IMG, signed=date(2026, 1, 5), renewal=date(2027, 1, 5))])
    reason = "<script>alert(2)</script>"
    store.apply_effects(
        Effects(
            account="acme",
            timeline=[
                TimelineEntry(key="acme/h1", account="acme", at=date(2026, 2, 1), kind="health", name="red", detail={"reason": reason})
            ],
        )
    )
    page = render_html(account_report(store, "acme", date(2026, 3, 1)))
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_dollar_signs_in_labels_are_drawn_as_text() -> None:
    for key in ("touchpoints", "adoption", "by_stage"):
        rows = [[r"$\frac{unclosed$", 1, 1, 0, 0, 0]] if key == "touchpoints" else [[r"$\frac{unclosed$", 0.5]]
        png = draw(Chart(key=key, title=r"cost in $\badmacro$", columns=["a", "b", "c", "d", "e", "f"][: len(rows[0])], rows=rows))
        assert png.startswith(b"\x89PNG")
