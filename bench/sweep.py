"""Benchmark: the health sweep's metrics in SQL (journey.store.metrics.sweep_metrics) against pandas.

    python bench/sweep.py                      # 10,000 accounts x 365 days = 3.65 M rows
    python bench/sweep.py --accounts 500       # a quick check
    python bench/sweep.py --db /tmp/sweep.db   # keep the database and reuse it next time

Needs the `bench` extra (pandas): `pip install -e '.[bench]'`.

1. Build. A SQLite store (migrated with the project's migrations) gets N accounts and
   365 days of usage each, written day by day as daily ingestion would (so one
   account's rows are spread over the file, not clustered): executemany in transactions
   of ~30 days. Progress goes to stderr.
2. Sweep. `sweep_metrics(conn, last_day)` on a fresh connection: utilization, consumption,
   and 30-day MAU trend of every account, as of the last day. Run three times; `sweep_s` is the FIRST run (a cold SQLite cache; the OS file
   cache is warm after the build), the best is printed too.
3. pandas. `pd.read_sql` reads every usage row and the seats from the same file (sqlite3
   connection, dates parsed) and computes the same measures with groupby; timed once,
   reading included (that is what a pandas job over the store has to do).
4. Check. Both agree on every account: numbers within 1e-9.

Human-readable lines go to stdout, progress to stderr; the last stdout line is one JSON
object: rows, sweep_s, pandas_s, speedup (pandas_s / sweep_s), targets, and booleans.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

TARGETS = {"sweep_s": 2.0, "speedup": 5.0}
FIRST_DAY = date(2025, 1, 1)
DAYS_PER_TRANSACTION = 30
TOLERANCE = 1e-9


def log(message: str) -> None:
    print(message, flush=True)


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# ----- building the store ----------------------------------------------------------------


def make_accounts(count: int) -> list[Any]:
    from journey.domain.enums import Segment
    from journey.domain.models import Account

    segments = list(Segment)
    rng = random.Random(7)
    accounts = []
    for n in range(count):
        seats = rng.randint(20, 3000)
        accounts.append(
            Account(
                id=f"sweep-{n:05d}",
                name=f"Sweep Account {n:05d}",
                segment=segments[n % len(segments)],
                tier=1 + n % 3,
                seats=seats,
                arr=float(seats * 300),
                signed=date(2024, 1, 1),
                renewal=date(2026, 1, 1),
                ta=f"ta-{n % 7}",
                ae=f"ae-{n % 5}",
            )
        )
    return accounts


class UsageModel:
    """Per account: a MAU level, a linear drift, and for one in ten a 30% fall in the last 20 days."""

    def __init__(self, accounts: list[Any], days: int) -> None:
        rng = random.Random(11)
        self.rng = random.Random(13)
        self.days = days
        self.shape = [
            (a.id, a.seats * rng.uniform(0.2, 1.1), rng.uniform(-0.4, 0.4), rng.random() < 0.1) for a in accounts
        ]

    def rows_for(self, day_index: int) -> list[tuple[str, str, int, int]]:
        day = (FIRST_DAY + timedelta(days=day_index)).isoformat()
        progress_in_year = day_index / self.days
        rows = []
        for account, level, drift, falls in self.shape:
            mau = level * (1 + drift * progress_in_year)
            if falls and day_index >= self.days - 20:
                mau *= 0.7
            mau_int = max(0, int(mau * self.rng.uniform(0.97, 1.03)))
            rows.append((account, day, int(mau_int * self.rng.uniform(0.1, 0.45)), mau_int))
        return rows


def build(path: Path, accounts_count: int, days: int) -> int:
    from journey.store import Store

    started = time.monotonic()
    with Store.open(f"sqlite:///{path}") as store:
        accounts = make_accounts(accounts_count)
        store.upsert_accounts(accounts)
        model = UsageModel(accounts, days)
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            # Bench-only: a bigger page cache for the bulk load (the index inserts are
            # spread over the file when rows arrive day by day).
            cursor.execute("PRAGMA cache_size = -262144")
            written = 0
            for first in range(0, days, DAYS_PER_TRANSACTION):
                cursor.execute("BEGIN IMMEDIATE")
                for day_index in range(first, min(days, first + DAYS_PER_TRANSACTION)):
                    rows = model.rows_for(day_index)
                    cursor.executemany("INSERT INTO usage (account_id, date, dau, mau) VALUES (?, ?, ?, ?)", rows)
                    written += len(rows)
                cursor.execute("COMMIT")
                elapsed = time.monotonic() - started
                progress(f"[build] {written:,} rows ({written / elapsed:,.0f}/s)")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("ANALYZE")
        finally:
            raw.close()
    return written


def count_rows(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT count(*) FROM usage").fetchone()[0]
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    return int(rows), int(accounts)


# ----- the two computations --------------------------------------------------------------


def run_sweep(path: Path, day: date) -> tuple[float, dict[str, Any]]:
    from journey.store import Store
    from journey.store.metrics import sweep_metrics

    with Store(f"sqlite:///{path}") as store:
        started = time.perf_counter()
        with store.engine.connect() as conn:
            measures = sweep_metrics(conn, day)
        return time.perf_counter() - started, measures


def run_pandas(path: Path, day: date) -> tuple[float, Any]:
    """The same measures from every row, with pandas (docs/metrics.md defines them)."""
    import pandas as pd

    from journey.domain.metrics import CONSUMPTION_WINDOW_DAYS, TREND_DAYS, previous_month

    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        usage = pd.read_sql("SELECT account_id, date, dau, mau FROM usage", conn, parse_dates=["date"])
        seats = pd.read_sql("SELECT id AS account_id, seats FROM accounts", conn).set_index("account_id")["seats"]
    stamp = pd.Timestamp(day)

    def last_mau(upto: pd.Timestamp, since: pd.Timestamp | None = None) -> pd.Series:
        rows = usage[usage["date"] <= upto] if since is None else usage[(usage["date"] <= upto) & (usage["date"] >= since)]
        return rows.loc[rows.groupby("account_id")["date"].idxmax()].set_index("account_id")["mau"]

    month_first, month_last = previous_month(day)
    window = usage[(usage["date"] > stamp - pd.Timedelta(days=CONSUMPTION_WINDOW_DAYS)) & (usage["date"] <= stamp)]
    frame = pd.DataFrame({"seats": seats})
    frame["mau"] = last_mau(stamp)
    frame["mau_before"] = last_mau(stamp - pd.Timedelta(days=TREND_DAYS))
    frame["previous_month_mau"] = last_mau(pd.Timestamp(month_last), pd.Timestamp(month_first))
    frame["mean_dau"] = window.groupby("account_id")["dau"].mean()
    frame["utilization"] = frame["mau"] / frame["seats"]
    frame["consumption"] = frame["mean_dau"] / frame["previous_month_mau"].where(frame["previous_month_mau"] > 0)
    frame["mau_trend"] = frame["mau"] / frame["mau_before"].where(frame["mau_before"] > 0) - 1
    return time.perf_counter() - started, frame


def disagreements(measures: dict[str, Any], frame: Any) -> list[str]:
    problems = []
    if set(measures) != set(frame.index):
        problems.append(f"accounts differ: {len(measures)} in SQL, {len(frame.index)} in pandas")
    for account, sql in measures.items():
        row = frame.loc[account]
        for name in ("utilization", "consumption", "mau_trend"):
            ours, theirs = getattr(sql, name), row[name]
            theirs = None if isinstance(theirs, float) and math.isnan(theirs) else float(theirs)
            if (ours is None) != (theirs is None) or (ours is not None and abs(ours - theirs) > TOLERANCE):  # type: ignore[operator]
                problems.append(f"{account} {name}: sql {ours} pandas {theirs}")
    return problems


# ----- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", type=Path, default=None, help="Database file to build (or reuse if it holds the same data).")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="journey-sweep-") as scratch:
        path = args.db or Path(scratch) / "sweep.db"
        expected = args.accounts * args.days
        if path.exists() and count_rows(path) == (expected, args.accounts):
            log(f"reusing {path} ({expected:,} usage rows)")
        else:
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            log(f"building {args.accounts:,} accounts x {args.days} days of usage in {path} ...")
            started = time.monotonic()
            build(path, args.accounts, args.days)
            log(f"built {expected:,} rows in {time.monotonic() - started:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
        rows, _ = count_rows(path)
        day = FIRST_DAY + timedelta(days=args.days - 1)

        sweeps = [run_sweep(path, day) for _ in range(3)]
        sweep_s, measures = sweeps[0]
        log(f"sweep (SQL) as of {day}: {sweep_s:.3f} s first run, best {min(s for s, _ in sweeps):.3f} s, {len(measures):,} accounts")
        pandas_s, frame = run_pandas(path, day)
        log(f"pandas (read_sql + groupby): {pandas_s:.3f} s")
        problems = disagreements(measures, frame)
        for problem in problems[:10]:
            log(f"  DISAGREE {problem}")
        speedup = pandas_s / sweep_s
        log(f"agree: {not problems}; speedup {speedup:.1f}x")

    result = {
        "rows": rows,
        "accounts": len(measures),
        "sweep_s": round(sweep_s, 4),
        "sweep_best_s": round(min(s for s, _ in sweeps), 4),
        "pandas_s": round(pandas_s, 4),
        "speedup": round(speedup, 2),
        "agree": not problems,
        "targets": TARGETS,
        "sweep_ok": sweep_s <= TARGETS["sweep_s"],
        "speedup_ok": speedup >= TARGETS["speedup"],
    }
    print(json.dumps(result), flush=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
