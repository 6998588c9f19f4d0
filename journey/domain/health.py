"""The account health score as data: `playbooks/health.toml` in, a color out.

`score(measures, config)` is pure: the nightly sweep (workflows/health_sweep.py) gathers
the measures of every active account from the store and calls it; unit tests call it
directly. How the points and colors are computed is explained in `playbooks/health.toml`
and docs/metrics.md. `ScoredAccount` and `is_change` decide which journeys hear of a score.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journey.domain.enums import Health, Stage
from journey.domain.playbook_files import PlaybookError, PlaybookProblem, read_toml

Strict = ConfigDict(extra="forbid", frozen=True)

# Worst first: a cap lowers a color, never raises it.
_SEVERITY = {Health.green: 0, Health.yellow: 1, Health.red: 2}


def worst(*colors: Health | None) -> Health | None:
    present = [c for c in colors if c is not None]
    return max(present, key=_SEVERITY.__getitem__, default=None)


# --- The configuration (the TOML file's structure) ---------------------------------------


class Colors(BaseModel):
    model_config = Strict

    green_from: float = Field(ge=0, le=100, description="score at or above which an account is green")
    yellow_from: float = Field(ge=0, le=100, description="score at or above which an account is yellow (else red)")
    min_weight: float = Field(default=0, ge=0, description="judge only when measures worth this much weight have data")

    @model_validator(mode="after")
    def _ordered(self) -> Colors:
        if self.yellow_from > self.green_from:
            raise ValueError(f"yellow_from ({self.yellow_from:g}) must not be above green_from ({self.green_from:g})")
        return self


class Cap(BaseModel):
    """Below `below`, the color is at best `color` however high the score (a warning)."""

    model_config = Strict

    below: float
    color: Health


class Linear(BaseModel):
    """A measure scored linearly between `zero` (no points) and `full` (all its weight)."""

    model_config = Strict

    weight: float = Field(ge=0)
    zero: float
    full: float
    stages: tuple[Stage, ...] = Field(default=(), description="stages the measure applies in; empty: all")
    caps: tuple[Cap, ...] = Field(default=(), description="warnings: below a value, the color is at best a color")

    @model_validator(mode="after")
    def _distinct(self) -> Linear:
        if self.zero == self.full:
            raise ValueError(f"zero and full must differ (both are {self.zero:g})")
        return self

    def applies(self, stage: Stage) -> bool:
        return self.weight > 0 and (not self.stages or stage in self.stages)

    def fraction(self, value: float) -> float:
        return min(1.0, max(0.0, (value - self.zero) / (self.full - self.zero)))

    def cap(self, value: float) -> Cap | None:
        """The most severe cap `value` falls under, if any."""
        hit = [cap for cap in self.caps if value < cap.below]
        return max(hit, key=lambda cap: _SEVERITY[cap.color], default=None)


class Utilization(Linear):
    bands: tuple[float, ...] = Field(
        default=(), description="utilization levels whose crossing the sweep reports to the journey (usage milestones)"
    )

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for band in value:
            if not 0 < band <= 2:
                raise ValueError(f"band {band:g} must be a utilization between 0 and 2")
        if list(value) != sorted(set(value)):
            raise ValueError("bands must be distinct and in increasing order")
        return value


class Nps(Linear):
    window_days: int = Field(default=90, ge=1, le=730)
    basis: Literal["window", "latest"] = "window"


class Champion(BaseModel):
    model_config = Strict

    weight: float = Field(ge=0)
    missing_cap: Health | None = Field(default=None, description="without a champion the color is at best this")


class TimeInStage(BaseModel):
    model_config = Strict

    weight: float = Field(ge=0)
    limits: dict[Stage, int] = Field(default_factory=dict, description="days an account is expected to spend at most")
    grace_days: int = Field(default=30, ge=1, description="points fall to zero this many days past the limit")
    over_color: Health = Field(default=Health.yellow, description="past the limit the color is at best this")

    @field_validator("limits")
    @classmethod
    def _positive(cls, value: dict[Stage, int]) -> dict[Stage, int]:
        for stage, days in value.items():
            if days < 1:
                raise ValueError(f"limit for {stage.value} must be at least 1 day (got {days})")
        return value


class HealthConfig(BaseModel):
    """`playbooks/health.toml`."""

    model_config = Strict

    version: str = Field(min_length=1)
    colors: Colors
    utilization: Utilization
    consumption: Linear
    mau_trend: Linear
    nps: Nps
    champion: Champion
    time_in_stage: TimeInStage

    @model_validator(mode="after")
    def _some_weight(self) -> HealthConfig:
        weights = [
            self.utilization.weight, self.consumption.weight, self.mau_trend.weight,
            self.nps.weight, self.champion.weight, self.time_in_stage.weight,
        ]
        if sum(weights) <= 0:
            raise ValueError("at least one measure needs a weight above 0")
        if self.colors.min_weight > sum(weights):
            raise ValueError(f"colors.min_weight ({self.colors.min_weight:g}) is more than all weights together ({sum(weights):g})")
        return self

    def total_weight(self) -> float:
        return sum(
            m.weight for m in (self.utilization, self.consumption, self.mau_trend, self.nps, self.champion, self.time_in_stage)
        )


class HealthConfigError(PlaybookError):
    """A health-score file that cannot be used; names the file, key path and line."""


def load_health_config(path: str | Path) -> HealthConfig:
    """Read and validate a health-score file (`journey.config.health_config_path()` is the
    bundled playbooks/health.toml)."""
    path = Path(path)
    text, data = read_toml(path, HealthConfigError, "health-score")
    try:
        return HealthConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, text) for error in exc.errors()]
        problems.sort(key=lambda p: p.line if p.line is not None else 1 << 30)
        raise HealthConfigError.from_problems(path, problems) from None


def _problem(error: object, text: str) -> PlaybookProblem:
    loc = tuple(str(part) for part in error["loc"])  # type: ignore[index]
    kind = error["type"]  # type: ignore[index]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")  # type: ignore[index]
        value = error.get("input")  # type: ignore[attr-defined]
        if isinstance(value, (str, int, float)) and kind != "value_error":
            message += f" (got {value!r})"
    return PlaybookProblem(".".join(loc), message, _line_of(text, loc))


def _line_of(text: str, loc: tuple[str, ...]) -> int | None:
    """The line of a key path like ('mau_trend', 'weight') or ('time_in_stage', 'limits', 'x')."""
    lines = text.splitlines()
    keys = [part for part in loc if not part.isdigit()]
    if not keys:
        return None
    table: list[str] = []
    best: int | None = None
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[\s*([A-Za-z0-9_.\s]+?)\s*\]", line)
        if header:
            table = [part.strip() for part in header.group(1).split(".")]
            if table == keys[: len(table)] and best is None and len(table) == len(keys):
                best = number
            continue
        assigned = re.match(r"^\s*[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", line)
        if assigned and [*table, assigned.group(1)] == keys[: len(table) + 1]:
            return number
    if best is None and len(keys) > 1:
        return _line_of(text, tuple(keys[:-1]))
    return best


# --- Measures in, color out --------------------------------------------------------------


class HealthMeasures(BaseModel):
    """What the score looks at, for one account on one day (None: no data)."""

    stage: Stage
    utilization: float | None = None
    consumption: float | None = None
    mau_trend: float | None = Field(default=None, description="relative MAU change over `trend_days`")
    trend_days: int = 30
    nps: float | None = Field(default=None, description="NPS (-100..100) of the answers in the window")
    nps_answers: int = 0
    champion: bool = False
    days_in_stage: int | None = None


class HealthScore(NamedTuple):
    """`color` is None when there is too little data to judge (and nothing to warn about)."""

    color: Health | None
    score: int | None
    reasons: list[str]


MEASURES = ("utilization", "consumption", "mau_trend", "nps", "champion", "time_in_stage")


class MeasurePoints(BaseModel):
    """One measure of the health file as one score used it: what `journey health-score
    explain` shows and the sweep stores (see docs/metrics.md, "Stored scores")."""

    model_config = ConfigDict(frozen=True)

    measure: str
    value: float | bool | None = Field(description="the measure's value (None: no data)")
    weight: float
    points: float = Field(description="weight x fraction when counted, else 0")
    counted: bool = Field(description="whether its weight is part of the score's denominator")
    cap: Health | None = Field(default=None, description="the color it caps the account at, if any")
    reason: str | None = Field(default=None, description="why it lost points or capped the color")
    note: str | None = Field(default=None, description="why it did not count")
    data: dict[str, object] = Field(default_factory=dict, description="the figures and dates the value came from")

    @property
    def lost(self) -> float:
        return self.weight - self.points if self.counted else 0.0


class ScoreBreakdown(NamedTuple):
    """A score with every measure's part in it, in the health file's order."""

    color: Health | None
    score: int | None
    measures: list[MeasurePoints]

    @property
    def reasons(self) -> list[str]:
        return [m.reason for m in self.measures if m.reason]

    def top_reasons(self) -> list[str]:
        """Caps first (the most severe first), then the measures that lost the most points."""
        hit = [m for m in self.measures if m.reason]
        hit.sort(key=lambda m: (-_SEVERITY[m.cap] if m.cap is not None else 1, -m.lost))
        return [m.reason for m in hit if m.reason]

    def result(self) -> HealthScore:
        return HealthScore(self.color, self.score, self.reasons)


def score(measures: HealthMeasures, config: HealthConfig) -> HealthScore:
    """Score one account: its color, a 0-100 score, and the reasons it lost points or was capped."""
    return breakdown(measures, config).result()


def breakdown(
    measures: HealthMeasures, config: HealthConfig, sources: Mapping[str, dict[str, object]] | None = None
) -> ScoreBreakdown:
    """`score` with each measure's value, weight, points, cap and reason; `sources` gives
    the figures and dates each value came from (kept with the measure)."""
    stage = measures.stage
    found: dict[str, MeasurePoints] = {}

    def part(name: str, value: float | bool | None, weight: float, **fields: object) -> None:
        data = dict(sources.get(name, {})) if sources else {}
        found[name] = MeasurePoints.model_validate(
            {"measure": name, "value": value, "weight": weight, "points": 0.0, "counted": False, "data": data} | fields
        )

    def linear(name: str, measure: Linear, value: float | None, text: str, detail: str, under: Callable[[float], str]) -> None:
        if measure.weight <= 0:
            return part(name, value, measure.weight, note="weight 0")
        if value is None:
            return part(name, value, measure.weight, note="no data")
        if not measure.applies(stage):
            return part(name, value, measure.weight, note=f"not scored in {stage.value}")
        fraction = measure.fraction(value)
        cap = measure.cap(value)
        if cap is not None:
            reason: str | None = f"{text} ({under(cap.below)}: at best {cap.color.value})"
        elif fraction < 1:
            reason = f"{text} ({detail})" if detail else text
        else:
            reason = None
        part(
            name, value, measure.weight, points=measure.weight * fraction, counted=True,
            cap=cap.color if cap is not None else None, reason=reason,
        )

    def below_pct(limit: float) -> str:
        return f"below {limit:.0%}"

    util, cons, trend, nps = config.utilization, config.consumption, config.mau_trend, config.nps
    linear("utilization", util, measures.utilization, f"utilization {_pct(measures.utilization)}",
           f"target {_pct(util.full)}", below_pct)
    linear("consumption", cons, measures.consumption, f"consumption {_pct(measures.consumption)}",
           f"healthy from {_pct(cons.full)}", below_pct)
    change = measures.mau_trend
    fell = f"MAU {'fell' if (change or 0) < 0 else 'rose'} {_pct(abs(change or 0))} in {measures.trend_days} days"
    linear("mau_trend", trend, change, fell, "", lambda v: f"a drop of more than {-v:.0%}" if v < 0 else f"below {v:+.0%}")
    linear("nps", nps, measures.nps, f"NPS {measures.nps or 0:+.0f} from {measures.nps_answers} answer(s)",
           f"healthy from {nps.full:+g}", lambda v: f"below {v:+g}")

    champion = config.champion
    if champion.weight > 0:
        missing = not measures.champion
        part(
            "champion", measures.champion, champion.weight, points=0.0 if missing else champion.weight, counted=True,
            cap=champion.missing_cap if missing else None, reason="no champion on file" if missing else None,
        )
    else:
        part("champion", measures.champion, champion.weight, note="weight 0")

    stay = config.time_in_stage
    limit = stay.limits.get(stage)
    days = measures.days_in_stage
    if stay.weight <= 0:
        part("time_in_stage", days, stay.weight, note="weight 0")
    elif limit is None:
        part("time_in_stage", days, stay.weight, note=f"no limit in {stage.value}")
    elif days is None:
        part("time_in_stage", days, stay.weight, note="no data")
    else:
        over = days - limit
        part(
            "time_in_stage", days, stay.weight, counted=True,
            points=stay.weight * (1.0 if over <= 0 else max(0.0, 1 - over / stay.grace_days)),
            cap=stay.over_color if over > 0 else None,
            reason=(
                f"in {stage.value} for {days} days (more than {limit}: at best {stay.over_color.value})" if over > 0 else None
            ),
        )

    parts = [found[name] for name in MEASURES]
    points = sum(m.points for m in parts if m.counted)
    counted = sum(m.weight for m in parts if m.counted)
    caps = [m.cap for m in parts if m.cap is not None]
    if counted < max(config.colors.min_weight, 1e-9):
        # Too little to judge by points; warnings still count.
        return ScoreBreakdown(worst(*caps), None, parts)
    value = round(100 * points / counted)
    if value >= config.colors.green_from:
        by_score = Health.green
    elif value >= config.colors.yellow_from:
        by_score = Health.yellow
    else:
        by_score = Health.red
    return ScoreBreakdown(worst(by_score, *caps), value, parts)


def describe(result: HealthScore, limit: int = 3) -> str:
    """A one-line reason for the timeline and the red-accounts alert."""
    head = f"health score {result.score}" if result.score is not None else "health score"
    if not result.reasons:
        return head
    return f"{head}: " + "; ".join(result.reasons[:limit])


def adoption_band(utilization: float | None, bands: tuple[float, ...]) -> float | None:
    """The highest band reached (0.0 below all of them); None without usage data."""
    if utilization is None:
        return None
    return max((band for band in bands if band <= utilization), default=0.0)


# --- Which journeys hear of a score ------------------------------------------------------


class ManualColor(BaseModel):
    """A color set by hand (`journey health`), in force until `until` (excluded)."""

    model_config = Strict

    color: Health
    reason: str
    until: date


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
    # What `journey health-score explain` reads back (the sweep stores it, see record_scores).
    points: list[MeasurePoints] = Field(default_factory=list)
    config_version: str | None = None
    manual: ManualColor | None = None

    @property
    def reason(self) -> str:
        """The journey's health reason: the caps first, then the measures that lost most."""
        reasons = ScoreBreakdown(self.color, self.score, self.points).top_reasons() if self.points else self.reasons
        return describe(HealthScore(self.color, self.score, reasons))

    @property
    def shown_color(self) -> Health:
        """The color the account shows once its journey has heard this score: a manual
        color in force wins; without a score color the journey keeps its own."""
        if self.manual is not None:
            return self.manual.color
        return self.color or self.health


class StoredScore(BaseModel):
    """A score as the sweep stored it (journey.store.health_sweep): read back, never recomputed."""

    account: str
    on: date
    stage: Stage
    score: int | None
    score_color: Health | None = Field(description="the score's own color (None: too little data)")
    color: Health = Field(description="the color the account shows after the sweep")
    manual: ManualColor | None = None
    config_version: str
    reason: str
    measures: list[MeasurePoints]

    def measure(self, name: str) -> MeasurePoints | None:
        return next((m for m in self.measures if m.measure == name), None)

    def document(self, previous: StoredScore | None) -> dict[str, object]:
        """`journey health-score explain --json` (docs/contract.md)."""
        manual = self.manual
        return {
            "account": self.account,
            "on": self.on.isoformat(),
            "score": self.score,
            "color": self.color.value,
            "manual_color": manual.color.value if manual else None,
            "config_version": self.config_version,
            "measures": [m.model_dump(mode="json") for m in self.measures],
            "previous": (
                {"on": previous.on.isoformat(), "score": previous.score, "color": previous.color.value}
                if previous is not None
                else None
            ),
            "changes": changes(self, previous),
            "score_color": self.score_color.value if self.score_color else None,
            "stage": self.stage.value,
            "manual": manual.model_dump(mode="json") if manual else None,
            "reason": self.reason,
        }


def shown_value(measure: MeasurePoints) -> str:
    """A measure's value as people read it: ratios as percentages, NPS in points."""
    value = measure.value
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if measure.measure == "mau_trend":
        return f"{value:+.0%}"
    if measure.measure == "nps":
        return f"{value:+.0f}"
    if measure.measure == "time_in_stage":
        return f"{value:.0f} days"
    return f"{value:.0%}"


def changes(current: StoredScore, previous: StoredScore | None) -> list[str]:
    """What changed since the previous sweep, one line each: the health file, the stage,
    each measure whose cap, counting or points moved, the score, the color, a manual color."""
    if previous is None:
        return []
    found: list[str] = []
    if current.config_version != previous.config_version:
        found.append(f"health config {previous.config_version} → {current.config_version}")
    if current.stage is not previous.stage:
        found.append(f"stage {previous.stage.value} → {current.stage.value}")
    for now in current.measures:
        before = previous.measure(now.measure)
        if before is None:
            continue
        name, value = now.measure, shown_value(now)
        if now.cap is not None and now.cap != before.cap:
            found.append(f"{name} {value} → cap {now.cap.value}")
        elif before.cap is not None and now.cap is None:
            found.append(f"{name} {value}: cap {before.cap.value} lifted")
        elif now.counted and not before.counted:
            found.append(f"{name} {value} counts again" if before.note else f"{name} {value} counts")
        elif before.counted and not now.counted:
            found.append(f"{name} no longer counts ({now.note or 'no data'})")
        elif now.counted and abs(now.points - before.points) >= 0.5:
            found.append(
                f"{name} {shown_value(before)} → {value} "
                f"({before.points:.1f} → {now.points:.1f} of {now.weight:g} points)"
            )
    if current.score != previous.score:
        found.append(f"score {_shown_score(previous.score)} → {_shown_score(current.score)}")
    if current.color is not previous.color:
        found.append(f"color {previous.color.value} → {current.color.value}")
    if current.manual is not None and current.manual != previous.manual:
        found.append(f"manual {current.manual.color.value} ({current.manual.reason}) until {current.manual.until}")
    elif previous.manual is not None and current.manual is None:
        found.append(f"manual {previous.manual.color.value} ended")
    return found


def _shown_score(value: int | None) -> str:
    return "none" if value is None else str(value)


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


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
