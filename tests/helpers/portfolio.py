"""A small book of accounts with usage, NPS answers and contract events, for the metric
and KPI tests (tests/store/test_metrics.py, tests/cli/test_usage.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from journey.domain.effects import Effects, TimelineEntry
from journey.domain.models import Account
from journey.store import Store

D = date


def account(account_id: str, **overrides: Any) -> Account:
    values: dict[str, Any] = {
        "id": account_id,
        "name": account_id.title(),
        "segment": "strategic",
        "tier": 1,
        "seats": 100,
        "arr": 100_000.0,
        "signed": D(2024, 1, 1),
        "renewal": D(2026, 1, 1),
        "ta": "tara",
        "ae": "alex",
    }
    values.update(overrides)
    return Account.model_validate(values, strict=False)


def timeline(store: Store, account_id: str, *entries: tuple[date, str, str, dict[str, Any]]) -> None:
    """Timeline rows (at, kind, name, detail), as the journeys write them."""
    rows = [
        TimelineEntry(key=f"{account_id}/t/{n}", account=account_id, at=at, kind=kind, name=name, detail=detail)  # type: ignore[arg-type]
        for n, (at, kind, name, detail) in enumerate(entries)
    ]
    store.apply_effects(Effects(account=account_id, timeline=rows))


def usage(store: Store, account_id: str, *rows: tuple[date, int, int]) -> None:
    write_usage_rows(store, [(account_id, day, dau, mau) for day, dau, mau in rows])


def write_usage_rows(store: Store, rows: list[tuple[str, date, int, int]]) -> None:
    """Usage rows (account, date, dau, mau) written as given: some rows here are deliberate
    outliers with a dau above the mau, which an import would refuse, so they skip validation."""
    from journey.domain.measurements import UsageRow

    store.write_usage([UsageRow.model_construct(account=a, date=d, dau=dau, mau=mau) for a, d, dau, mau in rows])


def nps(store: Store, account_id: str, *answers: tuple[date, int]) -> None:
    from journey.files import NpsRow
    store.write_nps([NpsRow(account=account_id, date=day, score=score) for day, score in answers])


def build_portfolio(store: Store) -> None:
    """Five accounts over 2025; the expected KPIs are worked out in test_kpis_by_hand.

    alpha  strategic  tara  signed 2024-06  ARR 100k -> 120k (2025-05-01), seats 100 -> 200 (2025-12-15)
    beta   strategic  tara  signed 2024-03  ARR 50k (no contract events), churned 2025-03-01
    gamma  commercial tom   signed 2024-09  ARR 40k, renewed 2025-09-01 at 30k
    delta  commercial tom   signed 2025-02  ARR 10k (new business), no usage
    eps    large-ent. tara  signed 2024-01  ARR 80k, offboarded 2024-11-01 (before the period)
    """
    store.upsert_accounts(
        [
            account("alpha", seats=200, arr=120_000.0, signed=D(2024, 6, 1), renewal=D(2026, 6, 1)),
            account("beta", seats=50, arr=50_000.0, signed=D(2024, 3, 1), renewal=D(2025, 3, 1)),
            account("gamma", segment="commercial", ta="tom", seats=40, arr=30_000.0, signed=D(2024, 9, 1), renewal=D(2026, 9, 1)),
            account("delta", segment="commercial", ta="tom", seats=10, arr=10_000.0, signed=D(2025, 2, 1), renewal=D(2026, 2, 1)),
            account("eps", segment="large-enterprise", seats=80, arr=80_000.0, signed=D(2024, 1, 1), renewal=D(2025, 1, 1)),
        ]
    )
    timeline(
        store,
        "alpha",
        (D(2024, 6, 1), "event", "enrolled", {"model": "enterprise", "seats": 100, "arr": 100_000}),
        (D(2024, 12, 31), "event", "renewal_closed", {"outcome": "renewed"}),  # before the period
        (D(2025, 5, 1), "event", "contract_changed", {"arr": 120_000}),
        (D(2025, 6, 1), "event", "renewal_closed", {"outcome": "renewed"}),  # no new ARR
        (D(2025, 12, 15), "event", "contract_changed", {"seats": 200}),
    )
    timeline(
        store,
        "beta",
        (D(2025, 3, 1), "event", "renewal_closed", {"outcome": "churned"}),
        (D(2025, 3, 1), "stage", "churned", {"from": "renewal", "trigger": "churn"}),
    )
    timeline(
        store,
        "gamma",
        (D(2024, 9, 1), "event", "enrolled", {"seats": 40, "arr": 40_000}),
        (D(2025, 9, 1), "event", "renewal_closed", {"outcome": "renewed", "arr": 30_000, "seats": 40}),
    )
    timeline(store, "eps", (D(2024, 11, 1), "stage", "churned", {"trigger": "offboard"}))
    # alpha: Nov MAU = 150 (Nov 30); window Dec 4..31 holds Dec 10 and Dec 31 (Dec 3 is outside).
    usage(store, "alpha", (D(2025, 11, 15), 50, 140), (D(2025, 11, 30), 55, 150),
          (D(2025, 12, 3), 1000, 160), (D(2025, 12, 10), 60, 165), (D(2025, 12, 31), 90, 170))
    # gamma: Nov MAU = 25 (Nov 29, the last November report); Dec 20 is its latest report.
    usage(store, "gamma", (D(2025, 11, 29), 12, 25), (D(2025, 12, 20), 10, 20))
    # beta churned: its usage must not count.
    usage(store, "beta", (D(2025, 11, 30), 50, 50), (D(2025, 12, 31), 50, 50))
    nps(store, "alpha", (D(2025, 1, 1), 10), (D(2025, 4, 1), 9), (D(2025, 7, 1), 3), (D(2025, 12, 31), 10))
    nps(store, "gamma", (D(2025, 2, 1), 7), (D(2025, 3, 1), 6))
    nps(store, "delta", (D(2025, 6, 1), 8))
    nps(store, "beta", (D(2024, 12, 31), 10))  # before the period


# --- Writing usage -----------------------------------------------------------------------
