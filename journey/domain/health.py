"""The account health score as data: `playbooks/health.toml` in, a color out.

`score(measures, config)` is pure: the nightly sweep (workflows/health_sweep.py) gathers
the measures of every active account from the store and calls it; unit tests call it
directly. How the points and colors are computed is explained in `playbooks/health.toml`
and docs/metrics.md. `ScoredAccount` and `is_change` decide which journeys hear of a score.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def score(measures: HealthMeasures, config: HealthConfig) -> HealthScore:
    """Score one account: its color, a 0-100 score, and the reasons it lost points or was capped."""
    points = 0.0
    counted = 0.0
    reasons: list[str] = []
    caps: list[Health] = []
    stage = measures.stage

    def linear(measure: Linear, value: float | None, text: str, detail: str, under: Callable[[float], str]) -> None:
        nonlocal points, counted
        if value is None or not measure.applies(stage):
            return
        fraction = measure.fraction(value)
        points += measure.weight * fraction
        counted += measure.weight
        cap = measure.cap(value)
        if cap is not None:
            caps.append(cap.color)
            reasons.append(f"{text} ({under(cap.below)}: at best {cap.color.value})")
        elif fraction < 1:
            reasons.append(f"{text} ({detail})" if detail else text)

    def below_pct(limit: float) -> str:
        return f"below {limit:.0%}"

    util, cons, trend, nps = config.utilization, config.consumption, config.mau_trend, config.nps
    if measures.utilization is not None:
        text = f"utilization {_pct(measures.utilization)}"
        linear(util, measures.utilization, text, f"target {_pct(util.full)}", below_pct)
    if measures.consumption is not None:
        text = f"consumption {_pct(measures.consumption)}"
        linear(cons, measures.consumption, text, f"healthy from {_pct(cons.full)}", below_pct)
    change = measures.mau_trend
    if change is not None:
        text = f"MAU {'fell' if change < 0 else 'rose'} {_pct(abs(change))} in {measures.trend_days} days"
        linear(trend, change, text, "", lambda v: f"a drop of more than {-v:.0%}" if v < 0 else f"below {v:+.0%}")
    if measures.nps is not None:
        text = f"NPS {measures.nps:+.0f} from {measures.nps_answers} answer(s)"
        linear(nps, measures.nps, text, f"healthy from {nps.full:+g}", lambda v: f"below {v:+g}")

    champion = config.champion
    if champion.weight > 0:
        counted += champion.weight
        if measures.champion:
            points += champion.weight
        else:
            reasons.append("no champion on file")
            if champion.missing_cap is not None:
                caps.append(champion.missing_cap)

    stay = config.time_in_stage
    limit = stay.limits.get(stage)
    if stay.weight > 0 and limit is not None and measures.days_in_stage is not None:
        over = measures.days_in_stage - limit
        counted += stay.weight
        points += stay.weight * (1.0 if over <= 0 else max(0.0, 1 - over / stay.grace_days))
        if over > 0:
            caps.append(stay.over_color)
            reasons.append(
                f"in {stage.value} for {measures.days_in_stage} days "
                f"(more than {limit}: at best {stay.over_color.value})"
            )

    if counted < max(config.colors.min_weight, 1e-9):
        # Too little to judge by points; warnings still count.
        return HealthScore(worst(*caps), None, reasons)
    value = round(100 * points / counted)
    if value >= config.colors.green_from:
        by_score = Health.green
    elif value >= config.colors.yellow_from:
        by_score = Health.yellow
    else:
        by_score = Health.red
    return HealthScore(worst(by_score, *caps), value, reasons)


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


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
