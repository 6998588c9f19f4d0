"""The health sweep's reads and writes: measures of every active account in a few SQL
passes, the score of each, the history of scores, and the mirror of what each journey was
last told.

One pass each for usage (`journey.store.metrics.sweep_metrics`, and the dates and figures
behind it), NPS answers, champions, the day each account entered its stage and the manual
colors in force; the accounts table gives the rest. Every score is kept in
`health_scores` with its measures (`record_scores`), so `journey health-score explain`
reads what the sweep computed (`scores_of`). The sweep then sends the `metrics` update
only to journeys whose color or adoption band changed (`journey.domain.health.is_change`),
and records what it told them (`record_delivered`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.engine.state import DEFAULT_MANUAL_HEALTH_DAYS
from journey.domain.enums import ContactRole, Health, Stage
from journey.domain.errors import NotFound
from journey.domain.health import (
    HealthConfig,
    HealthMeasures,
    ManualColor,
    MeasurePoints,
    ScoredAccount,
    StoredScore,
    adoption_band,
    breakdown,
)
from journey.domain.metrics import TREND_DAYS, consumption_window, nps_of, previous_month
from journey.store.database import CHUNK, Database, now
from journey.store.metrics import sweep_metrics
from journey.store.schema import accounts, contacts, health_scores, nps_responses, timeline, usage


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
            usage_on = sweep_metrics(conn, day)
            usage_data = _usage_sources(conn, day)
            nps = _nps(conn, day, config.nps.window_days, config.nps.basis)
            champions = _champions(conn)
            entered = _stage_entered(conn)
            manual = _manual_colors(conn, day)
        first_nps_day = day - timedelta(days=config.nps.window_days - 1)
        scored = []
        for row in rows:
            measured = usage_on.get(row.id)
            answers = nps.get(row.id)
            since = entered.get(row.id)
            stage = Stage(row.stage)
            measures = HealthMeasures(
                stage=stage,
                utilization=measured.utilization if measured else None,
                consumption=measured.consumption if measured else None,
                mau_trend=measured.mau_trend if measured else None,
                trend_days=TREND_DAYS,
                nps=answers[0] if answers else None,
                nps_answers=answers[1] if answers else 0,
                champion=row.id in champions,
                days_in_stage=(day - since).days if since is not None else None,
            )
            sources = usage_data.get(row.id, {}) | {
                "nps": {"from": first_nps_day, "to": day, "basis": config.nps.basis, "answers": measures.nps_answers,
                        "latest_answer": answers[2] if answers else None},
                "champion": {"contacts": sorted(champions.get(row.id, []))},
                "time_in_stage": {"stage": stage.value, "entered": since,
                                  "limit_days": config.time_in_stage.limits.get(stage)},
            }
            result = breakdown(measures, config, _plain_sources(sources))
            scored.append(
                ScoredAccount(
                    account=row.id,
                    day=day,
                    measures=measures,
                    color=result.color,
                    score=result.score,
                    reasons=result.reasons,
                    band=adoption_band(measures.utilization, config.utilization.bands),
                    health=Health(row.health),
                    told_color=Health(row.score_color) if row.score_color else None,
                    told_band=row.adoption_band,
                    points=result.measures,
                    config_version=config.version,
                    manual=manual.get(row.id),
                )
            )
        return scored


    def record_scores(self, scored: Sequence[ScoredAccount]) -> None:
        """Keep every account's latest score (for listings) and its row in the score history
        (for explanations and reports), in one transaction; a second sweep of the same day
        replaces that day's rows."""
        if not scored:
            return
        latest = [{"b_id": s.account, "health_score": s.score, "scored_on": s.day} for s in scored]
        stamp = now()
        history = [_history_values(s, stamp) for s in scored]
        statement = accounts.update().where(accounts.c.id == sa.bindparam("b_id"))
        insert = self.insert(health_scores)
        replace = insert.on_conflict_do_update(
            index_elements=["account_id", "scored_on"],
            set_={name: insert.excluded[name] for name in history[0] if name not in ("account_id", "scored_on")},
        )
        with self.transaction() as conn:
            for start in range(0, len(latest), CHUNK):
                conn.execute(statement, latest[start : start + CHUNK])
                conn.execute(replace, history[start : start + CHUNK])

    def scores_of(self, account: str, on: date | None = None) -> tuple[StoredScore, StoredScore | None]:
        """The score the sweep stored for `account` on its last sweep on or before `on`
        (default: its last), and the one of the sweep before that. NotFound for an unknown
        account or one no sweep has scored yet."""
        query = sa.select(health_scores).where(health_scores.c.account_id == account)
        if on is not None:
            query = query.where(health_scores.c.scored_on <= on)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(health_scores.c.scored_on.desc()).limit(2)).all()
            known = rows or conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account)).first()
        if not known:
            raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
        if not rows:
            by = f" on or before {on}" if on is not None else ""
            raise NotFound(
                f"no health score for {account!r}{by}: the health sweep has not scored it yet; "
                "run the health sweep with `journey schedule trigger health` (it runs nightly)"
            )
        stored = [_stored(row) for row in rows]
        return stored[0], stored[1] if len(stored) > 1 else None

    def score_history(self, account: str, first: date, last: date) -> list[StoredScore]:
        """Every stored score of `account` from `first` to `last` (both included), oldest first."""
        query = (
            sa.select(health_scores)
            .where(health_scores.c.account_id == account, health_scores.c.scored_on.between(first, last))
            .order_by(health_scores.c.scored_on)
        )
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query)]

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


def _nps(conn: Connection, day: date, window_days: int, basis: str) -> dict[str, tuple[float, int, date]]:
    """NPS (-100..100), number of answers and latest answer day per account, over the
    window ending `day`; with basis "latest", only the answers of each account's latest
    survey day in it."""
    first = day - timedelta(days=window_days - 1)
    query = sa.select(nps_responses.c.account_id, nps_responses.c.date, nps_responses.c.score).where(
        nps_responses.c.date.between(first, day)
    )
    answers: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for row in conn.execute(query):
        answers[row.account_id].append((row.date, row.score))
    found = {}
    for account, rows in answers.items():
        latest = max(d for d, _ in rows)
        if basis == "latest":
            rows = [(d, s) for d, s in rows if d == latest]
        found[account] = (nps_of(s for _, s in rows), len(rows), latest)
    return found


def _champions(conn: Connection) -> dict[str, list[str]]:
    """The names of each account's champion contacts (accounts without one are absent)."""
    query = sa.select(contacts.c.account_id, contacts.c.name).where(contacts.c.role == ContactRole.champion.value)
    found: dict[str, list[str]] = defaultdict(list)
    for account, name in conn.execute(query):
        found[account].append(name)
    return found


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


def _latest(column: sa.Column[Any], last: date, first: date | None = None) -> sa.ScalarSelect[Any]:
    """`column` of each account's latest usage report on or before `last` (and on or after `first`)."""
    query = sa.select(column).where(usage.c.account_id == accounts.c.id, usage.c.date <= last)
    if first is not None:
        query = query.where(usage.c.date >= first)
    return query.order_by(usage.c.date.desc()).limit(1).scalar_subquery()


def _usage_sources(conn: Connection, day: date) -> dict[str, dict[str, dict[str, object]]]:
    """The reports each usage measure of `sweep_metrics` came from: their dates and figures,
    per account and measure (accounts without any usage on or before `day` are absent)."""
    window = consumption_window(day)
    month = previous_month(day)
    before = day - timedelta(days=TREND_DAYS)
    in_window = sa.and_(usage.c.account_id == accounts.c.id, usage.c.date.between(*window))
    query = sa.select(
        accounts.c.id,
        accounts.c.seats,
        _latest(usage.c.date, day).label("mau_date"),
        _latest(usage.c.mau, day).label("mau"),
        _latest(usage.c.date, before).label("before_date"),
        _latest(usage.c.mau, before).label("before_mau"),
        _latest(usage.c.date, month[1], month[0]).label("month_date"),
        _latest(usage.c.mau, month[1], month[0]).label("month_mau"),
        sa.select(sa.func.avg(usage.c.dau)).where(in_window).scalar_subquery().label("mean_dau"),
        sa.select(sa.func.count()).where(in_window).scalar_subquery().label("dau_days"),
    )
    return {
        row.id: {
            "utilization": {"mau": row.mau, "mau_date": row.mau_date, "seats": row.seats},
            "consumption": {
                "mean_dau": None if row.mean_dau is None else float(row.mean_dau),
                "dau_from": window[0], "dau_to": window[1], "dau_days": row.dau_days,
                "month_mau": row.month_mau, "month_mau_date": row.month_date,
            },
            "mau_trend": {
                "mau": row.mau, "mau_date": row.mau_date, "days": TREND_DAYS,
                "mau_before": row.before_mau, "mau_before_date": row.before_date,
            },
        }
        for row in conn.execute(query)
        if row.mau_date is not None
    }


def _manual_colors(conn: Connection, day: date) -> dict[str, ManualColor]:
    """The colors set by hand (`set_health` events) still in force on `day`: the latest
    event on or before `day` of each account, while `day` is before it expires (as the
    journey itself expires it: `Engine.advance`)."""
    latest = (
        sa.select(timeline.c.account_id, timeline.c.at, timeline.c.detail)
        .where(timeline.c.kind == "event", timeline.c.name == "set_health", timeline.c.at <= day)
        .order_by(timeline.c.account_id, timeline.c.at, timeline.c.id)
    )
    events: dict[str, tuple[date, dict[str, Any]]] = {}
    for account, at, detail in conn.execute(latest):
        events[account] = (at, detail)
    found = {}
    for account, (at, detail) in events.items():
        until = at + timedelta(days=int(detail.get("expires_days") or DEFAULT_MANUAL_HEALTH_DAYS))
        if day < until:
            found[account] = ManualColor(color=Health(detail["color"]), reason=str(detail.get("reason", "")), until=until)
    return found


def _plain_sources(sources: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Dates as ISO text, so the sources are JSON as stored and as read back."""
    return {
        name: {key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()}
        for name, data in sources.items()
    }


def _history_values(scored: ScoredAccount, stamp: datetime) -> dict[str, object]:
    manual = scored.manual
    return {
        "account_id": scored.account,
        "scored_on": scored.day,
        "stage": scored.measures.stage.value,
        "score": scored.score,
        "score_color": scored.color.value if scored.color else None,
        "color": scored.shown_color.value,
        "manual_color": manual.color.value if manual else None,
        "manual_reason": manual.reason if manual else None,
        "manual_until": manual.until if manual else None,
        "config_version": scored.config_version or "",
        "reason": scored.reason,
        "measures": [m.model_dump(mode="json") for m in scored.points],
        "recorded_at": stamp,
    }


def _stored(row: sa.Row[Any]) -> StoredScore:
    manual = (
        ManualColor(color=Health(row.manual_color), reason=row.manual_reason or "", until=row.manual_until)
        if row.manual_color
        else None
    )
    return StoredScore(
        account=row.account_id,
        on=row.scored_on,
        stage=Stage(row.stage),
        score=row.score,
        score_color=Health(row.score_color) if row.score_color else None,
        color=Health(row.color),
        manual=manual,
        config_version=row.config_version,
        reason=row.reason,
        measures=[MeasurePoints.model_validate(m) for m in row.measures],
    )
