"""What falls due when, for one journey: its playbook's touchpoints against its dates.

These functions read a `JourneyState` and keep the calendar's own bookkeeping in it
(`last_due`, `deferred`, `week_counts`, `milestones_reached`); they decide which
occurrences fire and on which day, and the engine records each as a task or a message.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, timedelta

from journey.domain.calendar import next_business_day
from journey.domain.engine.state import LATE_GRACE_DAYS, TASK_LEAD_DAYS, TASK_LEAD_MIN_DAYS, JourneyState
from journey.domain.enums import Stage
from journey.domain.models import DueTouchpoint
from journey.domain.playbook import Anchor, Touchpoint, stage_anchor
from journey.domain.schedule import (
    ScheduleContext,
    WeeklyCap,
    eligible,
    milestones_newly_reached,
    occurrence_after,
    static_conditions_hold,
)


@dataclass(frozen=True, slots=True)
class Firing:
    """An occurrence that happens now: raw is the playbook's date, fire the day it happens."""

    touchpoint: Touchpoint
    raw: date
    fire: date
    milestone: float | None = None


def anchors(s: JourneyState) -> dict[str, date]:
    found: dict[str, date | None] = {
        Anchor.signed.value: s.account.signed,
        Anchor.term_start.value: s.term_start,
        Anchor.kickoff_held.value: s.kickoff_held,
        Anchor.production_ready.value: s.production_ready,
        Anchor.onboarding_complete.value: s.onboarding_complete,
        Anchor.adoption_deadline.value: s.adoption_deadline,
        Anchor.renewal_date.value: s.account.renewal,
        Anchor.red.value: s.red_since,
    }
    for stage, entered in s.stage_entered.items():
        anchor = stage_anchor(Stage(stage))
        if anchor is not None:
            found[anchor.value] = entered
    return {name: day for name, day in found.items() if day is not None}


def context(s: JourneyState) -> ScheduleContext:
    return ScheduleContext(
        stage=s.stage,
        tier=s.account.tier,
        health=s.health,
        deployment=s.account.deployment,
        anchors=anchors(s),
        fiscal_year_start_month=s.playbook.fiscal_year_start_month,
        check_in_cadence_days=s.check_in_cadence_days,
    )


def scheduled(s: JourneyState) -> list[Touchpoint]:
    """Touchpoints this journey times itself; the red ones belong to remediation."""
    return [tp for tp in s.playbook.touchpoints if tp.anchor is not Anchor.red]


def fire_date(s: JourneyState, tp: Touchpoint, raw: date) -> date:
    deferred = s.deferred.get(tp.id)
    fire = next_business_day(raw)
    return max(fire, deferred) if deferred else fire


def next_touchpoints(s: JourneyState, limit: int = 5) -> list[DueTouchpoint]:
    ctx = context(s)
    upcoming: list[DueTouchpoint] = []
    for tp in scheduled(s):
        if not eligible(tp, ctx):
            continue
        raw = occurrence_after(tp, ctx, s.last_due.get(tp.id))
        if raw is not None:
            upcoming.append(DueTouchpoint(touchpoint=tp.id, due=fire_date(s, tp, raw)))
    upcoming.sort(key=lambda d: (d.due, d.touchpoint))
    return upcoming[:limit]


def skip_missed(s: JourneyState, today: date) -> list[tuple[Touchpoint, date]]:
    """At enrollment: the last occurrence of each touchpoint that fell due more than the
    late grace before `today`, marked handled (the engine records them as skipped)."""
    ctx = context(s)
    cutoff = today - timedelta(days=LATE_GRACE_DAYS)
    missed = []
    for tp in scheduled(s):
        if not static_conditions_hold(tp, ctx):
            continue
        last_missed: date | None = None
        raw = occurrence_after(tp, ctx, None)
        while raw is not None and next_business_day(raw) < cutoff:
            last_missed = raw
            raw = occurrence_after(tp, ctx, raw)
        if last_missed is not None:
            s.last_due[tp.id] = last_missed
            missed.append((tp, last_missed))
    return missed


def handled_on(s: JourneyState, touchpoint_id: str, fire: date) -> date:
    """When the journey acts on an occurrence: automated touches on the day, tasks ahead."""
    tp = s.playbook.touchpoint(touchpoint_id)
    if tp is None or tp.automated:
        return fire
    return fire - timedelta(days=TASK_LEAD_DAYS)


def wake_for(s: JourneyState, touchpoint_id: str, fire: date) -> date:
    """The latest day to wake for an occurrence. A task may open anywhere from
    TASK_LEAD_DAYS to TASK_LEAD_MIN_DAYS ahead, so one wake-up opens every task due in
    the next fortnight and the journey sleeps longer (fewer history events)."""
    tp = s.playbook.touchpoint(touchpoint_id)
    if tp is None or tp.automated:
        return fire
    return fire - timedelta(days=TASK_LEAD_MIN_DAYS)


def is_milestone_touch(s: JourneyState, touchpoint_id: str) -> bool:
    tp = s.playbook.touchpoint(touchpoint_id)
    return tp is not None and bool(tp.milestones)


def _milestones(s: JourneyState, tp: Touchpoint, ctx: ScheduleContext, today: date) -> list[Firing]:
    if not eligible(tp, ctx):
        return []
    already = s.milestones_reached.get(tp.id, ())
    reached = milestones_newly_reached(tp, s.utilization, already)
    if not reached:
        return []
    business_day = next_business_day(today)
    if business_day > today:
        # Reached over a weekend: the touch goes out on Monday, when the journey wakes for it.
        s.deferred[tp.id] = business_day
        return []
    s.deferred.pop(tp.id, None)
    s.milestones_reached[tp.id] = (*already, *reached)
    return [Firing(tp, today, today, milestone) for milestone in reached]


def due(s: JourneyState, today: date) -> list[Firing]:
    """Every occurrence that happens by `today`, in the order the journey handles them."""
    cap = WeeklyCap(s.playbook.max_customer_touches_per_week, s.week_counts)
    ctx = context(s)
    touchpoints = scheduled(s)
    firings: list[Firing] = []
    # Occurrences are taken in the order of the days they fall to be handled (ties in
    # playbook order), as if the journey had woken on each of those days, so the weekly
    # cap places touches the same however its wake-ups fall (any update wakes it).
    # At most one entry per touchpoint: its next occurrence (handled day, index, raw, fire).
    pending: list[tuple[date, int, date, date]] = []

    def queue_next(index: int) -> None:
        tp = touchpoints[index]
        raw = occurrence_after(tp, ctx, s.last_due.get(tp.id))
        if raw is None:
            return
        fire = fire_date(s, tp, raw)
        handled = handled_on(s, tp.id, fire)
        if handled <= today:
            heapq.heappush(pending, (handled, index, raw, fire))

    for index, tp in enumerate(touchpoints):
        if tp.milestones:
            firings.extend(_milestones(s, tp, ctx, today))
        else:
            queue_next(index)
    while pending:
        handled, index, raw, fire = heapq.heappop(pending)
        tp = touchpoints[index]
        if not eligible(tp, ctx) or fire < today - timedelta(days=LATE_GRACE_DAYS):
            s.last_due[tp.id] = raw
            s.deferred.pop(tp.id, None)
            queue_next(index)
            continue
        if tp.customer_facing:
            placed = cap.place(fire)
            if placed > fire:
                s.deferred[tp.id] = placed
                if handled_on(s, tp.id, placed) > handled:
                    # Moved to a later week: placed for good on the day that is handled.
                    queue_next(index)
                    continue
                fire = placed
            cap.take(fire)
        s.last_due[tp.id] = raw
        s.deferred.pop(tp.id, None)
        firings.append(Firing(tp, raw, fire))
        queue_next(index)
    cap.forget_before(today - timedelta(days=14))
    s.week_counts = cap.counts
    return firings
