"""The health sweep's reads and writes: measures of every active account in a few SQL
passes, the score of each, and the mirror of what each journey was last told.

One pass each for usage (`journey.metrics.sweep_metrics`), NPS answers, champions and
the day each account entered its stage; the accounts table gives the rest. The sweep
then sends the `metrics` update only to journeys whose color or adoption band changed
(`changes`), and records what it told them (`record_delivered`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from journey.health import HealthConfig, HealthMeasures, HealthScore, adoption_band, describe, score
from journey.metrics import TREND_DAYS, sweep_metrics
from journey.models import ContactRole, Health, Stage
from journey.store import Store, accounts, contacts, nps_responses, timeline

CHUNK = 500


class ScoredAccount(BaseModel):
    """One account's score on a day, and what its journey was last told."""

    account: str
    day: date
    measures: HealthMeasures
    color: Health | None
    score: int | None
    reasons: list[str]
    band: float | None
    # The mirror (accounts table) before this sweep.
    health: Health
    told_color: Health | None = None
    told_band: float | None = None

    @property
    def reason(self) -> str:
        return describe(HealthScore(self.color, self.score, self.reasons))


def is_change(scored: ScoredAccount) -> bool:
    """Whether the journey must hear about this score: its color or its adoption band changed."""
    return color_changed(scored) or band_changed(scored)


def color_changed(scored: ScoredAccount) -> bool:
    """The scored color differs from the journey's color (the mirrored `accounts.health`)
    or from the last scored color it was told (a manual color hides the score until it
    expires, and the journey must then know the latest one). An account never told a
    color is compared with its journey's color only, so the first sweep does not send to
    every account."""
    if scored.color is None:
        return False
    told = scored.told_color or scored.health
    return scored.color != scored.health or scored.color != told


def band_changed(scored: ScoredAccount) -> bool:
    """Utilization reached an adoption band higher than any the journey was told of
    (usage-milestone touchpoints fire once, on the way up). A drop is not news to the
    journey: no touch follows from it, and `journey status` reads utilization from the
    store. So an account hovering at a band's edge is not sent an update every other night,
    and one below every band is never sent one."""
    return scored.band is not None and scored.band > (scored.told_band or 0.0)


def score_accounts(store: Store, day: date, config: HealthConfig) -> list[ScoredAccount]:
    """Score every active (not churned) account on `day`, in account id order."""
    with store.engine.connect() as conn:
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


def record_scores(store: Store, scored: Sequence[ScoredAccount]) -> None:
    """Keep every account's latest score (for listings and reports), in one transaction."""
    values = [{"b_id": s.account, "health_score": s.score, "scored_on": s.day} for s in scored]
    if not values:
        return
    statement = accounts.update().where(accounts.c.id == sa.bindparam("b_id"))
    with store.transaction() as conn:
        for start in range(0, len(values), CHUNK):
            conn.execute(statement, values[start : start + CHUNK])


def record_delivered(store: Store, account: str, color: Health | None, band: float | None) -> None:
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
    with store.transaction() as conn:
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


def nps_of(scores: Iterable[int]) -> float:
    """% promoters (9-10) - % detractors (0-6), in points from -100 to 100."""
    values = list(scores)
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return 100.0 * (promoters - detractors) / len(values)


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
