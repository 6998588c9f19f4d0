"""When touchpoints fall due: pure calendar logic over a playbook and an account's dates.

The workflow keeps, per touchpoint, the raw due date of the last occurrence it handled;
`occurrence_after` gives the next one. Raw dates are what the playbook says; the date a
touch actually happens is moved off weekends (`next_business_day`) and, for
customer-facing touches, past full weeks (`WeeklyCap`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from journey.domain.calendar import add_months, fiscal_quarter_start, next_business_day, week_start
from journey.domain.enums import Deployment, Health, Stage
from journey.domain.playbook import Every, Touchpoint

ACTIVE_STAGES = frozenset(
    {Stage.signed, Stage.kickoff, Stage.onboarding, Stage.adoption, Stage.steady, Stage.renewal}
)


@dataclass(frozen=True)
class ScheduleContext:
    """What the scheduler needs to know about an account at one moment."""

    stage: Stage
    tier: int
    health: Health
    deployment: Deployment
    anchors: Mapping[str, date]
    fiscal_year_start_month: int = 2
    check_in_cadence_days: int | None = None


def _sequence(tp: Touchpoint, ctx: ScheduleContext, anchor: date) -> tuple[Callable[[int], date], int]:
    """The k-th occurrence (k >= 0) of a touchpoint from its anchor, and its rough period in days."""
    offset = timedelta(days=tp.offset_for(ctx.tier))
    rec = tp.recurrence
    if rec is None:
        return (lambda k: anchor + offset), 36500
    if rec.every is Every.quarter:
        first_quarter = fiscal_quarter_start(anchor, ctx.fiscal_year_start_month)
        # The first occurrence is the first quarter date (plus offset) not before the anchor.
        skip = 0
        while add_months(first_quarter, 3 * skip) + offset < anchor:
            skip += 1
        return (lambda k: add_months(first_quarter, 3 * (k + skip)) + offset), 91
    if rec.every in (Every.days, Every.weeks):
        step_days = rec.interval * (7 if rec.every is Every.weeks else 1)
        if rec.cadence_from_kickoff and ctx.check_in_cadence_days:
            step_days = ctx.check_in_cadence_days
        step = timedelta(days=step_days)
        return (lambda k: anchor + offset + step * k), step_days
    months = {Every.months: rec.interval, Every.half_year: 6, Every.year: 12}[rec.every]
    return (lambda k: add_months(anchor, months * k) + offset), 30 * months


def occurrence_after(tp: Touchpoint, ctx: ScheduleContext, after: date | None) -> date | None:
    """The raw due date of the first occurrence strictly after `after` (None: the first ever).

    None when the anchor has not happened yet or the occurrences are used up.
    """
    if tp.milestones:
        return None
    anchor = ctx.anchors.get(tp.anchor.value)
    if anchor is None:
        return None
    occurrence, period = _sequence(tp, ctx, anchor)
    if tp.recurrence is None:
        # One occurrence per anchor date: a moved anchor (a new renewal date) makes a new one.
        once = occurrence(0)
        return once if after is None or once > after else None
    count = tp.recurrence.count
    k = 0
    if after is not None:
        k = max(0, (after - occurrence(0)).days // period - 1)
        while occurrence(k) <= after:
            k += 1
        # The jump above is an estimate (months are not all `period` days long): step back
        # if it overshot, so no occurrence is ever skipped.
        while k > 0 and occurrence(k - 1) > after:
            k -= 1
    if count is not None and k >= count:
        return None
    return occurrence(k)


def static_conditions_hold(tp: Touchpoint, ctx: ScheduleContext) -> bool:
    """Conditions that change only with the contract or a recorded milestone date."""
    if tp.tiers and ctx.tier not in tp.tiers:
        return False
    if tp.deployments and ctx.deployment not in tp.deployments:
        return False
    return all(ctx.anchors.get(req) is not None for req in tp.requires)


def eligible(tp: Touchpoint, ctx: ScheduleContext) -> bool:
    """Whether the touchpoint may happen now: its stage window, tier, health and requirements."""
    if ctx.stage not in ACTIVE_STAGES:
        return False
    if tp.stages and ctx.stage not in tp.stages:
        return False
    if tp.health and ctx.health not in tp.health:
        return False
    return static_conditions_hold(tp, ctx)


def milestones_newly_reached(
    tp: Touchpoint, utilization: float | None, already: tuple[float, ...]
) -> list[float]:
    """Usage milestones first reached at this utilization, lowest first."""
    if utilization is None:
        return []
    return [m for m in tp.milestones if m <= utilization and m not in already]


@dataclass
class WeeklyCap:
    """Counts customer-facing touches per ISO week so no account is flooded.

    `place(day)` returns the first business day on or after `day` whose week still has room.
    """

    limit: int
    counts: dict[date, int] = field(default_factory=dict)

    def place(self, day: date) -> date:
        day = next_business_day(day)
        while self.counts.get(week_start(day), 0) >= self.limit:
            day = week_start(day) + timedelta(days=7)
        return day

    def take(self, day: date) -> None:
        week = week_start(day)
        self.counts[week] = self.counts.get(week, 0) + 1

    def forget_before(self, day: date) -> None:
        cutoff = week_start(day)
        for week in [w for w in self.counts if w < cutoff]:
            del self.counts[week]
