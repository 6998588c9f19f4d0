"""The usage and NPS aggregates: daily product usage and survey answers, whole batches, counted.

Callers validate first (journey.files); these methods then write a batch in ONE
transaction, so a failure part-way leaves nothing written. Both are upserts keyed by
what identifies a row, so writing the same batch again changes nothing; rows already
stored with the same values are not even rewritten, and the counts say what happened.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.measurements import NpsRow, UsageRow
from journey.store.database import Database, chunks
from journey.store.schema import nps_responses, usage

Progress = Callable[[int], None]

# Accounts whose stored rows are compared at once: bounds memory on year-long files.
ACCOUNTS_PER_PASS = 200
# Rows per INSERT batch, and the progress bar's step.
ROWS_PER_WRITE = 5_000


@dataclass(frozen=True)
class WriteCounts:
    rows: int
    inserted: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _write(conn: Connection, statement: Any, values: list[dict[str, Any]], progress: Progress | None) -> None:
    for chunk in chunks(values, ROWS_PER_WRITE):
        conn.execute(statement, list(chunk))
        if progress is not None:
            progress(len(chunk))


# --- Usage -------------------------------------------------------------------------------

UsageKey = tuple[str, date]


def _stored_usage(conn: Connection, accounts: Sequence[str], first: date, last: date) -> dict[UsageKey, tuple[int, int]]:
    query = sa.select(usage.c.account_id, usage.c.date, usage.c.dau, usage.c.mau).where(
        usage.c.account_id.in_(accounts), usage.c.date.between(first, last)
    )
    return {(r.account_id, r.date): (r.dau, r.mau) for r in conn.execute(query)}


# --- NPS ---------------------------------------------------------------------------------


def nps_key(account: str, day: date, respondent: str | None, ordinal: int) -> str:
    """What identifies a response: the respondent's answer of that day, or else the
    `ordinal`-th anonymous answer for the account on that day (1-based)."""
    if respondent is not None:
        return f"{account}/{day.isoformat()}/r:{respondent}"
    return f"{account}/{day.isoformat()}/#{ordinal}"


def _nps_values(conn: Connection, rows: Sequence[NpsRow], append: bool) -> list[dict[str, Any]]:
    anonymous: Counter[tuple[str, date]] = Counter()
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        ordinal = 0
        if row.respondent is None:
            slot = (row.account, row.date)
            if append and slot not in anonymous:
                anonymous[slot] = _anonymous_count(conn, *slot)
            anonymous[slot] += 1
            ordinal = anonymous[slot]
        key = nps_key(row.account, row.date, row.respondent, ordinal)
        values[key] = {
            "key": key,
            "account_id": row.account,
            "date": row.date,
            "score": row.score,
            "respondent": row.respondent,
        }
    return list(values.values())


def _anonymous_count(conn: Connection, account: str, day: date) -> int:
    query = sa.select(sa.func.count()).where(
        nps_responses.c.account_id == account,
        nps_responses.c.date == day,
        nps_responses.c.respondent.is_(None),
    )
    return int(conn.execute(query).scalar_one())


def _stored_scores(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    stored: dict[str, int] = {}
    for chunk in chunks(keys):
        query = sa.select(nps_responses.c.key, nps_responses.c.score).where(nps_responses.c.key.in_(chunk))
        stored.update({r.key: r.score for r in conn.execute(query)})
    return stored


class UsageStore(Database):
    def daily_usage(self, account: str, first: date, last: date) -> list[tuple[date, int, int]]:
        """(date, dau, mau) of every day of [first, last] with a report, in date order."""
        query = (
            sa.select(usage.c.date, usage.c.dau, usage.c.mau)
            .where(usage.c.account_id == account, usage.c.date.between(first, last))
            .order_by(usage.c.date)
        )
        with self.engine.connect() as conn:
            return [(row.date, row.dau, row.mau) for row in conn.execute(query)]

    def write_usage(self, rows: Sequence[UsageRow], progress: Progress | None = None) -> WriteCounts:
        """Upsert daily usage rows; a later row for the same account and day wins."""
        wanted: dict[UsageKey, tuple[int, int]] = {(r.account, r.date): (r.dau, r.mau) for r in rows}
        by_account: dict[str, list[date]] = defaultdict(list)
        for account, day in wanted:
            by_account[account].append(day)
        statement = self.insert(usage)
        statement = statement.on_conflict_do_update(
            index_elements=[usage.c.account_id, usage.c.date],
            set_={"dau": statement.excluded.dau, "mau": statement.excluded.mau},
        )
        inserted = updated = 0
        with self.transaction() as conn:
            for accounts in chunks(sorted(by_account), ACCOUNTS_PER_PASS):
                days = [day for account in accounts for day in by_account[account]]
                stored = _stored_usage(conn, accounts, min(days), max(days))
                changed = []
                for account in accounts:
                    for day in by_account[account]:
                        dau, mau = wanted[(account, day)]
                        before = stored.get((account, day))
                        if before == (dau, mau):
                            continue
                        inserted += before is None
                        updated += before is not None
                        changed.append({"account_id": account, "date": day, "dau": dau, "mau": mau})
                if progress is not None:
                    progress(len(days) - len(changed))
                _write(conn, statement, changed, progress)
        return WriteCounts(len(wanted), inserted, updated, len(wanted) - inserted - updated)

    def write_nps(self, rows: Sequence[NpsRow], *, append: bool = False, progress: Progress | None = None) -> WriteCounts:
        """Upsert NPS responses.

        Anonymous answers for one account and day are told apart by their order in the batch,
        so importing a file again changes nothing. With `append` (one answer recorded by hand)
        anonymous answers are numbered after those already stored, so each is kept.
        """
        statement = self.insert(nps_responses)
        statement = statement.on_conflict_do_update(
            index_elements=[nps_responses.c.key], set_={"score": statement.excluded.score}
        )
        with self.transaction() as conn:
            values = _nps_values(conn, rows, append)
            stored = _stored_scores(conn, [v["key"] for v in values])
            changed = [v for v in values if stored.get(v["key"]) != v["score"]]
            inserted = sum(1 for v in changed if v["key"] not in stored)
            if progress is not None:
                progress(len(values) - len(changed))
            _write(conn, statement, changed, progress)
        updated = len(changed) - inserted
        return WriteCounts(len(values), inserted, updated, len(values) - len(changed))
