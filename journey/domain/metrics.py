"""The metric definitions as formulas: utilization, consumption, retention, NPS, renewals.

docs/metrics.md states each definition; `journey.store.metrics` computes the inputs in
SQL over the store and these functions combine them. No usage at all gives None, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

CONSUMPTION_WINDOW_DAYS = 28
ADOPTION_TARGET = 0.8  # utilization at or above this is "adopted" (handbook: 80%)
TREND_DAYS = 30


# --- Calendar ----------------------------------------------------------------------------


def previous_month(day: date) -> tuple[date, date]:
    """First and last day of the calendar month before `day`'s month."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def consumption_window(day: date) -> tuple[date, date]:
    """The 28 days ending `day`, both ends included."""
    return day - timedelta(days=CONSUMPTION_WINDOW_DAYS - 1), day


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


@dataclass(frozen=True, slots=True)
class AccountMeasures:
    """One account's measures on one day, as the health sweep sees them."""

    account: str
    seats: int
    mau: int | None  # latest mau on or before the day
    utilization: float | None
    consumption: float | None
    mau_before: int | None  # latest mau on or before the day minus TREND_DAYS
    mau_trend: float | None  # mau / mau_before - 1


def measure(
    account: str,
    seats: int,
    mau: int | None,
    mau_before: int | None,
    previous_month_mau: int | None,
    mean_dau_28: float | None,
) -> AccountMeasures:
    """Combine one account's raw figures into its measures (pure; the sweep's last step)."""
    growth = ratio(mau, mau_before)
    return AccountMeasures(
        account=account,
        seats=seats,
        mau=mau,
        utilization=ratio(mau, seats),
        consumption=ratio(mean_dau_28, previous_month_mau),
        mau_before=mau_before,
        mau_trend=None if growth is None else growth - 1.0,
    )


@dataclass(frozen=True, slots=True)
class ActiveAccount:
    """An account active on a day (signed, not churned), as the adoption KPI counts it:
    seats and ARR in force that day, the latest mau on or before it, utilization."""

    account: str
    seats: int
    arr: float
    mau: int | None
    utilization: float | None

    @property
    def adopted(self) -> bool:
        return self.utilization is not None and self.utilization >= ADOPTION_TARGET


@dataclass
class Kpis:
    """Portfolio KPIs over [start, end] for one group of accounts (see `portfolio_kpis`)."""

    accounts: int = 0
    adopted: int = 0
    adoption: float | None = None
    mean_consumption: float | None = None
    starting_arr: float = 0.0
    churned_arr: float = 0.0
    contraction: float = 0.0
    expansion: float = 0.0
    gross_retention: float | None = None
    net_retention: float | None = None
    nps_responses: int = 0
    promoters: int = 0
    detractors: int = 0
    nps: float | None = None
    renewals: int = 0
    renewed: int = 0
    renewal_rate: float | None = None

    def derive(self) -> None:
        """The ratios from the counts and sums (a ratio over nothing is None)."""
        self.adoption = ratio(self.adopted, self.accounts)
        kept = self.starting_arr - self.churned_arr - self.contraction
        self.gross_retention = ratio(kept, self.starting_arr)
        self.net_retention = ratio(kept + self.expansion, self.starting_arr)
        share = ratio(self.promoters - self.detractors, self.nps_responses)
        self.nps = None if share is None else 100.0 * share
        self.renewal_rate = ratio(self.renewed, self.renewals)


def nps_of(scores: Iterable[int]) -> float:
    """% promoters (9-10) - % detractors (0-6), in points from -100 to 100."""
    values = list(scores)
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return 100.0 * (promoters - detractors) / len(values)
