"""The metrics of PRODUCT.md at their edges, on SQLite and PostgreSQL.

Expected values are worked out by hand in each test (the arithmetic is in the comments),
never by calling the code under test a second way.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from journey.store import Store
from journey.store.metrics import (
    Kpis,
    consumption_on,
    month_mau,
    portfolio_kpis,
    previous_month,
    sweep_metrics,
    terms_on,
    utilization_on,
)
from tests.helpers.portfolio import account, build_portfolio, timeline, usage, write_usage_rows

D = date


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


def test_write_usage_counts_and_writing_again_changes_nothing(store: Store) -> None:
    from journey.files import UsageRow
    rows = [UsageRow(account="acme", date=D(2025, 3, n), dau=n, mau=10 * n) for n in range(1, 4)]
    assert store.write_usage(rows).as_dict() == {"rows": 3, "inserted": 3, "updated": 0, "unchanged": 0}
    assert store.write_usage(rows).as_dict() == {"rows": 3, "inserted": 0, "updated": 0, "unchanged": 3}
    fixed = [UsageRow(account="acme", date=D(2025, 3, 3), dau=1, mau=30), UsageRow(account="acme", date=D(2025, 3, 4), dau=1, mau=40)]
    assert store.write_usage(fixed).as_dict() == {"rows": 2, "inserted": 1, "updated": 1, "unchanged": 0}
    with store.engine.connect() as conn:
        assert consumption_on(conn, "acme", D(2025, 3, 4)) is None  # no February report
        assert utilization_on(conn, "acme", D(2025, 3, 3)) == 30


# --- Utilization -------------------------------------------------------------------------


def test_no_usage_at_all_is_none_not_zero(store: Store) -> None:
    store.upsert_accounts([account("acme")])
    with store.engine.connect() as conn:
        assert utilization_on(conn, "acme", D(2025, 3, 1)) is None
        assert month_mau(conn, "acme", 2025, 2) is None
        assert consumption_on(conn, "acme", D(2025, 3, 1)) is None
    assert store.account_metrics("acme", D(2025, 3, 1), seats=100) == {"utilization": None, "consumption": None}
    assert store.account_metrics("nobody", D(2025, 3, 1), seats=100) == {"utilization": None, "consumption": None}


def test_utilization_takes_the_latest_report_on_or_before_the_day(store: Store) -> None:
    usage(store, "acme", (D(2025, 3, 1), 10, 100), (D(2025, 3, 5), 10, 120))
    with store.engine.connect() as conn:
        assert utilization_on(conn, "acme", D(2025, 2, 28)) is None  # nothing yet
        assert utilization_on(conn, "acme", D(2025, 3, 1)) == 100
        assert utilization_on(conn, "acme", D(2025, 3, 4)) == 100  # missing days: last known
        assert utilization_on(conn, "acme", D(2025, 3, 5)) == 120
        assert utilization_on(conn, "acme", D(2026, 1, 1)) == 120  # stale but latest
    assert store.account_metrics("acme", D(2025, 3, 4), seats=400)["utilization"] == pytest.approx(0.25)


def test_utilization_uses_the_seats_in_force_on_the_day(store: Store) -> None:
    # 160 MAU all month; seats go 200 -> 100 on the 15th: 0.8 before, 1.6 from the 15th on,
    # nothing prorated.
    store.upsert_accounts([account("acme", seats=100)])
    timeline(
        store,
        "acme",
        (D(2024, 1, 1), "event", "enrolled", {"seats": 200, "arr": 1000}),
        (D(2025, 3, 15), "event", "contract_changed", {"seats": 100}),
    )
    usage(store, "acme", (D(2025, 3, 1), 10, 160))
    with store.engine.connect() as conn:
        assert terms_on(conn, "acme", D(2025, 3, 14)) == (200, 1000.0)
        assert terms_on(conn, "acme", D(2025, 3, 15)) == (100, 1000.0)
    assert store.account_metrics("acme", D(2025, 3, 14), seats=200)["utilization"] == pytest.approx(0.8)
    assert store.account_metrics("acme", D(2025, 3, 15), seats=100)["utilization"] == pytest.approx(1.6)
    with store.engine.connect() as conn:
        before = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 3, 14))[None]
        after = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 3, 15))[None]
    assert (before.adopted, after.adopted) == (1, 1)  # 0.8 is "at or above 80%"


def test_terms_fall_back_to_the_accounts_table_then_to_the_first_known_value(store: Store) -> None:
    store.upsert_accounts([account("plain", seats=30, arr=3000.0), account("late", seats=50, arr=5000.0)])
    # "late" has no enrolled row carrying its terms; its first change is the best we know.
    timeline(store, "late", (D(2025, 6, 1), "event", "contract_changed", {"seats": 50, "arr": 5000}))
    with store.engine.connect() as conn:
        assert terms_on(conn, "plain", D(2025, 1, 1)) == (30, 3000.0)
        assert terms_on(conn, "late", D(2025, 1, 1)) == (50, 5000.0)
        assert terms_on(conn, "nobody", D(2025, 1, 1)) is None


# --- MAU of a month and consumption ------------------------------------------------------


def test_month_mau_is_the_last_reported_day_of_that_month(store: Store) -> None:
    usage(store, "acme", (D(2025, 1, 10), 1, 90), (D(2025, 1, 30), 1, 95), (D(2025, 2, 1), 1, 300),
          (D(2024, 12, 31), 1, 80))
    with store.engine.connect() as conn:
        assert month_mau(conn, "acme", 2025, 1) == 95  # Jan 31 has no report: Jan 30's
        assert month_mau(conn, "acme", 2024, 12) == 80  # Dec 31, across the year boundary
        assert month_mau(conn, "acme", 2025, 2) == 300
        assert month_mau(conn, "acme", 2025, 3) is None


def test_previous_month_across_years_and_leap_februaries() -> None:
    assert previous_month(D(2025, 1, 10)) == (D(2024, 12, 1), D(2024, 12, 31))
    assert previous_month(D(2024, 3, 1)) == (D(2024, 2, 1), D(2024, 2, 29))
    assert previous_month(D(2025, 3, 31)) == (D(2025, 2, 1), D(2025, 2, 28))


def test_consumption_in_a_leap_year_window_and_february_29(store: Store) -> None:
    # 2024-03-01: window = Feb 3..Mar 1 (Feb has 29 days), Feb MAU = Feb 29's 200.
    # In the window: Feb 10 (10), Feb 29 (20), Mar 1 (30) -> mean 20; Feb 2 (100) is outside.
    # consumption = 20 / 200 = 0.1
    usage(store, "leap", (D(2024, 2, 2), 100, 150), (D(2024, 2, 10), 10, 150), (D(2024, 2, 29), 20, 200),
          (D(2024, 3, 1), 30, 999))
    with store.engine.connect() as conn:
        assert month_mau(conn, "leap", 2024, 2) == 200
        assert consumption_on(conn, "leap", D(2024, 3, 1)) == pytest.approx(0.1, abs=1e-12)


def test_consumption_in_a_common_year_window(store: Store) -> None:
    # 2025-03-01: window = Feb 2..Mar 1. Feb 1 (100) is outside; Feb 2 (10), Feb 28 (20),
    # Mar 1 (30) -> mean 20; Feb MAU = Feb 28's 400 -> 0.05.
    usage(store, "common", (D(2025, 2, 1), 100, 300), (D(2025, 2, 2), 10, 300), (D(2025, 2, 28), 20, 400),
          (D(2025, 3, 1), 30, 500))
    with store.engine.connect() as conn:
        assert consumption_on(conn, "common", D(2025, 3, 1)) == pytest.approx(0.05, abs=1e-12)
    # Mid-month, the window stays in the month and the divisor is still February's.
    # 2025-03-31: window Mar 4..31 has no report -> None.
    with store.engine.connect() as conn:
        assert consumption_on(conn, "common", D(2025, 3, 31)) is None


def test_consumption_across_the_year_boundary(store: Store) -> None:
    # 2025-01-10: window Dec 14..Jan 10: Dec 20 (30), Jan 5 (50) -> mean 40; Dec MAU = Dec 31's 160.
    usage(store, "acme", (D(2024, 12, 13), 999, 100), (D(2024, 12, 20), 30, 150), (D(2024, 12, 31), 1, 160),
          (D(2025, 1, 5), 50, 170))
    # mean = (30 + 1 + 50) / 3 = 27 -> 27 / 160 = 0.16875
    with store.engine.connect() as conn:
        assert consumption_on(conn, "acme", D(2025, 1, 10)) == pytest.approx(0.16875, abs=1e-12)


def test_consumption_is_none_without_a_previous_month_or_with_a_zero_mau(store: Store) -> None:
    usage(store, "new", (D(2025, 3, 2), 5, 10))
    usage(store, "zero", (D(2025, 2, 28), 0, 0), (D(2025, 3, 2), 5, 10))
    with store.engine.connect() as conn:
        assert consumption_on(conn, "new", D(2025, 3, 10)) is None  # no February report
        assert consumption_on(conn, "zero", D(2025, 3, 10)) is None  # February MAU 0


def test_account_metrics_to_four_decimals(store: Store) -> None:
    # On 2025-04-15 with 300 seats: latest mau 233 (Apr 14) -> 233/300 = 0.776666...
    # Window Mar 19..Apr 15 (Mar 18 is outside): Mar 19 (7), Mar 31 (corrected from 1000
    # to 9), Apr 14 (8) -> mean 8; March MAU = Mar 31's 44 -> 8/44 = 0.181818...
    usage(store, "acme", (D(2025, 3, 18), 100, 40), (D(2025, 3, 19), 7, 41), (D(2025, 3, 31), 1000, 44))
    write_usage_rows(store, [("acme", D(2025, 3, 31), 9, 44), ("acme", D(2025, 4, 14), 8, 233)])
    measured = store.account_metrics("acme", D(2025, 4, 15), seats=300)
    assert round(measured["utilization"], 4) == 0.7767  # type: ignore[arg-type]
    assert round(measured["consumption"], 4) == 0.1818  # type: ignore[arg-type]


# --- The sweep ---------------------------------------------------------------------------


def test_sweep_measures_every_account(store: Store) -> None:
    store.upsert_accounts([account("up", seats=100), account("down", seats=100), account("quiet", seats=10)])
    day = D(2025, 6, 30)
    # up: mau 90 on May 31 (=May MAU, and the latest on or before May 31 = day - 30),
    # 95 on Jun 30 -> trend 95/90 - 1 = 0.0556; window Jun 3..30: dau 40 -> 40/90.
    usage(store, "up", (D(2025, 5, 31), 30, 90), (D(2025, 6, 30), 40, 95))
    # down: 100 on May 20 (latest on or before May 31), 70 on Jun 29 -> trend -0.3;
    # utilization 0.7; May MAU 100, window mean 20 -> 0.2.
    usage(store, "down", (D(2025, 5, 20), 10, 100), (D(2025, 6, 29), 20, 70))
    with store.engine.connect() as conn:
        swept = sweep_metrics(conn, day)
    assert set(swept) == {"up", "down", "quiet"}
    up, down, quiet = swept["up"], swept["down"], swept["quiet"]
    assert (up.mau, up.mau_before, up.utilization) == (95, 90, pytest.approx(0.95))
    assert up.mau_trend == pytest.approx(95 / 90 - 1)
    assert up.consumption == pytest.approx(40 / 90)
    assert down.mau_trend == pytest.approx(-0.3)
    assert (down.utilization, down.consumption) == (pytest.approx(0.7), pytest.approx(0.2))
    assert (quiet.mau, quiet.utilization, quiet.consumption, quiet.mau_trend) == (None, None, None, None)


def test_sweep_agrees_with_the_per_account_functions(store: Store) -> None:
    store.upsert_accounts([account(f"a{n}", seats=50 + n) for n in range(6)])
    start = D(2024, 1, 1)
    for n in range(6):
        rows = [(start + timedelta(days=d), (d * 7 + n) % 40, 40 + (d * 3 + n) % 20) for d in range(0, 120, n + 1)]
        usage(store, f"a{n}", *rows)
    day = D(2024, 3, 1)
    with store.engine.connect() as conn:
        swept = sweep_metrics(conn, day)
        for n in range(6):
            one = swept[f"a{n}"]
            assert one.mau == utilization_on(conn, f"a{n}", day)
            assert one.consumption == pytest.approx(consumption_on(conn, f"a{n}", day), abs=1e-12)


# --- Portfolio KPIs ----------------------------------------------------------------------


def _rounded(kpis: Kpis) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in vars(kpis).items()}


def test_kpis_by_hand(store: Store) -> None:
    build_portfolio(store)
    with store.engine.connect() as conn:
        total = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31))[None]
    assert _rounded(total) == {
        # active on Dec 31: alpha, gamma, delta (beta and eps churned)
        "accounts": 3,
        # alpha 170 / 200 seats (seats as of Dec 31) = 0.85; gamma 20/40 = 0.5; delta none
        "adopted": 1,
        "adoption": 0.3333,
        # alpha (60 + 90)/2 / 150 = 0.5; gamma 10 / 25 = 0.4; delta none -> 0.45
        "mean_consumption": 0.45,
        # cohort (signed by Jan 1, not churned before): alpha 100k, beta 50k, gamma 40k
        "starting_arr": 190_000.0,
        "churned_arr": 50_000.0,  # beta
        "contraction": 10_000.0,  # gamma 40k -> 30k
        "expansion": 20_000.0,  # alpha 100k -> 120k
        "gross_retention": 0.6842,  # (190 - 50 - 10) / 190
        "net_retention": 0.7895,  # (190 - 50 - 10 + 20) / 190
        # in the period: 10, 9, 3, 10 (alpha), 7, 6 (gamma), 8 (delta); beta's is earlier
        "nps_responses": 7,
        "promoters": 3,
        "detractors": 2,
        "nps": 14.2857,  # 100 * (3 - 2) / 7
        # closed in the period: alpha renewed (Jun), beta churned (Mar), gamma renewed (Sep)
        "renewals": 3,
        "renewed": 2,
        "renewal_rate": 0.6667,
    }


def test_kpis_by_segment_by_hand(store: Store) -> None:
    build_portfolio(store)
    with store.engine.connect() as conn:
        found = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31), by="segment")
    assert set(found) == {"strategic", "commercial", "large-enterprise"}
    strategic, commercial, large = (_rounded(found[s]) for s in ("strategic", "commercial", "large-enterprise"))
    # strategic: alpha active and adopted; cohort alpha 100k + beta 50k, beta churned, +20k
    assert (strategic["accounts"], strategic["adoption"], strategic["mean_consumption"]) == (1, 1.0, 0.5)
    assert (strategic["gross_retention"], strategic["net_retention"]) == (0.6667, 0.8)  # 100/150, 120/150
    assert (strategic["nps"], strategic["renewal_rate"]) == (50.0, 0.5)  # (3-1)/4; alpha yes, beta no
    # commercial: gamma and delta active, none adopted; cohort gamma 40k -> 30k
    assert (commercial["accounts"], commercial["adoption"], commercial["mean_consumption"]) == (2, 0.0, 0.4)
    assert (commercial["gross_retention"], commercial["net_retention"]) == (0.75, 0.75)
    assert (commercial["nps"], commercial["renewal_rate"]) == (-33.3333, 1.0)  # (0-1)/3
    # large-enterprise: eps churned before the period: nothing to measure
    assert (large["accounts"], large["adoption"], large["gross_retention"], large["nps"], large["renewal_rate"]) == (
        0, None, None, None, None,
    )


def test_kpis_by_ta_add_up_to_the_total(store: Store) -> None:
    build_portfolio(store)
    with store.engine.connect() as conn:
        by_ta = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31), by="ta")
        total = portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31))[None]
    assert set(by_ta) == {"tara", "tom"}
    for field in ("accounts", "adopted", "starting_arr", "churned_arr", "contraction", "expansion", "nps_responses", "renewals"):
        assert sum(getattr(k, field) for k in by_ta.values()) == getattr(total, field), field


def test_kpis_of_an_empty_store(store: Store) -> None:
    with store.engine.connect() as conn:
        assert portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31)) == {None: Kpis()}
        assert portfolio_kpis(conn, D(2025, 1, 1), D(2025, 12, 31), by="segment") == {}
