"""The exact touchpoint calendar of each engagement model over 21 months, via `simulate`.

One account per case, signed on a Monday, is simulated for 660 days with the events of
a normal first term: kickoff a week after signature (with the check-in cadence chosen
there), production ready at +21, onboarding complete at +45, a red episode of 20 days
at +150, and the renewal closed (renewed) 20 days before the renewal date, so the
journey carries on into a second term, whose renewal stage (a year later) opens
before the simulation ends. Usage rows meet the 80% adoption target in some
cases and miss it in others.

The expected calendar is computed here, from the handbook rules as the default
playbooks encode them (offsets and windows are written out below, not read from the
engine), then moved off weekends and through the weekly cap for customer-facing
touches. Every touchpoint id of every case is its own test, so a deviation of the
engine from a rule is one precise strict xfail, not a hole in the rest.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from journey.domain.models import Account
from journey.files import EventRow, UsageRow
from journey.temporal.simulate import SimulationResult, simulate

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"

DAY = timedelta(days=1)
SIGNED = date(2026, 3, 2)  # a Monday
RENEWAL = date(2027, 3, 2)  # a one-year first term
SECOND_RENEWAL = date(2028, 3, 2)  # renewed without a new date: a year after the first
# Customer emails go to a contact's address; without one they are skipped, not in the calendar.
CHAMPION = {"name": "Chris Champion", "email": "chris@customer.example", "role": "champion"}
DAYS = 660  # 21.7 months: the first term, its renewal, and the second term into its renewal stage
END = SIGNED + DAYS * DAY

KICKOFF = SIGNED + 7 * DAY
PRODUCTION = SIGNED + 21 * DAY
ONBOARDED = SIGNED + 45 * DAY
RED_ON = SIGNED + 150 * DAY  # a Thursday
GREEN_ON = RED_ON + 20 * DAY
CLOSED = RENEWAL - 20 * DAY  # renewal_closed: renewed
SEATS = 200

# --- The rules (handbook facts, as the default playbooks encode them) -------------------
FISCAL_YEAR_START_MONTH = 2  # quarters are named like "Q2FY23": the fiscal year starts in February
WEEKLY_CAP = 3  # customer-facing touches per ISO week (all four playbooks)
TASK_LEAD = 14 * DAY  # tasks for people are opened (scheduled) two weeks before they are due
ADOPTION_WINDOW = 60 * DAY  # 80% utilization within 60 days of production ready
ADOPTION_TARGET = 0.8
RENEWAL_WINDOW = 90 * DAY  # the renewal stage opens 90 days before the renewal date
MILESTONES = (0.25, 0.5, 0.8)  # usage-milestone enablement (scaled, pooled, digital)

# Customer-facing touchpoints, in each playbook's order (ties within one day go in this order).
CUSTOMER_FACING = {
    "enterprise": [
        "kickoff-call", "training-admin", "training-101", "training-102", "check-in",
        "adoption-review", "qbr", "value-review",
    ],
    "scaled": ["kickoff-call", "success-planning", "business-review", "roadmap-review", "value-review"],
    "pooled": ["kickoff-call", "success-planning", "business-review", "roadmap-review", "value-review"],
    "digital": [],
}
AUTOMATED = {"nurture-email", "enablement", "announcement", "red-alert"}  # recorded on the day, not 14 days ahead
HUMAN_OWNED = {
    "kickoff-call", "onboarding-plan", "training-101", "training-102", "training-admin", "check-in",
    "deployment-follow-up", "adoption-review", "account-plan", "qbr", "value-report", "value-review",
    "renewal-assessment", "success-planning", "business-review", "roadmap-review", "red-action-plan",
    "red-follow-up",
}

# The stages each touchpoint may happen in (its window); a recorded `stage` must be one of them.
ACTIVE = ("kickoff", "onboarding", "adoption", "steady", "renewal")
WINDOWS = {
    "kickoff-call": ("signed", "kickoff"),
    "onboarding-plan": ("onboarding", "adoption"),
    "training-admin": ("onboarding", "adoption", "steady"),
    "training-101": ("onboarding", "adoption", "steady"),
    "training-102": ("onboarding", "adoption", "steady"),
    "check-in": ("onboarding", "adoption", "steady", "renewal"),
    "deployment-follow-up": ("kickoff", "onboarding"),
    "adoption-review": ("adoption",),
    "account-plan": ("adoption", "steady", "renewal"),
    "qbr": ("adoption", "steady", "renewal"),
    "renewal-assessment": ("renewal",),
}
NURTURE_WINDOW = {"scaled": ("onboarding", "adoption"), "pooled": ("onboarding", "adoption"), "digital": ACTIVE}


# --- Calendar arithmetic, written out here (not imported from journey.schedule) ---------


def off_weekend(day: date) -> date:
    """Saturday and Sunday move to Monday."""
    return day + (7 - day.weekday()) * DAY if day.weekday() >= 5 else day


def monday(day: date) -> date:
    return day - day.weekday() * DAY


def plus_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def fiscal_quarter_starts(first: date, last: date) -> list[date]:
    """The first days of the fiscal quarters (Feb, May, Aug, Nov 1) from `first`'s quarter on."""
    months = [m for m in range(1, 13) if (m - FISCAL_YEAR_START_MONTH) % 3 == 0]
    starts = [date(y, m, 1) for y in range(first.year - 1, last.year + 2) for m in months]
    return [q for q in starts if plus_months(q, 3) > first and q <= last]


def fiscal_quarter_of(day: date) -> date:
    return max(q for q in fiscal_quarter_starts(day - 120 * DAY, day) if q <= day)


def every(first: date, step: timedelta, *, before: date, count: int | None = None) -> list[date]:
    out: list[date] = []
    day = first
    while day <= before and (count is None or len(out) < count):
        out.append(day)
        day += step
    return out


def monthly(first: date, *, before: date) -> list[date]:
    out, k = [], 0
    while plus_months(first, k) < before:
        out.append(plus_months(first, k))
        k += 1
    return out


def apply_weekly_cap(
    wanted: dict[str, list[tuple[date, date]]], order: list[str], limit: int = WEEKLY_CAP
) -> dict[str, list[date]]:
    """Customer-facing touches beyond `limit` in an ISO week move to the next week with room
    (its Monday). First come, first served in the order the touches are scheduled: a task
    is scheduled `TASK_LEAD` before its date (or when its anchor becomes known, if later),
    ties within a day in playbook order, each touchpoint's occurrences one after the other.
    A touch moved to a later week is placed for good when that date is `TASK_LEAD` away.

    `wanted[tp]` is [(date off weekends, day the anchor became known)].
    """
    queues = {tp: deque(sorted(wanted.get(tp, []))) for tp in order}
    taken: Counter[date] = Counter()
    moved: dict[str, date] = {}
    placed: dict[str, list[date]] = defaultdict(list)
    pending = [known for items in queues.values() for _, known in items]
    if not pending:
        return {}
    today = min(pending)
    last = max(day for items in queues.values() for day, _ in items) + 120 * DAY
    while today <= last:
        for tp in order:
            queue = queues[tp]
            while queue:
                due, known = queue[0]
                due = max(due, moved.get(tp, due))
                if known > today or due - TASK_LEAD > today:
                    break
                slot = due
                while taken[monday(slot)] >= limit:
                    slot = monday(slot) + 7 * DAY
                if slot > due:
                    moved[tp] = slot
                    if slot - TASK_LEAD > today:
                        break
                taken[monday(slot)] += 1
                placed[tp].append(slot)
                moved.pop(tp, None)
                queue.popleft()
        today += DAY
    return placed


# --- The cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    model: str
    segment: str
    tier: int
    deployment: str
    cadence: int  # check-in cadence chosen at kickoff (days)
    peak_mau: int  # MAU reported 50 days after production ready
    explicit_model: bool = False

    @property
    def adoption_met(self) -> bool:
        return self.peak_mau / SEATS >= ADOPTION_TARGET


CASES = {
    # Weekly check-ins; adoption met.
    "enterprise-tier1": Case("enterprise", "strategic", 1, "self-hosted", cadence=7, peak_mau=180),
    # Check-ins every 4 days: the weekly cap moves some touches; adoption missed.
    "enterprise-tier2": Case("enterprise", "large-enterprise", 2, "cloud", cadence=4, peak_mau=120),
    "scaled": Case("scaled", "small-enterprise", 2, "cloud", cadence=14, peak_mau=180, explicit_model=True),
    "pooled": Case("pooled", "small-enterprise", 3, "self-hosted", cadence=14, peak_mau=120),
    "digital": Case("digital", "commercial", 3, "cloud", cadence=14, peak_mau=180),
}

def usage_mau(case: Case) -> list[tuple[date, int]]:
    return [(PRODUCTION + 10 * DAY, 60), (PRODUCTION + 30 * DAY, 110), (PRODUCTION + 50 * DAY, case.peak_mau)]


def account_of(name: str, case: Case) -> Account:
    return Account.model_validate(
        {
            "id": f"cal-{name}",
            "name": f"Calendar {name}",
            "segment": case.segment,
            "tier": case.tier,
            "seats": SEATS,
            "arr": 150_000,
            "signed": SIGNED,
            "renewal": RENEWAL,
            "ta": "ana.ta",
            "ae": "sam.ae",
            "deployment": case.deployment,
            "contacts": [CHAMPION],
            **({"model": case.model} if case.explicit_model else {}),
        }
    )


def events_of(account: str, case: Case) -> list[EventRow]:
    def event(day: date, name: str, **data: object) -> EventRow:
        return EventRow(account=account, date=day, event=name, data={"on": day.isoformat(), **data})

    return [
        event(KICKOFF, "kickoff_held", check_in_cadence_days=case.cadence),
        event(PRODUCTION, "production_ready"),
        event(ONBOARDED, "onboarding_complete"),
        event(RED_ON, "set_health", color="red", reason="champion left"),
        event(GREEN_ON, "set_health", color="green", reason="new champion onboarded"),
        event(CLOSED, "renewal_closed", outcome="renewed"),
    ]


def usage_of(account: str, case: Case) -> list[UsageRow]:
    return [UsageRow(account=account, date=day, dau=mau // 2, mau=mau) for day, mau in usage_mau(case)]


_RESULTS: dict[str, SimulationResult] = {}
_LOCK = asyncio.Lock()


async def simulated(name: str) -> SimulationResult:
    """Each case is simulated once per session (its own time-skipping server, ~2 s)."""
    async with _LOCK:
        if name not in _RESULTS:
            _RESULTS[name] = await run_case(name)
        return _RESULTS[name]


async def run_case(name: str) -> SimulationResult:
    case = CASES[name]
    account = account_of(name, case)
    return await simulate(
        [account], start=SIGNED, days=DAYS, usage=usage_of(account.id, case), events=events_of(account.id, case)
    )


# --- The expected calendar -----------------------------------------------------------------


@dataclass
class Expected:
    touchpoints: dict[str, list[date]] = field(default_factory=dict)
    stages: list[tuple[str, date]] = field(default_factory=list)
    health: list[tuple[str, date]] = field(default_factory=list)
    before_cap: dict[str, list[date]] = field(default_factory=dict)


def renewal_dates() -> list[date]:
    # Renewed without a new date: the next renewal is a year after the current one.
    return [RENEWAL, plus_months(RENEWAL, 12)]


def renewal_windows() -> list[tuple[date, date]]:
    """(the renewal stage opens, it closes or the simulation ends) for each term."""
    return [(RENEWAL - RENEWAL_WINDOW, CLOSED), (SECOND_RENEWAL - RENEWAL_WINDOW, END + DAY)]


def expected_calendar(case: Case) -> Expected:
    model = case.model
    deadline = PRODUCTION + ADOPTION_WINDOW
    renewal_opens = RENEWAL - RENEWAL_WINDOW
    quarters = fiscal_quarter_starts(SIGNED, END + 120 * DAY)
    # Raw dates by rule, and when each touchpoint's anchor became known to the journey.
    raw: dict[str, list[date]] = {}
    known: dict[str, date] = {}

    def rule(tp: str, dates: list[date], anchor_known: date = SIGNED) -> None:
        raw[tp] = dates
        known[tp] = anchor_known

    # Post-Sales Engagement Kickoff: "Generate a full license key" at signature.
    rule("license-key", [SIGNED])
    if model == "enterprise":
        # Kickoff call right after signature (+5), while the kickoff has not been held.
        rule("kickoff-call", [SIGNED + 5 * DAY])
        # The user onboarding plan, a week after the kickoff that agreed it.
        rule("onboarding-plan", [KICKOFF + 7 * DAY], KICKOFF)
        # Core trainings once production is up: admin (+3), 101 (+7), 102 (+28).
        rule("training-admin", [PRODUCTION + 3 * DAY], PRODUCTION)
        rule("training-101", [PRODUCTION + 7 * DAY], PRODUCTION)
        rule("training-102", [PRODUCTION + 28 * DAY], PRODUCTION)
        # Check-ins at the cadence chosen on the kickoff call, from two weeks after it.
        rule("check-in", every(KICKOFF + 14 * DAY, case.cadence * DAY, before=END), KICKOFF)
        # Deployment follow-up weekly (self-hosted only) while production is not ready.
        follow_ups = every(KICKOFF + 7 * DAY, 7 * DAY, before=PRODUCTION) if case.deployment == "self-hosted" else []
        rule("deployment-follow-up", follow_ups, KICKOFF)
        # Three adoption reviews in the 60-day window: days 15, 30 and 45.
        rule("adoption-review", every(PRODUCTION + 15 * DAY, 15 * DAY, before=deadline, count=3), PRODUCTION)
        # Account plan once a fiscal quarter, none before onboarding is complete:
        # tier 1 fourteen days before the quarter starts (before the internal QBR),
        # tiers 2-3 a week into the quarter.
        offset = -14 if case.tier == 1 else 7
        rule("account-plan", [q + offset * DAY for q in quarters if q + offset * DAY > ONBOARDED], ONBOARDED)
        # QBR: tier 1 only, three weeks into each fiscal quarter, once in production.
        qbrs = [q + 21 * DAY for q in quarters if q + 21 * DAY >= PRODUCTION] if case.tier == 1 else []
        rule("qbr", qbrs, PRODUCTION)
        # Value engineering: the value realization review 90 days before each renewal,
        # its report two weeks before that.
        rule("value-report", [r - 104 * DAY for r in renewal_dates()])
        rule("value-review", [r - 90 * DAY for r in renewal_dates()])
    elif model in ("scaled", "pooled"):
        # Lightweight kickoff a week after signature.
        rule("kickoff-call", [SIGNED + 7 * DAY])
        # Digitally nurtured end-user onboarding: weekly for six weeks from production ready.
        rule("nurture-email", every(PRODUCTION, 7 * DAY, before=END, count=6), PRODUCTION)
        # Success planning twice a year, from a month after kickoff.
        rule("success-planning", [plus_months(KICKOFF, 6 * k) + 30 * DAY for k in range(4)], KICKOFF)
        # Annual business review, ten months into each contract year.
        rule("business-review", [plus_months(SIGNED, 12 * k) + 300 * DAY for k in range(2)])
        # Roadmap review and product feedback twice a year, from four months after signature.
        rule("roadmap-review", [plus_months(SIGNED, 6 * k) + 120 * DAY for k in range(4)])
        # Feature and beta announcements two weeks into each fiscal quarter.
        rule("announcement", [q + 14 * DAY for q in quarters if q + 14 * DAY >= SIGNED])
        # The AE's value review with the champion / economic buyer 90 days before renewal.
        rule("value-review", [r - 90 * DAY for r in renewal_dates()])
    else:  # digital: best practices, tips and milestone content, all automated
        rule("nurture-email", every(SIGNED + DAY, 7 * DAY, before=END, count=8))
        rule("announcement", [q + 14 * DAY for q in quarters if q + 14 * DAY >= SIGNED])

    if model != "digital":
        # Monthly renewal health assessment while in the renewal stage (of each term).
        assessments = [d for opens, closes in renewal_windows() for d in monthly(opens, before=closes)]
        rule("renewal-assessment", assessments, renewal_opens)

    # Usage-milestone enablement: one touch as utilization first reaches each milestone.
    if model != "enterprise":
        reached = []
        for milestone in MILESTONES:
            first = next((day for day, mau in usage_mau(case) if mau / SEATS >= milestone), None)
            if first is not None:
                reached.append(first)
        rule("enablement", reached, PRODUCTION)

    # Red Accounts: the post at once; AE and TA's action plan two days later; weekly
    # follow-ups only while the account stays red. Digital: the automatic post only.
    rule("red-alert", [RED_ON], RED_ON)
    if model != "digital":
        rule("red-action-plan", [RED_ON + 2 * DAY], RED_ON)
        rule("red-follow-up", every(RED_ON + 7 * DAY, 7 * DAY, before=GREEN_ON - DAY), RED_ON)

    # Every date moves off weekends (the red alert is a post made the moment it turns red).
    dates = {tp: [off_weekend(d) if tp != "red-alert" else d for d in days] for tp, days in raw.items()}
    # Then the weekly cap, over the customer-facing touches.
    order = CUSTOMER_FACING[model]
    before_cap = {tp: sorted(d for d in days if SIGNED <= d <= END) for tp, days in dates.items()}
    capped = apply_weekly_cap({tp: [(d, known[tp]) for d in dates[tp]] for tp in order if tp in dates}, order)
    for tp in order:
        if tp in dates:
            dates[tp] = capped.get(tp, [])
    touchpoints = {tp: sorted(d for d in days if SIGNED <= d <= END) for tp, days in dates.items()}

    stages = [
        ("kickoff", SIGNED),
        ("onboarding", KICKOFF),
        ("adoption", PRODUCTION),
        ("steady", deadline),
        ("renewal", renewal_opens),
        ("renewed", CLOSED),
        ("steady", CLOSED),
        ("renewal", SECOND_RENEWAL - RENEWAL_WINDOW),
    ]
    health = [] if case.adoption_met else [("yellow", deadline)]
    health += [("red", RED_ON), ("green", GREEN_ON)]
    return Expected(touchpoints=touchpoints, stages=stages, health=health, before_cap=before_cap)


def playbook_ids(model: str) -> list[str]:
    data = tomllib.loads((PLAYBOOKS / f"{model}.toml").read_text(encoding="utf-8"))
    return [tp["id"] for tp in data["touchpoints"]]


# --- Known deviations of the engine from the rules (strict: they fail loudly once fixed) ---

# None at present: a (case, touchpoint id) maps to its strict xfail mark.
KNOWN_DEVIATIONS: dict[tuple[str, str], pytest.MarkDecorator] = {}


def calendar_params() -> list[object]:
    params = []
    for name, case in CASES.items():
        for tp in playbook_ids(case.model):
            mark = KNOWN_DEVIATIONS.get((name, tp))
            params.append(pytest.param(name, tp, id=f"{name}-{tp}", marks=[mark] if mark else []))
    return params


def dues(result: SimulationResult, touchpoint: str) -> list[date]:
    return [t.due for t in result.touchpoints if t.touchpoint == touchpoint]


# --- Tests ---------------------------------------------------------------------------------


async def test_the_cases_cover_every_model_and_the_rules_are_not_vacuous() -> None:
    assert {case.model for case in CASES.values()} == {"enterprise", "scaled", "pooled", "digital"}
    assert DAYS >= 15 * 31
    assert SECOND_RENEWAL - RENEWAL_WINDOW <= END  # the second term's renewal stage is simulated too
    tier2 = expected_calendar(CASES["enterprise-tier2"])
    # The tier-2 case is built so the weekly cap actually moves touches; tier 1's never binds.
    assert tier2.touchpoints["check-in"] != tier2.before_cap["check-in"], "the cap never binds in the tier-2 case"
    tier1 = expected_calendar(CASES["enterprise-tier1"])
    assert tier1.touchpoints == tier1.before_cap
    counts = Counter(monday(d) for tp in CUSTOMER_FACING["enterprise"] for d in tier2.touchpoints.get(tp, []))
    assert max(counts.values()) == WEEKLY_CAP


@pytest.mark.parametrize(("name", "touchpoint"), calendar_params())
async def test_touchpoint_calendar(name: str, touchpoint: str) -> None:
    """The exact dates of one touchpoint over the whole simulation."""
    result = await simulated(name)
    expected = expected_calendar(CASES[name]).touchpoints.get(touchpoint, [])
    assert dues(result, touchpoint) == expected


@pytest.mark.parametrize("name", list(CASES))
async def test_nothing_else_is_scheduled(name: str) -> None:
    result = await simulated(name)
    expected = expected_calendar(CASES[name]).touchpoints
    assert {t.touchpoint for t in result.touchpoints} == {tp for tp, days in expected.items() if days}
    assert {t.account for t in result.touchpoints} == {f"cal-{name}"}
    # No touchpoint before its account was signed or after the simulated period.
    assert all(SIGNED <= t.due <= END for t in result.touchpoints)


# The anchor each touchpoint is measured from: none may come before it.
ANCHORS = {
    "license-key": SIGNED, "kickoff-call": SIGNED, "business-review": SIGNED, "roadmap-review": SIGNED,
    "announcement": SIGNED, "value-report": SIGNED, "value-review": SIGNED,
    "onboarding-plan": KICKOFF, "check-in": KICKOFF, "deployment-follow-up": KICKOFF, "success-planning": KICKOFF,
    "training-admin": PRODUCTION, "training-101": PRODUCTION, "training-102": PRODUCTION,
    "adoption-review": PRODUCTION, "qbr": PRODUCTION, "enablement": PRODUCTION,
    "account-plan": ONBOARDED + DAY,  # strictly after onboarding is complete
    "renewal-assessment": RENEWAL - RENEWAL_WINDOW,
    "red-alert": RED_ON, "red-action-plan": RED_ON, "red-follow-up": RED_ON,
}


@pytest.mark.parametrize("name", list(CASES))
async def test_no_touchpoint_before_its_anchor(name: str) -> None:
    result = await simulated(name)
    model = CASES[name].model
    anchors = dict(ANCHORS, **({"nurture-email": PRODUCTION} if model in ("scaled", "pooled") else {"nurture-email": SIGNED}))
    early = [(t.touchpoint, t.due) for t in result.touchpoints if t.due < anchors[t.touchpoint]]
    assert early == []


@pytest.mark.parametrize("name", list(CASES))
async def test_stages_including_the_renewal(name: str) -> None:
    """signed -> kickoff -> onboarding -> adoption -> steady -> renewal (renewal - 90)
    -> renewed -> steady (a new term, renewal a year later)."""
    result = await simulated(name)
    expected = expected_calendar(CASES[name])
    assert [(s.stage, s.at) for s in result.stages] == expected.stages
    opened = [s.at for s in result.stages if s.stage == "renewal"]
    # Renewed on CLOSED without a new date: the new renewal date is a year after the old one,
    # and the second term's renewal stage opens 90 days before it.
    assert SECOND_RENEWAL == plus_months(RENEWAL, 12)
    assert opened == [RENEWAL - 90 * DAY, SECOND_RENEWAL - 90 * DAY]
    if CASES[name].model != "digital":
        # The value review moved with the renewal date.
        assert dues(result, "value-review") == [off_weekend(RENEWAL - 90 * DAY), off_weekend(SECOND_RENEWAL - 90 * DAY)]


@pytest.mark.parametrize("name", list(CASES))
async def test_health_changes(name: str) -> None:
    result = await simulated(name)
    case = CASES[name]
    assert [(h.color, h.at) for h in result.health] == expected_calendar(case).health
    if not case.adoption_met:
        yellow = result.health[0]
        assert "adoption" in (yellow.reason or "") and f"{case.peak_mau / SEATS:.0%}" in (yellow.reason or "")
    assert [h.reason for h in result.health][-2:] == ["champion left", "new champion onboarded"]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.model == "enterprise"])
async def test_quarterly_touchpoints_once_per_fiscal_quarter(name: str) -> None:
    """Account plan: none before onboarding is complete, then exactly one per fiscal
    quarter; QBR: tier 1 only, none before production ready, exactly one per quarter."""
    result = await simulated(name)
    case = CASES[name]
    plans = dues(result, "account-plan")
    assert plans and min(plans) > ONBOARDED
    # Tier 1 prepares the coming quarter's plan (two weeks before it starts).
    plan_quarters = [fiscal_quarter_of(d + (14 * DAY if case.tier == 1 else 0 * DAY)) for d in plans]
    assert len(set(plan_quarters)) == len(plan_quarters)
    assert plan_quarters == [q for q in fiscal_quarter_starts(plan_quarters[0], plan_quarters[-1])]
    qbrs = dues(result, "qbr")
    if case.tier != 1:
        assert qbrs == []
        return
    assert min(qbrs) >= PRODUCTION
    qbr_quarters = [fiscal_quarter_of(d) for d in qbrs]
    assert Counter(qbr_quarters) == Counter(fiscal_quarter_starts(qbr_quarters[0], END))
    # Each quarter's account plan comes before its QBR.
    for plan, qbr in zip(plans, qbrs, strict=False):
        assert plan < qbr


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.model in ("scaled", "pooled")])
async def test_scaled_and_pooled_cadence_per_contract_year(name: str) -> None:
    """Success planning and roadmap review twice a year, the business review once a year."""
    result = await simulated(name)
    first_year = (SIGNED, plus_months(SIGNED, 12))
    counts = Counter(t.touchpoint for t in result.touchpoints if first_year[0] <= t.due < first_year[1])
    assert (counts["success-planning"], counts["roadmap-review"], counts["business-review"]) == (2, 2, 1)
    assert counts["announcement"] == 4  # one per fiscal quarter
    assert not {"check-in", "qbr", "account-plan", "training-101"} & set(counts)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.model == "enterprise"])
async def test_weekly_cap_for_customer_facing_touches(name: str) -> None:
    result = await simulated(name)
    weeks = Counter(monday(t.due) for t in result.touchpoints if t.touchpoint in CUSTOMER_FACING["enterprise"])
    assert max(weeks.values()) <= WEEKLY_CAP


@pytest.mark.parametrize("name", list(CASES))
async def test_recorded_stage_is_within_each_touchpoints_window(name: str) -> None:
    result = await simulated(name)
    model = CASES[name].model
    for t in result.touchpoints:
        window = WINDOWS.get(t.touchpoint) or (NURTURE_WINDOW[model] if t.touchpoint == "nurture-email" else ACTIVE)
        assert t.stage in window, f"{t.touchpoint} due {t.due} recorded in stage {t.stage}"
    # Red touches only while red.
    red = [t.due for t in result.touchpoints if t.touchpoint.startswith("red-")]
    assert red and all(RED_ON <= d < GREEN_ON for d in red)
    # All dates are business days, apart from those known above to deviate.
    weekend = [(t.touchpoint, t.due) for t in result.touchpoints if t.due.weekday() >= 5]
    assert all(tp == "red-action-plan" for tp, _ in weekend), weekend


async def test_digital_has_no_human_owned_touchpoints() -> None:
    data = tomllib.loads((PLAYBOOKS / "digital.toml").read_text(encoding="utf-8"))
    assert {tp["owner"] for tp in data["touchpoints"]} == {"automated"}
    result = await simulated("digital")
    ids = {t.touchpoint for t in result.touchpoints}
    assert ids == {"license-key", "nurture-email", "enablement", "announcement", "red-alert"}
    assert not ids & HUMAN_OWNED
    assert {tp["id"] for tp in data["touchpoints"]} >= ids


async def test_same_simulation_twice_gives_identical_json() -> None:
    first = await simulated("enterprise-tier1")
    again = await run_case("enterprise-tier1")
    assert again.model_dump_json() == first.model_dump_json()


async def test_mid_life_account_starts_in_renewal() -> None:
    """Signed 14 months before `start`, in production, renewal 60 days after `start`."""
    start = date(2026, 9, 7)  # a Monday
    signed = plus_months(start, -14)
    production = signed + 21 * DAY
    renewal = start + 60 * DAY
    account = Account.model_validate(
        {
            "id": "mid-life", "name": "Mid Life", "segment": "strategic", "tier": 1, "seats": 300, "arr": 1,
            "signed": signed, "renewal": renewal, "ta": "ana.ta", "ae": "sam.ae",
            "production_ready": production, "onboarding_complete": signed + 45 * DAY,
        }
    )
    result = await simulate([account], start=start, days=90)
    # Placed at once: history up to the renewal stage (opened 30 days before start), nothing since.
    assert [(s.stage, s.at) for s in result.stages] == [
        ("kickoff", signed),
        ("onboarding", signed),
        ("adoption", production),
        ("steady", production + ADOPTION_WINDOW),
        ("renewal", renewal - RENEWAL_WINDOW),
    ]
    assert [s for s in result.stages if s.at <= start][-1].stage == "renewal"
    assert result.touchpoints, "a renewal-stage account has touchpoints"
    assert all(t.due >= start for t in result.touchpoints)
    assert {t.stage for t in result.touchpoints} == {"renewal"}
    # The renewal assessment monthly from the day the stage opened; those before start were skipped.
    opened = renewal - RENEWAL_WINDOW
    assert dues(result, "renewal-assessment") == [
        off_weekend(d) for d in monthly(opened, before=start + 90 * DAY) if off_weekend(d) >= start
    ]
    # The value review (renewal - 90) fell before start: skipped, not simulated.
    assert dues(result, "value-review") == [] and dues(result, "value-report") == []
    assert result.health == []


async def test_usage_is_observed_the_night_after_enrollment_and_after_a_seat_change() -> None:
    """A mid-life scaled account whose usage reached 25% before `start` hears of it from
    the first sweep after its enrollment; a contract that cuts the seats lifts the same
    usage to 80%, and the next sweep tells it the 50% and 80% milestones together."""
    start = date(2026, 9, 7)  # a Monday
    signed = plus_months(start, -8)
    cut = start + 16 * DAY  # a Wednesday
    account = Account.model_validate(
        {
            "id": "usage-co", "name": "Usage Co", "segment": "small-enterprise", "model": "scaled", "tier": 2,
            "seats": SEATS, "arr": 1, "signed": signed, "renewal": plus_months(signed, 12), "ta": "ana.ta",
            "ae": "sam.ae", "production_ready": signed + 21 * DAY, "onboarding_complete": signed + 45 * DAY,
            "contacts": [CHAMPION],
        }
    )
    usage = [UsageRow(account="usage-co", date=start - 10 * DAY, dau=30, mau=60)]  # 30% of 200 seats
    events = [EventRow(account="usage-co", date=cut, event="contract_changed", data={"on": cut.isoformat(), "seats": 75})]
    result = await simulate([account], start=start, days=30, usage=usage, events=events)
    assert dues(result, "enablement") == [start + DAY, cut + DAY, cut + DAY]
