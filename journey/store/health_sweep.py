"""The health sweep's reads and writes: measures of every active account in a few SQL
passes, the score of each, and the mirror of what each journey was last told.

One pass each for usage (`journey.store.metrics.sweep_metrics`), NPS answers, champions and
the day each account entered its stage; the accounts table gives the rest. The sweep
then sends the `metrics` update only to journeys whose color or adoption band changed
(`journey.domain.health.is_change`), and records what it told them (`record_delivered`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.enums import ContactRole, Health, Stage
from journey.domain.health import HealthConfig, HealthMeasures, ScoredAccount, adoption_band, score
from journey.domain.metrics import TREND_DAYS, nps_of
from journey.store.database import CHUNK, Database
from journey.store.metrics import sweep_metrics
from journey.store.schema import accounts, contacts, nps_responses, timeline


class HealthSweepStore(Database):
    def score_accounts(self, day: date, config: HealthConfig) -> list[ScoredAccount]:
        """Score every active (not churned) account on `day`, in account id order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    accounts.c.id,
                    accounts.c.stage,
                    accounts.c.health,
                    accounts.c.score_color,
                    accounts.c.adoption_band,
                )
                .where(accounts.c.stage != Stage.churned.value)
                .order_by(accounts.c.id)
            ).all()
            usage = sweep_metrics(conn, day)
            nps = _nps(conn, day, config.nps.window_days, config.nps.basis)
            champions = _champions(conn)
            entered = _stage_entered(conn)
        scored = []
        for row in rows:
            measured = usage.get(row.id)
            answers = nps.get(row.id)
            since = entered.get(row.id)
            measures = HealthMeasures(
                stage=Stage(row.stage),
                utilization=measured.utilization if measured else None,
                consumption=measured.consumption if measured else None,
                mau_trend=measured.mau_trend if measured else None,
                trend_days=TREND_DAYS,
                nps=answers[0] if answers else None,
                nps_answers=answers[1] if answers else 0,
                champion=row.id in champions,
                days_in_stage=(day - since).days if since is not None else None,
            )
            color, points, reasons = score(measures, config)
            scored.append(
                ScoredAccount(
                    account=row.id,
                    day=day,
                    measures=measures,
                    color=color,
                    score=points,
                    reasons=reasons,
                    band=adoption_band(measures.utilization, config.utilization.bands),
                    health=Health(row.health),
                    told_color=Health(row.score_color) if row.score_color else None,
                    told_band=row.adoption_band,
                )
            )
        return scored


    def record_scores(self, scored: Sequence[ScoredAccount]) -> None:
        """Keep every account's latest score (for listings and reports), in one transaction."""
        values = [{"b_id": s.account, "health_score": s.score, "scored_on": s.day} for s in scored]
        if not values:
            return
        statement = accounts.update().where(accounts.c.id == sa.bindparam("b_id"))
        with self.transaction() as conn:
            for start in range(0, len(values), CHUNK):
                conn.execute(statement, values[start : start + CHUNK])


    def record_delivered(self, account: str, color: Health | None, band: float | None) -> None:
        """The journey accepted the update: remember what it was told (of bands, the highest:
        see band_changed)."""
        values: dict[str, object] = {}
        if band is not None:
            # GREATEST on PostgreSQL, a two-argument max() on SQLite: a CASE reads the same on both.
            told = accounts.c.adoption_band
            values["adoption_band"] = sa.case((sa.and_(told.is_not(None), told > band), told), else_=band)
        if color is not None:
            values["score_color"] = color.value
        if not values:
            return
        with self.transaction() as conn:
            conn.execute(accounts.update().where(accounts.c.id == account).values(values))


# --- One pass each -----------------------------------------------------------------------


def _nps(conn: Connection, day: date, window_days: int, basis: str) -> dict[str, tuple[float, int]]:
    """NPS (-100..100) and number of answers per account, over the window ending `day`;
    with basis "latest", only the answers of each account's latest survey day in it."""
    first = day - timedelta(days=window_days - 1)
    query = sa.select(nps_responses.c.account_id, nps_responses.c.date, nps_responses.c.score).where(
        nps_responses.c.date.between(first, day)
    )
    answers: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for row in conn.execute(query):
        answers[row.account_id].append((row.date, row.score))
    found = {}
    for account, rows in answers.items():
        if basis == "latest":
            latest = max(d for d, _ in rows)
            rows = [(d, s) for d, s in rows if d == latest]
        found[account] = (nps_of(s for _, s in rows), len(rows))
    return found


def _champions(conn: Connection) -> set[str]:
    query = sa.select(contacts.c.account_id).where(contacts.c.role == ContactRole.champion.value).distinct()
    return set(conn.execute(query).scalars())


def _stage_entered(conn: Connection) -> dict[str, date]:
    """The day each account last entered the stage it is in (its timeline's stage rows)."""
    query = (
        sa.select(timeline.c.account_id, sa.func.max(timeline.c.at))
        .select_from(
            timeline.join(
                accounts, sa.and_(accounts.c.id == timeline.c.account_id, accounts.c.stage == timeline.c.name)
            )
        )
        .where(timeline.c.kind == "stage")
        .group_by(timeline.c.account_id)
    )
    return {account: entered for account, entered in conn.execute(query)}
