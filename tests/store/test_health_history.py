"""The health sweep's score history (journey.store.health_sweep, migration 0006) on SQLite
and PostgreSQL: each account's score is stored with every measure's value, data, weight,
points and cap and the health file's version, and read back as stored, not scored again
under the file of the day it is read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from journey.config import health_config_path
from journey.domain.effects import Effects, TimelineEntry
from journey.domain.enums import Health, Stage
from journey.domain.errors import NotFound
from journey.domain.health import HealthConfig, load_health_config
from journey.store import Store
from journey.store.migrations import alembic_config
from journey.store.schema import SCHEMA_REVISION, accounts
from tests.helpers.accounts import make_account
from tests.helpers.stores import add_usage

CONFIG = load_health_config(health_config_path())
DAY = date(2026, 5, 20)
SEATS = 300


@pytest.fixture
def store(any_store: Store) -> Store:
    """acme in steady use with a champion: 270 monthly users until 30 days ago, then 200."""
    any_store.upsert_accounts([make_account("acme", seats=SEATS)])
    with any_store.transaction() as conn:
        conn.execute(accounts.update().values(stage=Stage.steady.value))
    rows, day = [], date(2026, 3, 1)
    while day <= DAY:
        mau = 270 if day <= DAY - timedelta(days=30) else 200
        rows.append(("acme", day, 120, mau))
        day += timedelta(days=1)
    add_usage(any_store, rows)
    return any_store


def sweep(store: Store, day: date, config: HealthConfig = CONFIG) -> None:
    store.record_scores(store.score_accounts(day, config))


def test_the_stored_score_explains_itself(store: Store) -> None:
    sweep(store, DAY)
    current, previous = store.scores_of("acme")
    assert previous is None and current.on == DAY and current.config_version == CONFIG.version
    assert [m.measure for m in current.measures] == [
        "utilization", "consumption", "mau_trend", "nps", "champion", "time_in_stage",
    ]
    counted = [m for m in current.measures if m.counted]
    assert current.score is not None
    assert abs(100 * sum(m.points for m in counted) / sum(m.weight for m in counted) - current.score) <= 0.5

    utilization = current.measure("utilization")
    assert utilization is not None and utilization.counted
    assert round(float(utilization.value or 0), 4) == round(200 / SEATS, 4)
    assert utilization.data == {"mau": 200, "mau_date": DAY.isoformat(), "seats": SEATS}
    assert utilization.cap is Health.yellow  # 67% is below the 80% target

    trend = current.measure("mau_trend")
    assert trend is not None and trend.cap is Health.yellow  # 270 -> 200 is a drop of 26%
    assert trend.data["mau_before_date"] == (DAY - timedelta(days=30)).isoformat()
    assert trend.data["mau_before"] == 270
    consumption = current.measure("consumption")
    assert consumption is not None
    assert consumption.data["dau_from"] == (DAY - timedelta(days=27)).isoformat()
    assert consumption.data["month_mau_date"] == "2026-04-30" and consumption.data["dau_days"] == 28

    nps = current.measure("nps")
    assert nps is not None and not nps.counted and nps.note == "no data" and nps.points == 0
    stay = current.measure("time_in_stage")
    assert stay is not None and not stay.counted and stay.note == "no limit in steady"

    assert current.color is Health.yellow and current.score_color is Health.yellow and current.manual is None
    # The reason names the caps first, the one that cost more points before the other.
    assert current.reason == (
        f"health score {current.score}: MAU fell 26% in 30 days (a drop of more than 20%: at best yellow); "
        "utilization 67% (below 80%: at best yellow)"
    )
    assert trend.lost > utilization.lost


def test_history_is_read_not_scored_again_under_todays_file(store: Store) -> None:
    sweep(store, DAY)
    reweighted = CONFIG.model_copy(
        update={"version": "2026.2", "utilization": CONFIG.utilization.model_copy(update={"weight": 80})}
    )
    sweep(store, DAY + timedelta(days=1), reweighted)

    then, before_then = store.scores_of("acme", DAY)
    assert before_then is None and then.config_version == CONFIG.version
    assert then.measure("utilization").weight == 40  # type: ignore[union-attr]

    now, previous = store.scores_of("acme")
    assert now.on == DAY + timedelta(days=1) and now.config_version == "2026.2"
    assert now.measure("utilization").weight == 80  # type: ignore[union-attr]
    assert previous is not None and previous.on == DAY
    document = now.document(previous)
    assert document["previous"] == {"on": DAY.isoformat(), "score": then.score, "color": "yellow"}
    assert "health config 2026.1 → 2026.2" in document["changes"]  # type: ignore[operator]
    assert f"score {then.score} → {now.score}" in document["changes"]  # type: ignore[operator]
    assert [s.on for s in store.score_history("acme", DAY, DAY + timedelta(days=5))] == [DAY, DAY + timedelta(days=1)]


def test_a_second_sweep_of_the_day_replaces_its_rows(store: Store) -> None:
    sweep(store, DAY)
    add_usage(store, [("acme", DAY, 120, 290)])  # a late correction for the day
    sweep(store, DAY)
    current, previous = store.scores_of("acme")
    assert previous is None
    assert current.measure("utilization").data["mau"] == 290  # type: ignore[union-attr]
    assert current.color is Health.green


def test_a_manual_color_in_force_is_the_color_shown(store: Store) -> None:
    set_on = DAY - timedelta(days=3)
    event = TimelineEntry(
        key="acme/manual", account="acme", at=set_on, kind="event", name="set_health",
        detail={"color": "red", "reason": "champion left", "expires_days": 5},
    )
    store.apply_effects(Effects(account="acme", timeline=[event]))
    sweep(store, DAY)
    current, _ = store.scores_of("acme")
    assert current.color is Health.red and current.score_color is Health.yellow
    assert current.manual is not None
    assert (current.manual.reason, current.manual.until) == ("champion left", set_on + timedelta(days=5))
    assert current.document(None)["manual_color"] == "red"
    # Expired on its fifth day: the score's color shows again.
    sweep(store, set_on + timedelta(days=5))
    latest, previous = store.scores_of("acme")
    assert latest.manual is None and latest.color is Health.yellow
    assert "manual red ended" in latest.document(previous)["changes"]  # type: ignore[operator]


def test_unknown_account_and_account_never_scored(store: Store) -> None:
    with pytest.raises(NotFound, match="no account 'nobody'"):
        store.scores_of("nobody")
    with pytest.raises(NotFound, match="journey schedule trigger health"):
        store.scores_of("acme")
    sweep(store, DAY)
    with pytest.raises(NotFound, match=f"on or before {DAY - timedelta(days=1)}"):
        store.scores_of("acme", DAY - timedelta(days=1))


def test_migration_0006_goes_down_and_up_again(store: Store) -> None:
    sweep(store, DAY)
    with store.transaction() as conn:
        command.downgrade(alembic_config(conn), "0005")
    assert not sa.inspect(store.engine).has_table("health_scores")
    store.migrate()
    assert store.revision() == SCHEMA_REVISION
    sweep(store, DAY)
    assert store.scores_of("acme")[0].on == DAY
