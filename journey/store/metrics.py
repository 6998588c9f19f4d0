"""Adoption, consumption, retention, NPS and renewal metrics, computed in SQL over the store.

The definitions are docs/metrics.md's, word for word where it is exact; the formulas
that combine what these queries return are in `journey.domain.metrics`:

- Utilization on day D = the latest `mau` reported on or before D / licensed seats.
  Seats are those in force on D: callers that know them pass them (`journey status`
  passes the journey's seats on its `today`); portfolio KPIs read them from the timeline
  (see `_term_as_of`). A seat change on the 15th therefore changes utilization from the
  15th on, with the same `mau`; nothing is prorated over the month.
- MAU of a calendar month = the `mau` on the last day of that month that has a report.
- Consumption on day D = mean `dau` over the 28 days D-27..D, over the days that have a
  report / MAU of the calendar month before D's month. Undefined (None) when no day in
  the window has a report, or that month has no report, or its MAU is 0.
- Gross/net retention, NPS and renewal rate over a period: see `portfolio_kpis`.

No usage at all gives None, never 0. Every query goes through the `usage` primary key
(account_id, date): each account costs a few index seeks and a 28-row range scan,
however long its history, which is what keeps a 10,000-account sweep well under a
second (bench/sweep.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from journey.domain.metrics import (
    ADOPTION_TARGET,
    TREND_DAYS,
    AccountMeasures,
    ActiveAccount,
    Kpis,
    consumption_window,
    measure,
    month_bounds,
    previous_month,
    ratio,
)
from journey.store.database import Database
from journey.store.schema import accounts, nps_responses, timeline, usage

AccountRef = ColumnElement[str] | str


# --- Per-account SQL pieces --------------------------------------------------------------
# Scalar subqueries on one account: a plain id, or a column (then they correlate, one row
# per account of the enclosing query).


def _last_mau(account: AccountRef, last: date, first: date | None = None) -> sa.ScalarSelect[Any]:
    """`mau` of the latest report on or before `last` (and on or after `first`)."""
    query = sa.select(usage.c.mau).where(usage.c.account_id == account, usage.c.date <= last)
    if first is not None:
        query = query.where(usage.c.date >= first)
    return query.order_by(usage.c.date.desc()).limit(1).scalar_subquery()


def _previous_month_mau(account: AccountRef, day: date) -> sa.ScalarSelect[Any]:
    first, last = previous_month(day)
    return _last_mau(account, last, first)


def _mean_dau(account: AccountRef, first: date, last: date) -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.avg(usage.c.dau))
        .where(usage.c.account_id == account, usage.c.date.between(first, last))
        .scalar_subquery()
    )


# --- One account -------------------------------------------------------------------------


def utilization_on(conn: Connection, account: str, day: date) -> int | None:
    """The latest `mau` reported on or before `day` (utilization = this / licensed seats)."""
    value = conn.execute(sa.select(_last_mau(account, day))).scalar()
    return None if value is None else int(value)


def month_mau(conn: Connection, account: str, year: int, month: int) -> int | None:
    """MAU of a calendar month: the `mau` on the last day of that month that has a report."""
    first, last = month_bounds(year, month)
    value = conn.execute(sa.select(_last_mau(account, last, first))).scalar()
    return None if value is None else int(value)


def mean_dau(conn: Connection, account: str, first: date, last: date) -> float | None:
    value = conn.execute(sa.select(_mean_dau(account, first, last))).scalar()
    return None if value is None else float(value)


def consumption_on(conn: Connection, account: str, day: date) -> float | None:
    """Mean `dau` over the 28 days ending `day` (days with a report) / MAU of the month before."""
    row = conn.execute(
        sa.select(_mean_dau(account, *consumption_window(day)), _previous_month_mau(account, day))
    ).one()
    return ratio(row[0], row[1])


# --- The sweep: every account at once ----------------------------------------------------


def sweep_metrics(conn: Connection, day: date) -> dict[str, AccountMeasures]:
    """Measures of every account on `day`, in one pass over the accounts table.

    Seats are the accounts table's (the current contract): the sweep runs as of today.
    The 30-day trend compares the latest mau on or before `day` with the latest on or
    before `day - 30`.
    """
    query = sa.select(
        accounts.c.id,
        accounts.c.seats,
        _last_mau(accounts.c.id, day).label("mau"),
        _last_mau(accounts.c.id, day - timedelta(days=TREND_DAYS)).label("mau_before"),
        _previous_month_mau(accounts.c.id, day).label("previous_month_mau"),
        _mean_dau(accounts.c.id, *consumption_window(day)).label("mean_dau"),
    ).order_by(accounts.c.id)
    return {
        row.id: measure(row.id, row.seats, row.mau, row.mau_before, row.previous_month_mau, row.mean_dau)
        for row in conn.execute(query)
    }


# --- Portfolio KPIs ----------------------------------------------------------------------

GROUPINGS = {"segment": accounts.c.segment, "ta": accounts.c.ta, "model": accounts.c.model}


def _carries_terms() -> ColumnElement[bool]:
    """Timeline events that set the contract's seats or ARR (the value is in `detail`)."""
    outcome = timeline.c.detail["outcome"].as_string()
    return sa.and_(
        timeline.c.kind == "event",
        sa.or_(
            timeline.c.name.in_(("enrolled", "contract_changed")),
            sa.and_(timeline.c.name == "renewal_closed", outcome == "renewed"),
        ),
    )


def _term_as_of(field: Literal["arr", "seats"], day: date) -> ColumnElement[Any]:
    """An account's ARR or seats in force on `day`, from its timeline.

    The value of the latest event on or before `day` that sets it (`contract_changed`,
    `renewal_closed` with outcome renewed, or `enrolled` when it records the contract);
    when none is that old, the earliest later one (the contract did not change before
    it); when the timeline never sets it, the accounts table's value.
    """
    value = timeline.c.detail[field].as_float()
    setting = sa.select(value).where(timeline.c.account_id == accounts.c.id, _carries_terms(), value.is_not(None))
    latest = setting.where(timeline.c.at <= day).order_by(timeline.c.at.desc(), timeline.c.id.desc())
    earliest = setting.where(timeline.c.at > day).order_by(timeline.c.at, timeline.c.id)
    return sa.func.coalesce(
        latest.limit(1).scalar_subquery(),
        earliest.limit(1).scalar_subquery(),
        sa.cast(accounts.c[field], sa.Float),
    )


def terms_on(conn: Connection, account: str, day: date) -> tuple[int, float] | None:
    """(seats, ARR) of `account` in force on `day` (see `_term_as_of`); None if unknown."""
    query = sa.select(_term_as_of("seats", day), _term_as_of("arr", day)).where(accounts.c.id == account)
    row = conn.execute(query).first()
    return None if row is None else (int(row[0]), float(row[1]))


def _churned_on() -> sa.ScalarSelect[Any]:
    """The day the account entered the terminal `churned` stage (at renewal or offboarded)."""
    return (
        sa.select(sa.func.min(timeline.c.at))
        .where(timeline.c.account_id == accounts.c.id, timeline.c.kind == "stage", timeline.c.name == "churned")
        .scalar_subquery()
    )


def _group(by: str | None) -> ColumnElement[Any]:
    return sa.null() if by is None else GROUPINGS[by]


def portfolio_kpis(conn: Connection, start: date, end: date, by: str | None = None) -> dict[str | None, Kpis]:
    """KPIs over the period [start, end] (both included), per group of `by` (segment, ta,
    model: the accounts table's current values) or for all accounts (key None).

    Adoption, consumption (on `end`), over the accounts *active on end*: signed on or
    before `end` and not churned on or before it.
    - adoption = share of them with utilization >= 80% on `end` (seats in force on `end`);
      an account without usage counts as not adopted.
    - mean_consumption = mean of their consumption on `end`, over those where it is defined.

    Retention, over the *cohort*: accounts signed on or before `start` and not churned
    before `start` (accounts signed later are new business, outside retention).
    - starting ARR = sum of the cohort's ARR in force on `start` (`_term_as_of`).
    - churned ARR = sum of the starting ARR of cohort accounts that churned (entered the
      `churned` stage: lost at renewal or offboarded) within the period.
    - contraction / expansion = for the other cohort accounts, ARR in force on `end` minus
      ARR on `start`: the decreases summed (as positive amounts) / the increases summed.
      Net per account over the period: a rise undone within the period counts as neither.
    - gross retention = (starting - churned - contraction) / starting;
      net retention = (starting - churned - contraction + expansion) / starting.

    NPS, over the responses dated within the period: 100 * (promoters (9-10) - detractors
    (0-6)) / responses, in points from -100 to 100.

    Renewal rate: an account "came up for renewal" in the period when a `renewal_closed`
    event is dated within it; rate = those with outcome renewed / all of them.

    A ratio whose denominator is 0 is None.
    """
    found: dict[str | None, Kpis] = {}
    for row in conn.execute(_accounts_query(start, end, by)):
        _fill_accounts(found.setdefault(row.grp, Kpis()), row)
    for row in conn.execute(_nps_query(start, end, by)):
        _fill_nps(found.setdefault(row.grp, Kpis()), row)
    for row in conn.execute(_renewals_query(start, end, by)):
        _fill_renewals(found.setdefault(row.grp, Kpis()), row)
    if by is None:
        found.setdefault(None, Kpis())
    for kpis in found.values():
        kpis.derive()
    return found


def _facts(start: date, end: date, by: str | None) -> sa.Subquery:
    """One row per account: what the KPIs need, all in force on `start` or `end`."""
    return sa.select(
        _group(by).label("grp"),
        accounts.c.id.label("account"),
        accounts.c.signed,
        _churned_on().label("churned_on"),
        _term_as_of("arr", start).label("arr_start"),
        _term_as_of("arr", end).label("arr_end"),
        _term_as_of("seats", end).label("seats_end"),
        _last_mau(accounts.c.id, end).label("mau_end"),
        _previous_month_mau(accounts.c.id, end).label("previous_month_mau"),
        _mean_dau(accounts.c.id, *consumption_window(end)).label("mean_dau"),
    ).subquery("facts")


def _sum_where(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


def _still_there(f: Any, end: date) -> ColumnElement[bool]:
    return sa.or_(f.churned_on.is_(None), f.churned_on > end)


def _active(f: Any, end: date) -> ColumnElement[bool]:
    """Active on `end`: signed on or before it and not churned on or before it."""
    return sa.and_(f.signed <= end, _still_there(f, end))


def _utilization_end(f: Any) -> ColumnElement[Any]:
    """Utilization on `end`: the latest mau on or before it / the seats in force on it."""
    return sa.cast(f.mau_end, sa.Float) / sa.func.nullif(f.seats_end, 0)


def _accounts_query(start: date, end: date, by: str | None) -> sa.Select[Any]:
    f = _facts(start, end, by).c
    still_there = _still_there(f, end)
    active = _active(f, end)
    cohort = sa.and_(f.signed <= start, sa.or_(f.churned_on.is_(None), f.churned_on >= start))
    churned = sa.and_(cohort, f.churned_on <= end)
    kept = sa.and_(cohort, still_there)
    delta = f.arr_end - f.arr_start
    utilization = _utilization_end(f)
    consumption = sa.cast(f.mean_dau, sa.Float) / f.previous_month_mau
    query = sa.select(
        # PostgreSQL refuses an ungrouped column even when it is a constant NULL.
        (sa.null() if by is None else f.grp).label("grp"),
        _sum_where(active).label("accounts"),
        _sum_where(sa.and_(active, utilization >= ADOPTION_TARGET)).label("adopted"),
        sa.func.avg(sa.case((sa.and_(active, f.previous_month_mau > 0), consumption))).label("mean_consumption"),
        _sum_where(cohort, f.arr_start).label("starting_arr"),
        _sum_where(churned, f.arr_start).label("churned_arr"),
        _sum_where(sa.and_(kept, delta < 0), -delta).label("contraction"),
        _sum_where(sa.and_(kept, delta > 0), delta).label("expansion"),
    )
    return query if by is None else query.group_by(f.grp)


def active_utilizations(conn: Connection, end: date) -> dict[str, ActiveAccount]:
    """The accounts the adoption KPI counts on `end` (active on it), each with the seats in
    force on `end` and its utilization then: the very figures `portfolio_kpis` adopts."""
    f = _facts(end, end, None).c
    query = (
        sa.select(f.account, f.seats_end, f.mau_end, f.arr_end, _utilization_end(f).label("utilization"))
        .where(_active(f, end))
        .order_by(f.account)
    )
    return {
        row.account: ActiveAccount(
            account=row.account,
            seats=int(row.seats_end),
            arr=float(row.arr_end),
            mau=None if row.mau_end is None else int(row.mau_end),
            utilization=None if row.utilization is None else float(row.utilization),
        )
        for row in conn.execute(query)
    }


def _nps_query(start: date, end: date, by: str | None) -> sa.Select[Any]:
    score = nps_responses.c.score
    query = (
        sa.select(
            _group(by).label("grp"),
            sa.func.count().label("responses"),
            _sum_where(score >= 9).label("promoters"),
            _sum_where(score <= 6).label("detractors"),
        )
        .select_from(nps_responses.join(accounts, accounts.c.id == nps_responses.c.account_id))
        .where(nps_responses.c.date.between(start, end))
    )
    return query if by is None else query.group_by(_group(by))


def _renewals_query(start: date, end: date, by: str | None) -> sa.Select[Any]:
    outcome = timeline.c.detail["outcome"].as_string()
    query = (
        sa.select(
            _group(by).label("grp"),
            sa.func.count().label("renewals"),
            _sum_where(outcome == "renewed").label("renewed"),
        )
        .select_from(timeline.join(accounts, accounts.c.id == timeline.c.account_id))
        .where(
            timeline.c.kind == "event",
            timeline.c.name == "renewal_closed",
            timeline.c.at.between(start, end),
        )
    )
    return query if by is None else query.group_by(_group(by))


def _fill_accounts(kpis: Kpis, row: Any) -> None:
    kpis.accounts = int(row.accounts)
    kpis.adopted = int(row.adopted)
    kpis.mean_consumption = None if row.mean_consumption is None else float(row.mean_consumption)
    kpis.starting_arr = float(row.starting_arr)
    kpis.churned_arr = float(row.churned_arr)
    kpis.contraction = float(row.contraction)
    kpis.expansion = float(row.expansion)


def _fill_nps(kpis: Kpis, row: Any) -> None:
    kpis.nps_responses = int(row.responses)
    kpis.promoters = int(row.promoters)
    kpis.detractors = int(row.detractors)


def _fill_renewals(kpis: Kpis, row: Any) -> None:
    kpis.renewals = int(row.renewals)
    kpis.renewed = int(row.renewed)


class MetricsStore(Database):
    """The metrics of one account or of the whole book, for callers outside the store."""

    def mau_on(self, account: str, day: date) -> int | None:
        """The latest `mau` reported on or before `day` (utilization = this / seats)."""
        with self.engine.connect() as conn:
            return utilization_on(conn, account, day)

    def account_metrics(self, account: str, day: date, seats: int) -> dict[str, float | None]:
        """Utilization and consumption of `account` on `day`; `seats` are those in force on `day`."""
        with self.engine.connect() as conn:
            mau = utilization_on(conn, account, day)
            return {
                "utilization": ratio(mau, seats),
                "consumption": consumption_on(conn, account, day),
            }

    def measures_on(self, day: date) -> dict[str, AccountMeasures]:
        """Every account's measures on `day` (see `sweep_metrics`)."""
        with self.engine.connect() as conn:
            return sweep_metrics(conn, day)

    def active_utilizations(self, end: date) -> dict[str, ActiveAccount]:
        """The accounts active on `end`, with the utilization the adoption KPI reads."""
        with self.engine.connect() as conn:
            return active_utilizations(conn, end)

    def kpis(self, start: date, end: date, by: str | None = None) -> dict[str | None, Kpis]:
        """Portfolio KPIs over [start, end] (see `portfolio_kpis`)."""
        with self.engine.connect() as conn:
            return portfolio_kpis(conn, start, end, by)
