"""The score's parts (journey.domain.health.breakdown), the reason the journey is told, and
what `journey health-score explain` says changed between two sweeps."""

from __future__ import annotations

from datetime import date

from journey.config import health_config_path
from journey.domain.enums import Health, Stage
from journey.domain.health import (
    HealthMeasures,
    ManualColor,
    ScoredAccount,
    StoredScore,
    breakdown,
    changes,
    load_health_config,
    score,
)

CONFIG = load_health_config(health_config_path())
# docs/metrics.md's example: steady, utilization 0.70, consumption 0.35, trend -0.10, NPS +10.
EXAMPLE = HealthMeasures(
    stage=Stage.steady, utilization=0.7, consumption=0.35, mau_trend=-0.1, nps=10.0, nps_answers=4, champion=True
)


def test_the_parts_add_up_to_the_score() -> None:
    result = breakdown(EXAMPLE, CONFIG)
    assert result.result() == score(EXAMPLE, CONFIG)
    parts = {m.measure: m for m in result.measures}
    assert round(parts["utilization"].points, 4) == 30.0 and parts["utilization"].cap is Health.yellow
    assert round(parts["mau_trend"].points, 2) == 16.67 and parts["mau_trend"].cap is None
    assert not parts["time_in_stage"].counted and parts["time_in_stage"].note == "no limit in steady"
    counted = [m for m in result.measures if m.counted]
    assert result.score == round(100 * sum(m.points for m in counted) / sum(m.weight for m in counted)) == 72


def test_the_told_reason_leads_with_caps_then_the_largest_losses() -> None:
    result = breakdown(EXAMPLE, CONFIG)
    scored = ScoredAccount(
        account="acme", day=date(2026, 5, 1), measures=EXAMPLE, color=result.color, score=result.score,
        reasons=result.reasons, band=None, health=Health.green, points=result.measures,
    )
    assert scored.reason == (
        "health score 72: utilization 70% (below 80%: at best yellow); MAU fell 10% in 30 days; "
        "consumption 35% (healthy from 50%)"
    )
    # Without the parts (as before the history), the file's order.
    assert scored.model_copy(update={"points": []}).reason.endswith("consumption 35% (healthy from 50%); MAU fell 10% in 30 days")


def stored(on: date, measures: HealthMeasures, manual: ManualColor | None = None) -> StoredScore:
    result = breakdown(measures, CONFIG)
    assert result.color is not None
    return StoredScore(
        account="acme", on=on, stage=measures.stage, score=result.score, score_color=result.color,
        color=manual.color if manual else result.color, manual=manual, config_version=CONFIG.version,
        reason="", measures=result.measures,
    )


def test_changes_since_the_previous_sweep() -> None:
    healthy = EXAMPLE.model_copy(update={"utilization": 0.9, "consumption": 0.6, "mau_trend": 0.0, "nps": 40.0})
    before = stored(date(2026, 5, 1), healthy)
    after = stored(date(2026, 5, 2), healthy.model_copy(update={"mau_trend": -0.24}))
    assert (before.score, after.score) == (100, 80)
    assert changes(after, before) == ["mau_trend -24% → cap yellow", "score 100 → 80", "color green → yellow"]
    assert changes(after, None) == []
    recovered = stored(date(2026, 5, 3), healthy)
    assert changes(recovered, after) == ["mau_trend +0%: cap yellow lifted", "score 80 → 100", "color yellow → green"]

    manual = ManualColor(color=Health.red, reason="champion left", until=date(2026, 5, 17))
    held = stored(date(2026, 5, 3), healthy, manual)
    assert changes(held, before) == ["color green → red", "manual red (champion left) until 2026-05-17"]
    assert changes(recovered, held) == ["color red → green", "manual red ended"]
    document = held.document(before)
    assert document["manual_color"] == "red" and document["previous"] == {"on": "2026-05-01", "score": 100, "color": "green"}
