"""The pure scheduler (journey.schedule), then the handbook's rules checked on the default
playbooks by walking a scripted account day by day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from journey.config import playbooks_dir
from journey.domain.calendar import fiscal_quarter
from journey.domain.enums import Deployment, EngagementModel, Health, Stage
from journey.domain.playbook import OwnerRole, Playbook, Touchpoint
from journey.domain.playbook_files import load_playbooks
from journey.domain.schedule import (
    ScheduleContext,
    WeeklyCap,
    add_months,
    eligible,
    fiscal_quarter_start,
    next_business_day,
    occurrence_after,
    static_conditions_hold,
    week_start,
)

D = date


def tp(**overrides) -> Touchpoint:
    values = {"id": "t", "title": "T", "owner": "ta", "anchor": "signed"}
    values.update(overrides)
    return Touchpoint.model_validate(values)


def ctx(anchors: dict[str, date] | None = None, **overrides) -> ScheduleContext:
    values = {
        "stage": Stage.steady,
        "tier": 2,
        "health": Health.green,
        "deployment": Deployment.cloud,
        "anchors": anchors if anchors is not None else {"signed": D(2024, 3, 4)},
        "fiscal_year_start_month": 2,
    }
    values.update(overrides)
    return ScheduleContext(**values)


def occurrences(touchpoint: Touchpoint, context: ScheduleContext, limit: int = 50) -> list[date]:
    out: list[date] = []
    after = None
    while len(out) < limit:
        nxt = occurrence_after(touchpoint, context, after)
        if nxt is None:
            break
        assert after is None or nxt > after
        out.append(nxt)
        after = nxt
    return out


# --- calendar helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2023, 1, 31), 1, D(2023, 2, 28)),  # not a leap year
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2100, 1, 31), 1, D(2100, 2, 28)),  # divisible by 100: not leap
        (D(2000, 1, 31), 1, D(2000, 2, 29)),  # divisible by 400: leap
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 8, 31), 1, D(2024, 9, 30)),
        (D(2024, 1, 15), -1, D(2023, 12, 15)),
        (D(2023, 12, 15), 1, D(2024, 1, 15)),
        (D(2024, 5, 17), 0, D(2024, 5, 17)),
        (D(2024, 1, 31), 25, D(2026, 2, 28)),
        (D(2024, 1, 31), -11, D(2023, 2, 28)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2024, 6, 7), D(2024, 6, 7)),  # Friday stays
        (D(2024, 6, 8), D(2024, 6, 10)),  # Saturday -> Monday
        (D(2024, 6, 9), D(2024, 6, 10)),  # Sunday -> Monday
        (D(2024, 6, 10), D(2024, 6, 10)),  # Monday stays
        (D(2023, 12, 30), D(2024, 1, 1)),  # across the year end
        (D(2024, 3, 2), D(2024, 3, 4)),  # Saturday after a leap day
    ],
)
def test_next_business_day(day, expected):
    assert next_business_day(day) == expected
    assert next_business_day(day).weekday() < 5


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (D(2024, 2, 1), D(2024, 2, 1)),
        (D(2024, 4, 30), D(2024, 2, 1)),
        (D(2024, 5, 1), D(2024, 5, 1)),
        (D(2024, 7, 31), D(2024, 5, 1)),
        (D(2024, 8, 15), D(2024, 8, 1)),
        (D(2024, 12, 31), D(2024, 11, 1)),
        (D(2025, 1, 31), D(2024, 11, 1)),  # January is the last month of the fiscal year
    ],
)
def test_fiscal_quarter_start_february_year(day, start):
    assert fiscal_quarter_start(day, 2) == start


def test_fiscal_quarter_start_other_years():
    assert fiscal_quarter_start(D(2024, 3, 31), 1) == D(2024, 1, 1)
    assert fiscal_quarter_start(D(2024, 12, 31), 1) == D(2024, 10, 1)
    assert fiscal_quarter_start(D(2024, 1, 10), 7) == D(2024, 1, 1)
    assert fiscal_quarter_start(D(2024, 9, 30), 7) == D(2024, 7, 1)


def test_fiscal_quarter_named_by_the_year_it_ends_in():
    # Sourcegraph: FY23 runs February 2022 - January 2023.
    assert fiscal_quarter(D(2022, 2, 1), 2) == (2023, 1)
    assert fiscal_quarter(D(2022, 7, 31), 2) == (2023, 2)
    assert fiscal_quarter(D(2022, 11, 1), 2) == (2023, 4)
    assert fiscal_quarter(D(2023, 1, 31), 2) == (2023, 4)
    assert fiscal_quarter(D(2023, 2, 1), 2) == (2024, 1)
    assert fiscal_quarter(D(2024, 2, 15), 1) == (2024, 1)


# --- occurrence_after ----------------------------------------------------------------------


def test_one_shot():
    t = tp(offset_days=5)
    c = ctx({"signed": D(2024, 3, 4)})
    assert occurrence_after(t, c, None) == D(2024, 3, 9)
    assert occurrence_after(t, c, D(2024, 3, 8)) == D(2024, 3, 9)
    assert occurrence_after(t, c, D(2024, 3, 9)) is None
    assert occurrence_after(t, c, D(2030, 1, 1)) is None


def test_negative_offset_one_shot():
    t = tp(anchor="renewal_date", offset_days=-90)
    assert occurrence_after(t, ctx({"renewal_date": D(2025, 3, 4)}), None) == D(2024, 12, 4)


def test_anchor_missing():
    assert occurrence_after(tp(anchor="kickoff_held"), ctx({"signed": D(2024, 3, 4)}), None) is None
    t = tp(anchor="production_ready", recurrence={"every": "days", "interval": 7})
    assert occurrence_after(t, ctx({}), D(2024, 1, 1)) is None


def test_days():
    t = tp(anchor="kickoff_held", offset_days=7, recurrence={"every": "days", "interval": 7})
    c = ctx({"kickoff_held": D(2024, 3, 14)})
    assert occurrences(t, c, 4) == [D(2024, 3, 21), D(2024, 3, 28), D(2024, 4, 4), D(2024, 4, 11)]
    # `after` between occurrences, and far in the future.
    assert occurrence_after(t, c, D(2024, 3, 30)) == D(2024, 4, 4)
    far = occurrence_after(t, c, D(2031, 6, 1))
    assert far is not None and far > D(2031, 6, 1) and (far - D(2024, 3, 21)).days % 7 == 0
    assert far - timedelta(days=7) <= D(2031, 6, 1)


def test_weeks():
    t = tp(recurrence={"every": "weeks", "interval": 2})
    assert occurrences(t, ctx({"signed": D(2024, 3, 4)}), 3) == [D(2024, 3, 4), D(2024, 3, 18), D(2024, 4, 1)]


def test_cadence_chosen_at_kickoff_replaces_the_interval():
    t = tp(
        anchor="kickoff_held",
        offset_days=14,
        recurrence={"every": "days", "interval": 14, "cadence_from_kickoff": True},
    )
    anchors = {"kickoff_held": D(2024, 3, 14)}
    assert occurrences(t, ctx(anchors), 3) == [D(2024, 3, 28), D(2024, 4, 11), D(2024, 4, 25)]
    chosen = ctx(anchors, check_in_cadence_days=7)
    assert occurrences(t, chosen, 3) == [D(2024, 3, 28), D(2024, 4, 4), D(2024, 4, 11)]
    # Without cadence_from_kickoff the chosen cadence is ignored.
    plain = tp(anchor="kickoff_held", offset_days=14, recurrence={"every": "days", "interval": 14})
    assert occurrences(plain, chosen, 2) == [D(2024, 3, 28), D(2024, 4, 11)]


def test_months_measured_from_the_anchor_not_chained():
    t = tp(recurrence={"every": "months"})
    got = occurrences(t, ctx({"signed": D(2024, 1, 31)}), 4)
    # Feb 29 does not drag March back to the 29th.
    assert got == [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30)]


@pytest.mark.parametrize("every", ["months", "quarter", "half-year", "year"])
def test_long_horizons_never_skip_an_occurrence(every):
    # occurrence_after jumps ahead by an estimated period; months are not 30 days long, so
    # after enough years that estimate overshot and skipped occurrences (fixed in schedule.py).
    t = tp(recurrence={"every": every})
    c = ctx({"signed": D(2020, 1, 1)})
    chain = occurrences(t, c, 400 if every == "months" else 120)
    step = {"months": 1, "half-year": 6, "year": 12}.get(every)
    if step:
        assert chain == [add_months(D(2020, 1, 1), step * k) for k in range(len(chain))]
    # Jumping straight from any later date gives the next one in the chain.
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert occurrence_after(t, c, earlier + timedelta(days=3)) == later
        assert occurrence_after(t, c, earlier) == later


def test_quarter_first_occurrence_is_not_before_the_anchor():
    t = tp(anchor="onboarding_complete", offset_days=7, recurrence={"every": "quarter"})
    # Completed on Apr 18, after the Feb quarter's start: the first plan is May 1 + 7.
    c = ctx({"onboarding_complete": D(2024, 4, 18)})
    assert occurrences(t, c, 5) == [D(2024, 5, 8), D(2024, 8, 8), D(2024, 11, 8), D(2025, 2, 8), D(2025, 5, 8)]
    # Completed on May 3: May 8 is still ahead.
    assert occurrence_after(t, ctx({"onboarding_complete": D(2024, 5, 3)}), None) == D(2024, 5, 8)
    # Completed on May 8 exactly: that day counts.
    assert occurrence_after(t, ctx({"onboarding_complete": D(2024, 5, 8)}), None) == D(2024, 5, 8)
    # Completed on May 9: next quarter.
    assert occurrence_after(t, ctx({"onboarding_complete": D(2024, 5, 9)}), None) == D(2024, 8, 8)


def test_quarter_negative_tier_offset_lands_before_the_quarter():
    t = tp(
        anchor="onboarding_complete",
        offset_days=7,
        tier_offset_days={1: -14},
        recurrence={"every": "quarter"},
    )
    anchors = {"onboarding_complete": D(2024, 4, 10)}
    tier1 = occurrences(t, ctx(anchors, tier=1), 3)
    assert tier1 == [D(2024, 4, 17), D(2024, 7, 18), D(2024, 10, 18)]
    assert all(fiscal_quarter_start(d + timedelta(days=14), 2) == d + timedelta(days=14) for d in tier1)
    assert occurrences(t, ctx(anchors, tier=2), 2) == [D(2024, 5, 8), D(2024, 8, 8)]
    # Anchor after the pre-quarter date: that quarter's plan is not owed; none before the anchor.
    late = occurrences(t, ctx({"onboarding_complete": D(2024, 4, 18)}, tier=1), 2)
    assert late == [D(2024, 7, 18), D(2024, 10, 18)]


def test_quarter_follows_the_fiscal_year():
    t = tp(recurrence={"every": "quarter"})
    assert occurrences(t, ctx({"signed": D(2024, 3, 4)}, fiscal_year_start_month=1), 2) == [
        D(2024, 4, 1),
        D(2024, 7, 1),
    ]
    assert occurrences(t, ctx({"signed": D(2024, 3, 4)}, fiscal_year_start_month=2), 2) == [
        D(2024, 5, 1),
        D(2024, 8, 1),
    ]


def test_half_year_and_year():
    half = tp(anchor="kickoff_held", offset_days=30, recurrence={"every": "half-year"})
    c = ctx({"kickoff_held": D(2024, 3, 14)})
    assert occurrences(half, c, 3) == [D(2024, 4, 13), D(2024, 10, 14), D(2025, 4, 13)]
    year = tp(offset_days=300, recurrence={"every": "year"})
    c = ctx({"signed": D(2024, 3, 4)})
    assert occurrences(year, c, 3) == [D(2024, 12, 29), D(2025, 12, 29), D(2026, 12, 29)]


def test_count_exhausted():
    t = tp(anchor="production_ready", offset_days=15, recurrence={"every": "days", "interval": 15, "count": 3})
    c = ctx({"production_ready": D(2024, 4, 1)})
    assert occurrences(t, c) == [D(2024, 4, 16), D(2024, 5, 1), D(2024, 5, 16)]
    assert occurrence_after(t, c, D(2024, 5, 16)) is None
    assert occurrence_after(t, c, D(2026, 1, 1)) is None
    quarterly = tp(recurrence={"every": "quarter", "count": 2})
    assert len(occurrences(quarterly, ctx({"signed": D(2024, 3, 4)}))) == 2


def test_milestone_touchpoints_are_not_timed():
    t = tp(owner="automated", channel="email", milestones=[0.25, 0.5])
    assert occurrence_after(t, ctx({"signed": D(2024, 3, 4)}), None) is None


def test_anchor_moves_later_gives_the_new_date():
    # A new term moves the renewal date: the next value review follows it.
    t = tp(anchor="renewal_date", offset_days=-90)
    first = occurrence_after(t, ctx({"renewal_date": D(2025, 3, 4)}), None)
    assert occurrence_after(t, ctx({"renewal_date": D(2026, 3, 4)}), first) == D(2025, 12, 4)


# --- eligible --------------------------------------------------------------------------------


def test_eligible_stage_window():
    t = tp(stages=["adoption", "steady"])
    assert eligible(t, ctx(stage=Stage.adoption))
    assert not eligible(t, ctx(stage=Stage.onboarding))
    assert not eligible(t, ctx(stage=Stage.renewal))
    # No stages listed: any active stage, but never after the journey ended.
    free = tp()
    assert eligible(free, ctx(stage=Stage.signed))
    assert not eligible(free, ctx(stage=Stage.churned))
    assert not eligible(free, ctx(stage=Stage.renewed))


def test_eligible_tier():
    t = tp(tiers=[1])
    assert eligible(t, ctx(tier=1))
    assert not eligible(t, ctx(tier=2))
    assert not static_conditions_hold(t, ctx(tier=3))


def test_eligible_health():
    t = tp(health=["red"])
    assert eligible(t, ctx(health=Health.red))
    assert not eligible(t, ctx(health=Health.yellow))
    assert not eligible(t, ctx(health=Health.green))


def test_eligible_deployment():
    t = tp(deployments=["self-hosted"])
    assert eligible(t, ctx(deployment=Deployment.self_hosted))
    assert not eligible(t, ctx(deployment=Deployment.cloud))


def test_eligible_requires():
    t = tp(requires=["onboarding_complete"])
    assert not eligible(t, ctx({"signed": D(2024, 3, 4)}))
    assert eligible(t, ctx({"signed": D(2024, 3, 4), "onboarding_complete": D(2024, 4, 18)}))


# --- WeeklyCap ---------------------------------------------------------------------------------


def test_weekly_cap_moves_the_fourth_touch_to_next_monday():
    cap = WeeklyCap(limit=3)
    placed = []
    for day in (D(2024, 6, 3), D(2024, 6, 4), D(2024, 6, 5), D(2024, 6, 6)):  # Mon-Thu
        spot = cap.place(day)
        cap.take(spot)
        placed.append(spot)
    assert placed == [D(2024, 6, 3), D(2024, 6, 4), D(2024, 6, 5), D(2024, 6, 10)]
    assert cap.counts == {D(2024, 6, 3): 3, D(2024, 6, 10): 1}


def test_weekly_cap_skips_full_weeks_and_weekends():
    cap = WeeklyCap(limit=1, counts={D(2024, 6, 3): 1, D(2024, 6, 10): 1})
    assert cap.place(D(2024, 6, 8)) == D(2024, 6, 17)  # Saturday, next week full too
    assert cap.place(D(2024, 6, 1)) == D(2024, 6, 17)  # Saturday before: Monday's week is full
    cap.forget_before(D(2024, 6, 12))
    assert cap.counts == {D(2024, 6, 10): 1}
    assert week_start(D(2024, 6, 16)) == D(2024, 6, 10)


# --- Handbook rules on the default playbooks ------------------------------------------------


@dataclass(frozen=True)
class Script:
    """A fixed account history, in days after signature."""

    signed: date = D(2024, 3, 4)
    term_days: int = 365
    tier: int = 1
    deployment: Deployment = Deployment.self_hosted
    kickoff_day: int | None = 10
    production_day: int | None = 30
    onboarding_day: int | None = 45
    check_in_cadence_days: int | None = None
    red: tuple[tuple[int, int], ...] = ()  # (first red day, first day back to yellow)
    adoption_window_days: int = 60
    renewal_window_days: int = 90
    fiscal_year_start_month: int = 2

    def day(self, n: int | None) -> date | None:
        return None if n is None else self.signed + timedelta(days=n)

    def renewal_dates(self) -> list[date]:
        """Renewal dates of successive terms (every term renews)."""
        return [add_months(self.signed, 12 * k) for k in range(1, 10)]


def context_on(script: Script, today: date) -> ScheduleContext:
    """The account's stage, health and anchor dates on `today`, as the journey would have them."""
    anchors: dict[str, date] = {"signed": script.signed, "term_start": script.signed}
    stage, entered = Stage.kickoff, script.signed  # enrolment moves signed -> kickoff at once
    events: list[tuple[date, str]] = []
    for name, n in (
        ("kickoff_held", script.kickoff_day),
        ("production_ready", script.production_day),
        ("onboarding_complete", script.onboarding_day),
    ):
        if n is not None:
            events.append((script.day(n), name))
    if script.production_day is not None:
        events.append((script.day(script.production_day + script.adoption_window_days), "adoption_judged"))
    for renewal in script.renewal_dates():
        events.append((renewal - timedelta(days=script.renewal_window_days), "open_renewal"))
        events.append((renewal, "renewed"))
    stage_entered: dict[str, date] = {"kickoff": script.signed}
    renewal = script.renewal_dates()[0]
    order = {"kickoff_held": 0, "production_ready": 1, "onboarding_complete": 2}
    for when, name in sorted(events, key=lambda e: (e[0], order.get(e[1], 9))):
        if when > today:
            break
        new_stage = None
        if name in order:
            anchors[name] = when
            if name == "kickoff_held" and stage in (Stage.signed, Stage.kickoff):
                new_stage = Stage.onboarding
            if name == "production_ready" and stage in (Stage.signed, Stage.kickoff, Stage.onboarding):
                new_stage = Stage.adoption
                anchors["adoption_deadline"] = when + timedelta(days=script.adoption_window_days)
        elif name == "adoption_judged" and stage is Stage.adoption:
            new_stage = Stage.steady
        elif name == "open_renewal" and stage in (Stage.kickoff, Stage.onboarding, Stage.adoption, Stage.steady):
            new_stage = Stage.renewal
        elif name == "renewed":
            new_stage = Stage.steady  # renewed, then at once a new term in steady
            anchors["term_start"] = when
            renewal = add_months(when, 12)
        if new_stage is not None and new_stage is not stage:
            stage, entered = new_stage, when
            stage_entered[stage.value] = entered
    anchors["renewal_date"] = renewal
    for name, at in stage_entered.items():
        anchors[f"stage:{name}"] = at
    health = Health.green
    for start, end in script.red:
        if script.day(start) <= today < script.day(end):
            health = Health.red
            anchors["red"] = script.day(start)
    return ScheduleContext(
        stage=stage,
        tier=script.tier,
        health=health,
        deployment=script.deployment,
        anchors=anchors,
        fiscal_year_start_month=script.fiscal_year_start_month,
        check_in_cadence_days=script.check_in_cadence_days,
    )


def walk(playbook: Playbook, script: Script, days: int = 456) -> dict[str, list[date]]:
    """Walk day by day over `days` (default about 15 months) and collect the raw due dates of
    the touchpoint occurrences that fired. As in the journey: an occurrence is handled on its
    business day; if the touchpoint is not eligible then, that occurrence is skipped."""
    last: dict[str, date] = {}
    fired: dict[str, list[date]] = defaultdict(list)
    for n in range(days):
        today = script.signed + timedelta(days=n)
        context = context_on(script, today)
        for touchpoint in playbook.touchpoints:
            while True:
                due = occurrence_after(touchpoint, context, last.get(touchpoint.id))
                if due is None or next_business_day(due) > today:
                    break
                last[touchpoint.id] = due
                if eligible(touchpoint, context):
                    fired[touchpoint.id].append(due)
    return dict(fired)


@pytest.fixture(scope="module")
def playbooks() -> dict[EngagementModel, Playbook]:
    return load_playbooks(playbooks_dir())


SIGNED_DATES = [D(2024, 3, 4), D(2024, 1, 15), D(2023, 10, 30), D(2024, 7, 22)]


def test_context_script_follows_the_lifecycle():
    script = Script()
    assert context_on(script, script.day(0)).stage is Stage.kickoff
    assert context_on(script, script.day(10)).stage is Stage.onboarding
    assert context_on(script, script.day(30)).stage is Stage.adoption
    assert context_on(script, script.day(89)).stage is Stage.adoption
    assert context_on(script, script.day(90)).stage is Stage.steady
    renewal = add_months(script.signed, 12)
    assert context_on(script, renewal - timedelta(days=91)).stage is Stage.steady
    assert context_on(script, renewal - timedelta(days=90)).stage is Stage.renewal
    after = context_on(script, renewal)
    assert after.stage is Stage.steady
    assert after.anchors["renewal_date"] == add_months(script.signed, 24)
    assert after.anchors["term_start"] == renewal


@pytest.mark.parametrize("signed", SIGNED_DATES)
@pytest.mark.parametrize("tier", [1, 2, 3])
def test_account_plan_once_per_quarter_after_onboarding(playbooks, signed, tier):
    script = Script(signed=signed, tier=tier)
    onboarded = script.day(script.onboarding_day)
    last_day = script.day(455)
    plans = walk(playbooks[EngagementModel.enterprise], script)["account-plan"]
    assert plans and all(d >= onboarded for d in plans)
    # Tier 1 plans two weeks before the quarter (ready for the internal QBR); tiers 2-3 a
    # week into the quarter. `quarters` is the fiscal quarter each plan is for.
    offset = timedelta(days=-14 if tier == 1 else 7)
    quarters = [d - offset for d in plans]
    assert all(fiscal_quarter_start(q, 2) == q for q in quarters)
    if tier == 1:
        assert all(d < q for d, q in zip(plans, quarters, strict=True))
    else:
        assert all(fiscal_quarter_start(d, 2) == q < d for d, q in zip(plans, quarters, strict=True))
    # Exactly one per fiscal quarter, no quarter missed ...
    assert quarters == [add_months(quarters[0], 3 * k) for k in range(len(quarters))]
    # ... from the first slot not before onboarding completed ...
    first = fiscal_quarter_start(onboarded, 2)
    while first + offset < onboarded:
        first = add_months(first, 3)
    assert quarters[0] == first
    # ... to the end of the walk.
    assert next_business_day(add_months(quarters[-1], 3) + offset) > last_day


def test_no_account_plan_until_onboarding_completes(playbooks):
    never = walk(playbooks[EngagementModel.enterprise], Script(onboarding_day=None))
    assert "account-plan" not in never
    late = walk(playbooks[EngagementModel.enterprise], Script(onboarding_day=200))
    assert min(late["account-plan"]) >= Script().day(200)


@pytest.mark.parametrize("signed", SIGNED_DATES)
def test_qbr_each_quarter_for_tier_1_only(playbooks, signed):
    enterprise = playbooks[EngagementModel.enterprise]
    script = Script(signed=signed, tier=1)
    qbrs = walk(enterprise, script)["qbr"]
    production = script.day(script.production_day)
    assert all(d >= production for d in qbrs)
    quarters = [fiscal_quarter_start(d, 2) for d in qbrs]
    assert all(d == q + timedelta(days=21) for d, q in zip(qbrs, quarters, strict=True))
    assert quarters == [add_months(quarters[0], 3 * k) for k in range(len(quarters))]
    assert 4 <= len(qbrs) <= 5  # 15 months from signature
    for tier in (2, 3):
        assert "qbr" not in walk(enterprise, replace(script, tier=tier))


@pytest.mark.parametrize("signed", SIGNED_DATES)
def test_value_report_before_value_review_90_days_before_renewal(playbooks, signed):
    script = Script(signed=signed)
    fired = walk(playbooks[EngagementModel.enterprise], script)
    renewal = add_months(signed, 12)
    assert fired["value-review"] == [renewal - timedelta(days=90)]
    assert len(fired["value-report"]) == 1
    assert fired["value-report"][0] < fired["value-review"][0]
    review = playbooks[EngagementModel.enterprise].touchpoint("value-review")
    assert review.owner is OwnerRole.value_engineering and review.customer_facing


def test_renewal_assessment_monthly_in_the_renewal_stage(playbooks):
    script = Script()
    renewal = add_months(script.signed, 12)
    opened = renewal - timedelta(days=90)
    got = walk(playbooks[EngagementModel.enterprise], script)["renewal-assessment"]
    assert got == [opened, add_months(opened, 1), add_months(opened, 2)]
    assert all(opened <= d < renewal for d in got)


@pytest.mark.parametrize("model", [EngagementModel.scaled, EngagementModel.pooled])
@pytest.mark.parametrize("signed", SIGNED_DATES)
def test_scaled_and_pooled_reviews_per_year(playbooks, model, signed):
    script = Script(signed=signed, tier=2, deployment=Deployment.cloud)
    fired = walk(playbooks[model], script, days=3 * 365)
    for k in range(3):
        year_start, year_end = add_months(signed, 12 * k), add_months(signed, 12 * (k + 1))

        def in_year(ids, start=year_start, stop=year_end):
            return [d for d in fired[ids] if start <= d < stop]

        assert len(in_year("success-planning")) == 2, k  # bi-annual success planning
        assert len(in_year("roadmap-review")) == 2, k  # bi-annual roadmap review
        assert len(in_year("business-review")) == 1, k  # annual business review
    kickoff = script.day(script.kickoff_day)
    assert fired["success-planning"] == [add_months(kickoff, 6 * k) + timedelta(days=30) for k in range(6)]
    assert fired["roadmap-review"] == [add_months(signed, 6 * k) + timedelta(days=120) for k in range(6)]
    assert fired["business-review"] == [add_months(signed, 12 * k) + timedelta(days=300) for k in range(3)]
    fifteen = walk(playbooks[model], script)
    assert len(fifteen["business-review"]) == 1
    assert len(fifteen["success-planning"]) >= 2
    assert len(fifteen["roadmap-review"]) == 2
    # One lightweight kickoff; six weekly nurture emails from production ready.
    assert fifteen["kickoff-call"] == [signed + timedelta(days=7)]
    production = script.day(script.production_day)
    assert fifteen["nurture-email"] == [production + timedelta(days=7 * k) for k in range(6)]


@pytest.mark.parametrize("signed", SIGNED_DATES)
def test_digital_journey_has_no_human_owner(playbooks, signed):
    digital = playbooks[EngagementModel.digital]
    fired = walk(digital, Script(signed=signed, tier=3, deployment=Deployment.cloud, red=((100, 130),)))
    assert fired, "the digital journey fires touchpoints"
    for ids in fired:
        touchpoint = digital.touchpoint(ids)
        assert touchpoint.owner is OwnerRole.automated, ids
        assert touchpoint.channel.value in ("email", "slack"), ids
    assert fired["nurture-email"] == [signed + timedelta(days=1 + 7 * k) for k in range(8)]
    assert fired["red-alert"] == [signed + timedelta(days=100)]
    assert len(fired["announcement"]) == 5


def test_deployment_follow_up_until_production_ready_self_hosted_only(playbooks):
    enterprise = playbooks[EngagementModel.enterprise]
    script = Script()
    follow_ups = walk(enterprise, script)["deployment-follow-up"]
    kickoff = script.day(script.kickoff_day)
    assert follow_ups == [kickoff + timedelta(days=7), kickoff + timedelta(days=14)]  # days 17, 24
    assert all(d < script.day(script.production_day) for d in follow_ups)
    assert "deployment-follow-up" not in walk(enterprise, replace(script, deployment=Deployment.cloud))
    # Production never ready: weekly follow-ups continue.
    stuck = walk(enterprise, replace(script, production_day=None, onboarding_day=None), days=120)
    assert len(stuck["deployment-follow-up"]) == len(range(17, 120, 7))


def test_enterprise_onboarding_sequence(playbooks):
    script = Script()
    fired = walk(playbooks[EngagementModel.enterprise], script)
    assert fired["license-key"] == [script.signed]
    assert fired["kickoff-call"] == [script.day(5)]
    assert fired["onboarding-plan"] == [script.day(17)]
    production = script.day(30)
    assert fired["training-admin"] == [production + timedelta(days=3)]
    assert fired["training-101"] == [production + timedelta(days=7)]
    assert fired["training-102"] == [production + timedelta(days=28)]
    # Three adoption reviews inside the 60-day window.
    reviews = fired["adoption-review"]
    assert reviews == [production + timedelta(days=15 * k) for k in (1, 2, 3)]
    assert all(d < production + timedelta(days=60) for d in reviews)


def test_check_in_follows_the_cadence_chosen_at_kickoff(playbooks):
    enterprise = playbooks[EngagementModel.enterprise]
    default = walk(enterprise, Script(), days=100)["check-in"]
    assert default[:3] == [Script().day(24), Script().day(38), Script().day(52)]
    weekly = walk(enterprise, Script(check_in_cadence_days=7), days=100)["check-in"]
    assert weekly[:3] == [Script().day(24), Script().day(31), Script().day(38)]
    assert len(weekly) > len(default)


def test_red_follow_ups_stop_when_promoted(playbooks):
    script = Script(red=((200, 230),))
    fired = walk(playbooks[EngagementModel.enterprise], script)
    assert fired["red-alert"] == [script.day(200)]
    assert fired["red-action-plan"] == [script.day(202)]
    assert fired["red-follow-up"] == [script.day(n) for n in (207, 214, 221, 228)]


def test_schedule_does_not_depend_on_the_current_date(playbooks):
    # The scheduler is pure: the real date must not leak in (the workflow passes its own).
    enterprise = playbooks[EngagementModel.enterprise]
    with freeze_time("2019-01-01"):
        before = walk(enterprise, Script(), days=200)
    with freeze_time("2031-07-15"):
        after = walk(enterprise, Script(), days=200)
    assert before == after
