"""Adoption and usage metrics, exactly as PRODUCT.md defines them, computed in SQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from journey.store import Store


def utilization_on(conn: Connection, account: str, day: date) -> int | None:
    """The latest `mau` reported on or before `day` (utilization = this / licensed seats)."""
    row = conn.execute(
        text(
            "SELECT mau FROM usage WHERE account_id = :account AND date <= :day "
            "ORDER BY date DESC LIMIT 1"
        ),
        {"account": account, "day": day},
    ).first()
    return None if row is None else int(row[0])


def month_mau(conn: Connection, account: str, year: int, month: int) -> int | None:
    """MAU of a calendar month: the `mau` on the last day of that month that has a report."""
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    row = conn.execute(
        text(
            "SELECT mau FROM usage WHERE account_id = :account AND date >= :first AND date < :after "
            "ORDER BY date DESC LIMIT 1"
        ),
        {"account": account, "first": first, "after": after},
    ).first()
    return None if row is None else int(row[0])


def consumption_on(conn: Connection, account: str, day: date) -> float | None:
    """Mean `dau` over the 28 days ending `day` (days with a report) / MAU of the previous month."""
    start = day - timedelta(days=27)
    mean = conn.execute(
        text("SELECT AVG(dau) FROM usage WHERE account_id = :account AND date BETWEEN :start AND :day"),
        {"account": account, "start": start, "day": day},
    ).scalar()
    previous = date(day.year, day.month, 1) - timedelta(days=1)
    mau = month_mau(conn, account, previous.year, previous.month)
    if mean is None or not mau:
        return None
    return float(mean) / mau


def account_metrics(store: Store, account: str, day: date, seats: int) -> dict[str, float | None]:
    with store.engine.connect() as conn:
        mau = utilization_on(conn, account, day)
        return {
            "utilization": None if mau is None else mau / seats,
            "consumption": consumption_on(conn, account, day),
        }
