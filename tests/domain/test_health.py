"""The health score (journey.health) at its thresholds, the file that defines it, the
sweep's measures from the store (journey.store.health_sweep), and the engine handing back to
the score when a manual color expires."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from journey.config import health_config_path, playbooks_dir
from journey.domain.effects import Effects, TimelineEntry
from journey.domain.engine import EndRemediation, Engine, StartRemediation
from journey.domain.enums import Health, Stage
from journey.domain.events import SetHealth
from journey.domain.health import (
    HealthConfig,
    HealthConfigError,
    HealthMeasures,
    ScoredAccount,
    adoption_band,
    band_changed,
    is_change,
    load_health_config,
    score,
)
from journey.domain.models import Account
from journey.domain.playbook_files import load_playbooks
from journey.files import NpsRow
from journey.store import Store
from journey.store.health_sweep import nps_of
from tests.helpers.stores import add_usage

CONFIG = load_health_config(health_config_path())


def steady(**values: object) -> HealthMeasures:
    """A healthy account in steady use; override what a test is about."""
    base: dict[str, object] = {
        "stage": "steady",
        "utilization": 0.9,
        "consumption": 0.6,
        "mau_trend": 0.0,
        "champion": True,
    }
    return HealthMeasures.model_validate(base | values)


# --- The bundled file ---------------------------------------------------------------------


def test_bundled_file_is_valid_and_matches_the_handbook() -> None:
    assert CONFIG.utilization.full == 0.8  # the 80% target
    assert [(c.below, c.color) for c in CONFIG.mau_trend.caps] == [(-0.2, Health.yellow)]  # a drop > 20%
    assert CONFIG.time_in_stage.limits[Stage.onboarding] == 60
    assert CONFIG.nps.window_days == 90
    # The bands are the playbooks' usage milestones, so milestone touches fire.
    milestones = {tp.milestones for book in load_playbooks(playbooks_dir()).values() for tp in book.touchpoints if tp.milestones}
    assert milestones == {CONFIG.utilization.bands}


# --- Thresholds -----------------------------------------------------------------------------


def test_healthy_account_scores_100_green() -> None:
    assert score(steady(), CONFIG) == (Health.green, 100, [])


@pytest.mark.parametrize(
    ("utilization", "color"),
    [(0.80, Health.green), (0.7999, Health.yellow), (0.50, Health.yellow), (0.4999, Health.red)],
)
def test_utilization_caps_at_the_target_and_at_half(utilization: float, color: Health) -> None:
    result = score(steady(utilization=utilization), CONFIG)
    assert result.color is color
    if color is not Health.green:
        assert result.reasons[0].startswith(f"utilization {utilization:.0%}")


@pytest.mark.parametrize(("trend", "color"), [(-0.2, Health.green), (-0.2001, Health.yellow)])
def test_a_mau_drop_of_more_than_20_percent_is_a_warning(trend: float, color: Health) -> None:
    result = score(steady(mau_trend=trend), CONFIG)
    assert result.color is color
    if color is Health.yellow:
        assert "a drop of more than 20%: at best yellow" in result.reasons[0]


def test_score_thresholds_green_yellow_red() -> None:
    # Only two measures count (weights 40 and 10): the score is their weighted fraction.
    config = CONFIG.model_copy(
        update={"mau_trend": CONFIG.mau_trend.model_copy(update={"weight": 0}),
                "champion": CONFIG.champion.model_copy(update={"weight": 0})}
    )
    no_caps = config.utilization.model_copy(update={"caps": ()})
    config = config.model_copy(update={"utilization": no_caps})

    def at(utilization: float, consumption: float) -> tuple[Health | None, int | None]:
        color, points, _ = score(steady(utilization=utilization, consumption=consumption), config)
        return color, points

    # utilization points: 40 x (u - 0.4) / 0.4; consumption: 10 x (c - 0.2) / 0.3
    assert at(0.68, 0.5) == (Health.green, 76)  # (28 + 10) / 50
    assert at(0.66, 0.5) == (Health.green, 72)  # (26 + 10) / 50
    assert at(0.64, 0.5) == (Health.yellow, 68)  # green from 70
    assert at(0.6, 0.35) == (Health.yellow, 50)  # (20 + 5) / 50: yellow from 50
    assert at(0.59, 0.35) == (Health.red, 48)


def test_usage_down_a_third_in_a_month_is_red() -> None:
    result = score(steady(utilization=0.6, consumption=0.41, mau_trend=-1 / 3), CONFIG)
    assert result.color is Health.red and result.score is not None and result.score < 50
    assert any("MAU fell 33% in 30 days" in reason for reason in result.reasons)


def test_nps_over_the_window() -> None:
    assert score(steady(nps=30.0, nps_answers=10), CONFIG).color is Health.green
    warned = score(steady(nps=-10.0, nps_answers=10), CONFIG)
    assert warned.color is Health.yellow
    assert warned.reasons == ["NPS -10 from 10 answer(s) (below +0: at best yellow)"]


def test_no_champion_costs_points_but_not_the_color() -> None:
    result = score(steady(champion=False), CONFIG)
    assert result.color is Health.green and result.score == 88  # 75 of the 85 points that count
    assert result.reasons == ["no champion on file"]


def test_stuck_in_onboarding_is_yellow_even_without_usage() -> None:
    assert score(HealthMeasures(stage=Stage.onboarding, days_in_stage=60, champion=True), CONFIG) == (None, None, [])
    stuck = score(HealthMeasures(stage=Stage.onboarding, days_in_stage=61, champion=True), CONFIG)
    assert stuck.color is Health.yellow and stuck.score is None
    assert stuck.reasons == ["in onboarding for 61 days (more than 60: at best yellow)"]


def test_measures_outside_their_stages_or_without_data_do_not_count() -> None:
    # In adoption, utilization and consumption are the journey's own 60-day judgement.
    adoption = HealthMeasures(stage=Stage.adoption, utilization=0.1, consumption=0.1, mau_trend=0.0, champion=True)
    assert score(adoption, CONFIG) == (None, None, [])  # trend and champion: 35 < min_weight 40
    with_nps = adoption.model_copy(update={"nps": 40.0, "nps_answers": 5})
    assert score(with_nps, CONFIG) == (Health.green, 100, [])
    falling = adoption.model_copy(update={"mau_trend": -0.25})
    assert score(falling, CONFIG).color is Health.yellow  # a warning needs no minimum weight
    # A new account with nothing to show is not judged.
    assert score(HealthMeasures(stage=Stage.kickoff, days_in_stage=3), CONFIG).color is None


def test_adoption_band() -> None:
    bands = (0.25, 0.5, 0.8)
    assert adoption_band(None, bands) is None
    assert adoption_band(0.1, bands) == 0.0
    assert adoption_band(0.5, bands) == 0.5
    assert adoption_band(0.95, bands) == 0.8


# --- The file's validation ------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "health.toml"
    path.write_text(text)
    return path


def bundled_text() -> str:
    from playbooks import DEFAULT_DIR

    return (DEFAULT_DIR / "health.toml").read_text()


def test_errors_name_the_file_key_path_and_line(tmp_path: Path) -> None:
    text = bundled_text().replace("weight = 25", "weight = -5").replace("grace_days = 30", "grace_days = 30\nsurprise = 1")
    path = write(tmp_path, text)
    with pytest.raises(HealthConfigError) as caught:
        load_health_config(path)
    lines = text.splitlines()
    message = str(caught.value)
    weight_line = lines.index("weight = -5") + 1
    assert f"{path}:{weight_line}: mau_trend.weight: Input should be greater than or equal to 0" in message
    surprise_line = lines.index("surprise = 1") + 1
    assert f"{path}:{surprise_line}: time_in_stage.surprise: unknown key 'surprise'" in message


def test_inconsistent_thresholds_and_syntax_errors(tmp_path: Path) -> None:
    path = write(tmp_path, bundled_text().replace("yellow_from = 50", "yellow_from = 80"))
    with pytest.raises(HealthConfigError, match=r"colors: yellow_from \(80\) must not be above green_from \(70\)"):
        load_health_config(path)
    path = write(tmp_path, "version = \n")
    with pytest.raises(HealthConfigError, match="TOML syntax error"):
        load_health_config(path)
    with pytest.raises(HealthConfigError, match="no such health-score file"):
        load_health_config(tmp_path / "missing.toml")


def test_cli_validate_and_show(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["health-score", "validate"])
    assert ok.exit_code == 0 and "ok (version" in ok.output
    bad = runner.invoke(main, ["health-score", "validate", str(write(tmp_path, "version = 'x'\n"))])
    assert bad.exit_code == 2 and "colors: required key is missing" in bad.output
    shown = runner.invoke(main, ["health-score", "show", "--json"])
    assert shown.exit_code == 0
    assert HealthConfig.model_validate_json(shown.output) == CONFIG
    # The playbook command checks the four playbooks only, not this file.
    assert runner.invoke(main, ["playbook", "validate"]).exit_code == 0


# --- Measures from the store (the sweep's SQL passes) ----------------------------------------

DAY = date(2026, 6, 30)


def enroll(store: Store, account_id: str, stage: str, entered: date, champion: bool = False) -> None:
    account = Account.model_validate(
        {
            "id": account_id, "name": account_id.title(), "segment": "strategic", "tier": 1, "seats": 100,
            "arr": 1000, "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
            "contacts": [{"name": "C", "role": "champion"}] if champion else [{"name": "A", "role": "admin"}],
        }
    )
    store.upsert_accounts([account])
    store.apply_effects(
        Effects(
            account=account_id,
            timeline=[
                TimelineEntry(key=f"{account_id}/s1", account=account_id, at=date(2026, 1, 5), kind="stage", name="kickoff"),
                TimelineEntry(key=f"{account_id}/s2", account=account_id, at=entered, kind="stage", name=stage),
            ],
        )
    )
    with store.transaction() as conn:
        from journey.store.schema import accounts

        conn.execute(accounts.update().where(accounts.c.id == account_id).values(stage=stage))


def test_score_accounts_reads_every_measure(any_store: Store) -> None:
    store = any_store
    enroll(store, "steady-co", "steady", date(2026, 3, 1), champion=True)
    enroll(store, "stuck-co", "onboarding", DAY - timedelta(days=75))
    enroll(store, "gone-co", "churned", date(2026, 5, 1))
    add_usage(
        store, [("steady-co", DAY - timedelta(days=30), 45, 90), ("steady-co", DAY - timedelta(days=1), 40, 60)]
    )
    store.write_nps([
            NpsRow(account="steady-co", date=DAY - timedelta(days=100), score=0),  # outside the 90 days
            NpsRow(account="steady-co", date=DAY - timedelta(days=10), score=10),
            NpsRow(account="steady-co", date=DAY - timedelta(days=5), score=9),
            NpsRow(account="steady-co", date=DAY - timedelta(days=5), score=3),
        ],
    )
    scored = {s.account: s for s in store.score_accounts(DAY, CONFIG)}
    assert set(scored) == {"steady-co", "stuck-co"}  # churned accounts are not scored

    steady_co = scored["steady-co"].measures
    assert steady_co.utilization == pytest.approx(0.6)
    assert steady_co.mau_trend == pytest.approx(60 / 90 - 1)
    assert steady_co.nps == pytest.approx(100 * (2 - 1) / 3) and steady_co.nps_answers == 3
    assert steady_co.champion and steady_co.days_in_stage == (DAY - date(2026, 3, 1)).days
    assert scored["steady-co"].color is Health.yellow and scored["steady-co"].band == 0.5

    stuck = scored["stuck-co"]
    assert stuck.measures.days_in_stage == 75 and not stuck.measures.champion
    assert stuck.color is Health.yellow and stuck.score is None and stuck.band is None

    latest = CONFIG.model_copy(update={"nps": CONFIG.nps.model_copy(update={"basis": "latest"})})
    (only_latest,) = [s for s in store.score_accounts(DAY, latest) if s.account == "steady-co"]
    assert only_latest.measures.nps == pytest.approx(0.0) and only_latest.measures.nps_answers == 2


def test_changes_are_against_the_mirror(any_store: Store) -> None:
    store = any_store
    enroll(store, "acme", "steady", date(2026, 3, 1), champion=True)
    add_usage(store, [("acme", DAY - timedelta(days=30), 45, 90), ("acme", DAY, 45, 90)])
    (first,) = store.score_accounts(DAY, CONFIG)
    # Green like the journey, but the journey was never told its utilization band.
    assert first.color is Health.green and first.health is Health.green and first.told_color is None
    assert is_change(first)
    store.record_scores([first])
    store.record_delivered("acme", first.color, first.band)
    (again,) = store.score_accounts(DAY, CONFIG)
    assert again.told_color is Health.green and again.told_band == 0.8
    assert not is_change(again)
    # Usage falls back a band: that alone is no news (the color it moves is), and the band
    # the journey knows stays the highest.
    add_usage(store, [("acme", DAY, 30, 60)])
    (lower,) = store.score_accounts(DAY, CONFIG)
    assert lower.band == 0.5 and lower.told_band == 0.8 and not band_changed(lower)
    store.record_delivered("acme", lower.color, lower.band)
    assert store.score_accounts(DAY, CONFIG)[0].told_band == 0.8
    (row,) = store.list_accounts()
    assert row.health_score == 100 and row.scored_on == DAY


@pytest.mark.parametrize(
    ("color", "health", "told", "band", "told_band", "changed"),
    [
        (Health.green, Health.green, Health.green, 0.8, 0.8, False),
        (Health.red, Health.green, Health.green, 0.8, 0.8, True),  # the score moved
        (Health.green, Health.red, Health.green, 0.8, 0.8, True),  # a manual red hides it: keep telling
        (Health.red, Health.red, Health.green, 0.8, 0.8, True),  # red by hand and now by score too
        (Health.red, Health.red, None, 0.8, 0.8, False),  # never told: compare with the journey only
        (None, Health.green, None, 0.8, 0.5, True),  # not judged, but a higher milestone band reached
        (None, Health.green, None, 0.5, 0.8, False),  # fell back a band: no touch follows, nothing to tell
        (None, Health.green, None, 0.0, None, False),  # never told, below every band: nothing reached
        (None, Health.green, None, 0.0, 0.25, False),  # fell below every band
        (None, Health.green, None, None, None, False),
    ],
)
def test_is_change(color, health, told, band, told_band, changed) -> None:
    scored = ScoredAccount(
        account="a", day=DAY, measures=steady(), color=color, score=None, reasons=[], band=band,
        health=health, told_color=told, told_band=told_band,
    )
    assert is_change(scored) is changed


def test_nps_of() -> None:
    assert nps_of([10, 9, 8, 7, 0]) == pytest.approx(20.0)
    assert nps_of([6]) == -100.0


# --- The engine: a manual color hides the score until it expires ---------------------------


def test_manual_color_expires_into_the_latest_score() -> None:
    account = Account.model_validate(
        {"id": "acme", "name": "Acme", "segment": "strategic", "tier": 1, "seats": 100, "arr": 1,
         "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam"}
    )
    engine = Engine.enroll(account, load_playbooks(playbooks_dir())[account.engagement_model], date(2026, 1, 5))
    engine.place(date(2026, 1, 5))
    engine.apply_score(Health.yellow, "health score 60", date(2026, 3, 1))
    assert engine.s.health is Health.yellow
    engine.apply("set_health", SetHealth(color=Health.red, reason="champion left"), date(2026, 3, 2))
    engine.apply_score(Health.green, "health score 95", date(2026, 3, 10))  # hidden by the manual red
    assert engine.s.health is Health.red and engine.s.score_color is Health.green
    engine.advance(date(2026, 3, 15))
    assert engine.s.health is Health.red
    engine.advance(date(2026, 3, 16))  # 14 days after the manual red
    assert engine.s.health is Health.green and engine.s.health_reason == "health score 95"
    rows = [e for e in engine.take_effects().timeline if e.kind == "health"]
    assert [(r.name, r.detail["source"], r.at) for r in rows] == [
        ("yellow", "score", date(2026, 3, 1)),
        ("red", "manual", date(2026, 3, 2)),
        ("green", "score", date(2026, 3, 16)),
    ]
    remediation = [c for c in engine.take_commands() if isinstance(c, (StartRemediation, EndRemediation))]
    assert ["start" if isinstance(c, StartRemediation) else "end" for c in remediation] == ["start", "end"]
