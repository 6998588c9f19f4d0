"""The journey of one account as plain Python: state, events, touchpoints and their effects.

`AccountJourney` (the Temporal workflow) owns timers, activities and child workflows;
everything it decides comes from here, so the rules are unit-tested without a server.
The engine never does I/O: it records what should be written as `Effects`, and what
the workflow must do next (start or end remediation, continue as new) as flags.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from journey.machines import HealthMachine, Lifecycle, lowered
from journey.models import (
    Account,
    AccountSnapshot,
    ContactRole,
    ContractChanged,
    Delivery,
    DueTouchpoint,
    Effects,
    EventPayload,
    Health,
    JourneyStatus,
    KickoffHeld,
    Offboard,
    OnboardingComplete,
    OpenTask,
    ProductionReady,
    RenewalClosed,
    SetHealth,
    Stage,
    TaskChange,
    TaskOpen,
    TimelineEntry,
    TimelineKind,
    TouchpointDone,
)
from journey.playbook import Anchor, Channel, OwnerRole, Playbook, Touchpoint, stage_anchor
from journey.schedule import (
    ScheduleContext,
    WeeklyCap,
    add_months,
    eligible,
    milestones_newly_reached,
    next_business_day,
    occurrence_after,
    static_conditions_hold,
)

# A touch that fell due this many days before it could be handled still happens (late);
# older ones are recorded as skipped instead of surprising a customer months later.
LATE_GRACE_DAYS = 7
# Tasks for people are opened this many days before they are due, so a TA sees what is
# coming, and a journey wakes about once per period instead of once per task.
TASK_LEAD_DAYS = 14
TASK_LEAD_MIN_DAYS = 7
# With nothing scheduled, wake up this often anyway (keeps the timer summary honest).
IDLE_WAKE_DAYS = 90
DEFAULT_MANUAL_HEALTH_DAYS = 14
RED_TOUCHPOINTS = ("red-alert", "red-action-plan", "red-follow-up")


class InvalidEvent(ValueError):
    """An event the journey refuses; the message names the stage and what is allowed."""


class TrackedTask(BaseModel):
    key: str
    touchpoint: str
    due: date
    owner_role: str
    owner: str


class JourneyState(BaseModel):
    """All of a journey's state; continue-as-new carries it whole."""

    account: Account
    playbook: Playbook
    chain: str = ""
    day_offset: int = 0
    enrolled_on: date
    placed: bool = False
    stage: Stage = Stage.signed
    health: Health = Health.green
    health_reason: str | None = None
    manual_health_until: date | None = None
    # The latest color from the health score, kept while a manual color hides it, so the
    # score takes over again when the manual color expires.
    score_color: Health | None = None
    score_reason: str | None = None
    term: int = 1
    term_start: date
    kickoff_held: date | None = None
    production_ready: date | None = None
    onboarding_complete: date | None = None
    adoption_deadline: date | None = None
    adoption_result: Literal["met", "missed"] | None = None
    stage_entered: dict[str, date] = Field(default_factory=dict)
    red_since: date | None = None
    check_in_cadence_days: int | None = None
    last_due: dict[str, date] = Field(default_factory=dict)
    deferred: dict[str, date] = Field(default_factory=dict)
    week_counts: dict[date, int] = Field(default_factory=dict)
    milestones_reached: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    utilization: float | None = None
    consumption: float | None = None
    tasks: list[TrackedTask] = Field(default_factory=list)
    seq: int = 0
    red_episode: int = 0
    remediation_id: str | None = None
    closed_reason: str | None = None


@dataclass
class RemediationRequest:
    action: Literal["start", "end"]
    episode: int
    on: date
    reason: str


class Engine:
    """Applies events and the calendar to a `JourneyState`, collecting effects."""

    # A worker holds one engine per cached journey: slots, and no empty `Effects` kept
    # between steps (about 1 KiB each).
    __slots__ = ("s", "lifecycle", "health_machine", "_effects", "remediation", "new_term", "playbook_needed")

    def __init__(self, state: JourneyState) -> None:
        self.s = state
        self.lifecycle = Lifecycle(state.stage)
        self.health_machine = HealthMachine(state.health)
        self._effects: Effects | None = None
        self.remediation: list[RemediationRequest] = []
        self.new_term = False
        self.playbook_needed: str | None = None

    # ----- construction -----

    @classmethod
    def enroll(cls, account: Account, playbook: Playbook, today: date, chain: str = "") -> Engine:
        state = JourneyState(
            account=account,
            playbook=playbook,
            chain=chain,
            enrolled_on=today,
            term_start=account.signed,
        )
        return cls(state)

    # ----- reading -----

    @property
    def terminal(self) -> bool:
        return self.s.stage is Stage.churned

    @property
    def effects(self) -> Effects:
        """What the journey decided to write since the last `take_effects`."""
        if self._effects is None:
            self._effects = Effects(account=self.s.account.id)
        return self._effects

    def has_effects(self) -> bool:
        return self._effects is not None and not self._effects.empty()

    def take_effects(self) -> Effects:
        effects = self.effects
        self._effects = None
        return effects

    def anchors(self) -> dict[str, date]:
        s = self.s
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

    def context(self) -> ScheduleContext:
        s = self.s
        return ScheduleContext(
            stage=s.stage,
            tier=s.account.tier,
            health=s.health,
            deployment=s.account.deployment,
            anchors=self.anchors(),
            fiscal_year_start_month=s.playbook.fiscal_year_start_month,
            check_in_cadence_days=s.check_in_cadence_days,
        )

    def scheduled_touchpoints(self) -> list[Touchpoint]:
        """Touchpoints this journey times itself; the red ones belong to remediation."""
        return [tp for tp in self.s.playbook.touchpoints if tp.anchor is not Anchor.red]

    def next_touchpoints(self, limit: int = 5) -> list[DueTouchpoint]:
        ctx = self.context()
        upcoming: list[DueTouchpoint] = []
        for tp in self.scheduled_touchpoints():
            if not eligible(tp, ctx):
                continue
            raw = occurrence_after(tp, ctx, self.s.last_due.get(tp.id))
            if raw is not None:
                upcoming.append(DueTouchpoint(touchpoint=tp.id, due=self._fire_date(tp, raw)))
        upcoming.sort(key=lambda d: (d.due, d.touchpoint))
        return upcoming[:limit]

    def status(self, today: date) -> JourneyStatus:
        s, account = self.s, self.s.account
        return JourneyStatus(
            account=account.id,
            name=account.name,
            stage=s.stage,
            health=s.health,
            health_reason=s.health_reason,
            segment=account.segment,
            tier=account.tier,
            engagement_model=account.engagement_model,
            ta=account.ta,
            ae=account.ae,
            seats=account.seats,
            arr=account.arr,
            signed=account.signed,
            renewal_date=account.renewal,
            term=s.term,
            today=today,
            calendar_offset_days=s.day_offset,
            kickoff_held=s.kickoff_held,
            production_ready=s.production_ready,
            onboarding_complete=s.onboarding_complete,
            adoption_deadline=s.adoption_deadline,
            adoption_result=s.adoption_result,
            utilization=s.utilization,
            consumption=s.consumption,
            open_tasks=[
                OpenTask(touchpoint=t.touchpoint, due=t.due, owner=t.owner, key=t.key) for t in s.tasks
            ],
            next_touchpoints=self.next_touchpoints(),
            remediation=s.remediation_id,
            playbook_version=s.playbook.version,
            allowed_events=self.lifecycle.allowed() if not self.terminal else [],
        )

    def snapshot(self) -> AccountSnapshot:
        s, account = self.s, self.s.account
        return AccountSnapshot(
            id=account.id,
            stage=s.stage,
            health=s.health,
            health_reason=s.health_reason,
            segment=account.segment,
            tier=account.tier,
            model=account.engagement_model,
            seats=account.seats,
            arr=account.arr,
            renewal=account.renewal,
            term=s.term,
            production_ready=s.production_ready,
            onboarding_complete=s.onboarding_complete,
            adoption_deadline=s.adoption_deadline,
        )

    # ----- recording -----

    def _record(self, kind: TimelineKind, name: str, at: date, key: str | None = None, **detail: object) -> None:
        if key is None:
            self.s.seq += 1
            key = f"{self.s.account.id}/{self.s.chain}/{self.s.seq}"
        self.effects.timeline.append(
            TimelineEntry(key=key, account=self.s.account.id, at=at, kind=kind, name=name, detail=detail)
        )

    def _move(self, trigger: str, at: date, **detail: object) -> None:
        before = self.s.stage
        after = self.lifecycle.fire(trigger)
        if after is before:
            return
        self.s.stage = after
        self.s.stage_entered[after.value] = at
        self._record("stage", after.value, at, **{"from": before.value, "trigger": trigger, **detail})
        self.effects.snapshot = self.snapshot()

    def _set_health(self, color: Health, reason: str, at: date, source: str) -> None:
        before = self.s.health
        self.s.health_reason = reason
        if not self.health_machine.set(color):
            self.effects.snapshot = self.snapshot()
            return
        self.s.health = color
        self._record("health", color.value, at, reason=reason, source=source, **{"from": before.value})
        self.effects.snapshot = self.snapshot()
        if color is Health.red:
            self.s.red_since = at
            self.s.red_episode += 1
            self.remediation.append(RemediationRequest("start", self.s.red_episode, at, reason))
        elif before is Health.red:
            self.s.red_since = None
            self.remediation.append(RemediationRequest("end", self.s.red_episode, at, f"promoted to {color.value}"))

    # ----- placement at enrollment -----

    def place(self, today: date) -> None:
        """Put the account in the stage its facts say, at once; old touchpoints are skipped."""
        s, account = self.s, self.s.account
        self.effects.enroll = account
        self._record(
            "event", "enrolled", today,
            model=account.engagement_model.value, playbook=s.playbook.version, seats=account.seats, arr=account.arr,
        )
        self._move("begin", account.signed)
        if account.production_ready is not None:
            if s.kickoff_held is None:
                # Production is up, so the kickoff happened; its date is not on file.
                s.kickoff_held = account.signed
                self._move("kickoff_held", account.signed, assumed=True)
            self._production_ready(account.production_ready)
        if account.onboarding_complete is not None:
            s.onboarding_complete = account.onboarding_complete
        if s.stage is Stage.adoption and s.adoption_deadline and s.adoption_deadline < today - timedelta(days=LATE_GRACE_DAYS):
            # The adoption window closed before the journey existed: nothing to judge it by.
            self._record("adoption", "not-judged", s.adoption_deadline, reason="window closed before enrollment")
            self._move("adoption_judged", s.adoption_deadline)
        renewal_opens = self.renewal_opens()
        if self._renewal_may_open() and renewal_opens <= today:
            self._move("open_renewal", renewal_opens)
        self._skip_missed(today)
        s.placed = True
        self.effects.snapshot = self.snapshot()

    def _skip_missed(self, today: date) -> None:
        ctx = self.context()
        cutoff = today - timedelta(days=LATE_GRACE_DAYS)
        for tp in self.scheduled_touchpoints():
            if not static_conditions_hold(tp, ctx):
                continue
            last_missed: date | None = None
            raw = occurrence_after(tp, ctx, None)
            while raw is not None and next_business_day(raw) < cutoff:
                last_missed = raw
                raw = occurrence_after(tp, ctx, raw)
            if last_missed is not None:
                self.s.last_due[tp.id] = last_missed
                self._record(
                    "touchpoint",
                    tp.id,
                    next_business_day(last_missed),
                    key=self._occurrence_key(tp, last_missed),
                    status="skipped",
                    reason="fell due before enrollment",
                    due=last_missed.isoformat(),
                    stage=self.s.stage.value,
                )

    # ----- the calendar -----

    def renewal_opens(self) -> date:
        return self.s.account.renewal - timedelta(days=self.s.playbook.renewal_window_days)

    def _renewal_may_open(self) -> bool:
        # The adoption window is judged before the renewal stage opens.
        return self.lifecycle.may("open_renewal") and self.s.stage is not Stage.adoption

    def adoption_due(self, today: date) -> date | None:
        """The adoption deadline, when it has come and the window is still open."""
        s = self.s
        if s.stage is Stage.adoption and s.adoption_deadline is not None and s.adoption_deadline <= today:
            return s.adoption_deadline
        return None

    def judge_adoption(self, utilization: float | None) -> None:
        s = self.s
        deadline = s.adoption_deadline
        assert deadline is not None
        target = s.playbook.adoption_target
        met = utilization is not None and utilization >= target
        s.adoption_result = "met" if met else "missed"
        if utilization is not None:
            s.utilization = utilization
        self._record(
            "adoption",
            s.adoption_result,
            deadline,
            utilization=utilization,
            target=target,
        )
        self._move("adoption_judged", deadline)
        if not met:
            shown = "no usage reported" if utilization is None else f"utilization {utilization:.0%}"
            self._set_health(
                lowered(s.health),
                f"adoption target missed: {shown} < {target:.0%} at {deadline}",
                deadline,
                "adoption",
            )

    def advance(self, today: date) -> None:
        """Everything the calendar says happens up to `today` (after any adoption judgement)."""
        s = self.s
        if self._renewal_may_open() and self.renewal_opens() <= today:
            # A stage entered after the window opened (a short first term) opens renewal that day.
            self._move("open_renewal", max(self.renewal_opens(), s.stage_entered.get(s.stage.value, self.renewal_opens())))
        if s.manual_health_until is not None and s.manual_health_until <= today:
            expired = s.manual_health_until
            self._record("event", "manual_health_expired", expired, color=s.health.value)
            s.manual_health_until = None
            if s.score_color is not None:
                self._set_health(s.score_color, s.score_reason or "health score", expired, "score")
        self._fire_due(today)

    def _fire_date(self, tp: Touchpoint, raw: date) -> date:
        deferred = self.s.deferred.get(tp.id)
        fire = next_business_day(raw)
        return max(fire, deferred) if deferred else fire

    def _fire_due(self, today: date) -> None:
        cap = WeeklyCap(self.s.playbook.max_customer_touches_per_week, self.s.week_counts)
        ctx = self.context()
        touchpoints = self.scheduled_touchpoints()
        # Occurrences are taken in the order of the days they fall to be handled (ties in
        # playbook order), as if the journey had woken on each of those days, so the weekly
        # cap places touches the same however its wake-ups fall (any update wakes it).
        # At most one entry per touchpoint: its next occurrence (handled day, index, raw, fire).
        pending: list[tuple[date, int, date, date]] = []

        def queue_next(index: int) -> None:
            tp = touchpoints[index]
            raw = occurrence_after(tp, ctx, self.s.last_due.get(tp.id))
            if raw is None:
                return
            fire = self._fire_date(tp, raw)
            handled = self._handled_on(tp.id, fire)
            if handled <= today:
                heapq.heappush(pending, (handled, index, raw, fire))

        for index, tp in enumerate(touchpoints):
            if tp.milestones:
                self._fire_milestones(tp, ctx, today)
            else:
                queue_next(index)
        while pending:
            handled, index, raw, fire = heapq.heappop(pending)
            tp = touchpoints[index]
            if not eligible(tp, ctx) or fire < today - timedelta(days=LATE_GRACE_DAYS):
                self.s.last_due[tp.id] = raw
                self.s.deferred.pop(tp.id, None)
                queue_next(index)
                continue
            if tp.customer_facing:
                placed = cap.place(fire)
                if placed > fire:
                    self.s.deferred[tp.id] = placed
                    if self._handled_on(tp.id, placed) > handled:
                        # Moved to a later week: placed for good on the day that is handled.
                        queue_next(index)
                        continue
                    fire = placed
                cap.take(fire)
            self.s.last_due[tp.id] = raw
            self.s.deferred.pop(tp.id, None)
            self._fire(tp, raw, fire)
            queue_next(index)
        cap.forget_before(today - timedelta(days=14))
        self.s.week_counts = cap.counts

    def _handled_on(self, touchpoint_id: str, fire: date) -> date:
        """When the journey acts on an occurrence: automated touches on the day, tasks ahead."""
        tp = self.s.playbook.touchpoint(touchpoint_id)
        if tp is None or tp.automated:
            return fire
        return fire - timedelta(days=TASK_LEAD_DAYS)

    def _wake_for(self, touchpoint_id: str, fire: date) -> date:
        """The latest day to wake for an occurrence. A task may open anywhere from
        TASK_LEAD_DAYS to TASK_LEAD_MIN_DAYS ahead, so one wake-up opens every task due in
        the next fortnight and the journey sleeps longer (fewer history events)."""
        tp = self.s.playbook.touchpoint(touchpoint_id)
        if tp is None or tp.automated:
            return fire
        return fire - timedelta(days=TASK_LEAD_MIN_DAYS)

    def _is_milestone_touch(self, touchpoint_id: str) -> bool:
        tp = self.s.playbook.touchpoint(touchpoint_id)
        return tp is not None and bool(tp.milestones)

    def _fire_milestones(self, tp: Touchpoint, ctx: ScheduleContext, today: date) -> None:
        if not eligible(tp, ctx):
            return
        already = self.s.milestones_reached.get(tp.id, ())
        reached = milestones_newly_reached(tp, self.s.utilization, already)
        if not reached:
            return
        business_day = next_business_day(today)
        if business_day > today:
            # Reached over a weekend: the touch goes out on Monday, when the journey wakes for it.
            self.s.deferred[tp.id] = business_day
            return
        self.s.deferred.pop(tp.id, None)
        for milestone in reached:
            already = (*already, milestone)
            self._fire(tp, today, today, milestone=milestone)
        self.s.milestones_reached[tp.id] = already

    def _occurrence_key(self, tp: Touchpoint, raw: date, suffix: str = "") -> str:
        return f"{self.s.account.id}/{tp.id}/{raw.isoformat()}{suffix}"

    def _owner(self, role: OwnerRole) -> str:
        account = self.s.account
        return {
            OwnerRole.ta: account.ta,
            OwnerRole.ae: account.ae,
            OwnerRole.value_engineering: "value-engineering",
            OwnerRole.manager: "ta-manager",
            OwnerRole.automated: "journey",
        }[role]

    def _customer_email(self) -> str:
        """Automated email goes to the champion (else any contact with an address, else the TA)."""
        contacts = sorted(
            (c for c in self.s.account.contacts if c.email),
            key=lambda c: c.role is not ContactRole.champion,
        )
        return contacts[0].email if contacts and contacts[0].email else self.s.account.ta

    def _fire(self, tp: Touchpoint, raw: date, fire: date, milestone: float | None = None) -> None:
        suffix = f"@{milestone:g}" if milestone is not None else ""
        key = self._occurrence_key(tp, raw, suffix)
        account = self.s.account
        detail: dict[str, object] = {
            "due": fire.isoformat(),
            "owner": tp.owner.value,
            "channel": tp.channel.value,
            "stage": self.s.stage.value,
            "playbook_version": self.s.playbook.version,
            "status": "queued" if tp.automated else "task",
        }
        if milestone is not None:
            detail["milestone"] = milestone
        self._record("touchpoint", tp.id, fire, key=key, **detail)
        if tp.automated:
            recipient = "#red-accounts" if tp.channel is Channel.slack else self._customer_email()
            self.effects.deliveries.append(
                Delivery(
                    key=key,
                    account=account.id,
                    touchpoint=tp.id,
                    channel="slack" if tp.channel is Channel.slack else "email",
                    recipient=recipient,
                    subject=f"{tp.title}: {account.name}",
                    body=_delivery_body(tp, account, fire, milestone),
                    due=fire,
                )
            )
            return
        owner = self._owner(tp.owner)
        self.effects.open_tasks.append(
            TaskOpen(
                key=key,
                account=account.id,
                touchpoint=tp.id,
                title=tp.title,
                owner_role=tp.owner.value,
                owner=owner,
                due=fire,
                playbook_version=self.s.playbook.version,
            )
        )
        self.s.tasks.append(TrackedTask(key=key, touchpoint=tp.id, due=fire, owner_role=tp.owner.value, owner=owner))

    def next_wake(self, today: date) -> tuple[date, str]:
        """The next business date something happens, and what it is (for the timer's summary)."""
        s = self.s
        candidates: list[tuple[date, str]] = []
        if s.stage is Stage.adoption and s.adoption_deadline is not None:
            candidates.append((s.adoption_deadline, "adoption deadline"))
        if self._renewal_may_open():
            candidates.append((self.renewal_opens(), "renewal stage opens"))
        if s.manual_health_until is not None:
            candidates.append((s.manual_health_until, "manual health color expires"))
        candidates.extend((self._wake_for(d.touchpoint, d.due), d.touchpoint) for d in self.next_touchpoints(limit=3))
        candidates.extend((day, tp_id) for tp_id, day in s.deferred.items() if self._is_milestone_touch(tp_id))
        hard = min(candidates, default=(today + timedelta(days=IDLE_WAKE_DAYS), "idle check"))
        # Whatever is due today has been handled; never spin on a date that has come.
        return max(hard[0], today + timedelta(days=1)), hard[1]

    # ----- events -----

    def validate(self, event: str, payload: EventPayload, today: date) -> date:
        """Refuse an event the stage does not allow or whose data does not fit; returns its date."""
        if self.terminal:
            raise InvalidEvent(f"the journey of {self.s.account.id} has ended ({self.s.stage.value}); no events are accepted")
        if not self.lifecycle.may(event):
            allowed = ", ".join(self.lifecycle.allowed()) or "none"
            raise InvalidEvent(
                f"{event} is not allowed in stage {self.s.stage.value!r}; allowed events: {allowed}"
            )
        on = payload.on or today
        if on > today:
            raise InvalidEvent(f"field 'on': {on} is in the future (today is {today})")
        if on < self.s.account.signed:
            raise InvalidEvent(f"field 'on': {on} is before the contract was signed ({self.s.account.signed})")
        if isinstance(payload, TouchpointDone):
            known = {tp.id for tp in self.s.playbook.touchpoints} | {t.touchpoint for t in self.s.tasks}
            if payload.touchpoint not in known:
                raise InvalidEvent(
                    f"field 'touchpoint': unknown touchpoint {payload.touchpoint!r} for the "
                    f"{self.s.playbook.model.value} playbook; known: {', '.join(sorted(known))}"
                )
        if isinstance(payload, RenewalClosed) and payload.renewal_date is not None:
            if payload.renewal_date <= self.s.account.renewal:
                raise InvalidEvent(
                    f"field 'renewal_date': {payload.renewal_date} must be after the current renewal date {self.s.account.renewal}"
                )
        if isinstance(payload, ContractChanged):
            if payload.model_dump(exclude={"on"}, exclude_none=True) == {}:
                raise InvalidEvent("contract_changed needs at least one of seats, arr, segment, tier, model, renewal")
            if payload.renewal is not None and payload.renewal <= on:
                raise InvalidEvent(f"field 'renewal': {payload.renewal} must be after {on}")
        return on

    def apply(self, event: str, payload: EventPayload, today: date) -> None:
        on = self.validate(event, payload, today)
        detail = payload.model_dump(mode="json", exclude={"on"}, exclude_none=True)
        self._record("event", event, on, **detail)
        handler = getattr(self, f"_on_{event}")
        handler(payload, on)
        self.effects.snapshot = self.snapshot()

    def _on_kickoff_held(self, payload: KickoffHeld, on: date) -> None:
        if self.s.kickoff_held is None:
            self.s.kickoff_held = on
        if payload.check_in_cadence_days:
            self.s.check_in_cadence_days = payload.check_in_cadence_days
        self._move("kickoff_held", on)
        self._close_tasks("kickoff-call", on, "done", "kickoff held")

    def _production_ready(self, on: date) -> None:
        s = self.s
        if s.production_ready is None:
            s.production_ready = on
            s.adoption_deadline = on + timedelta(days=s.playbook.adoption_window_days)
        self._move("production_ready", on)
        self._close_tasks("deployment-follow-up", on, "cancelled", "production ready")

    def _on_production_ready(self, payload: ProductionReady, on: date) -> None:
        self._production_ready(on)

    def _on_onboarding_complete(self, payload: OnboardingComplete, on: date) -> None:
        if self.s.onboarding_complete is None:
            self.s.onboarding_complete = on
        self._close_tasks("onboarding-plan", on, "done", "onboarding complete")

    def _on_set_health(self, payload: SetHealth, on: date) -> None:
        days = payload.expires_days or DEFAULT_MANUAL_HEALTH_DAYS
        self.s.manual_health_until = on + timedelta(days=days)
        self._set_health(payload.color, payload.reason, on, "manual")

    def _on_touchpoint_done(self, payload: TouchpointDone, on: date) -> None:
        closed = self._close_tasks(payload.touchpoint, on, "done", payload.notes, first_only=True)
        if not closed:
            self._record("touchpoint", payload.touchpoint, on, status="done", note="recorded without a task")

    def _on_renewal_closed(self, payload: RenewalClosed, on: date) -> None:
        s, account = self.s, self.s.account
        if payload.outcome == "churned":
            self._end(on, "churned at renewal")
            return
        self._move("renewal_closed", on)
        new_renewal = payload.renewal_date or add_months(account.renewal, 12)
        s.account = account.model_copy(
            update={
                "renewal": new_renewal,
                "seats": payload.seats or account.seats,
                "arr": payload.arr if payload.arr is not None else account.arr,
            }
        )
        s.term += 1
        s.term_start = on
        self._move("new_term", on, term=s.term, renewal=new_renewal.isoformat())
        self.new_term = True

    def _on_contract_changed(self, payload: ContractChanged, on: date) -> None:
        changes = payload.model_dump(exclude={"on"}, exclude_none=True)
        account = self.s.account.model_copy(update=changes)
        self.s.account = Account.model_validate(account.model_dump())
        if payload.model is not None and payload.model is not self.s.playbook.model:
            self.playbook_needed = payload.model.value

    def _on_offboard(self, payload: Offboard, on: date) -> None:
        self._end(on, payload.reason, trigger="offboard")

    def _end(self, on: date, reason: str, trigger: str = "churn") -> None:
        self.s.closed_reason = reason
        self._move(trigger, on, reason=reason)
        for task in list(self.s.tasks):
            self.effects.task_changes.append(TaskChange(key=task.key, status="cancelled", notes=reason))
        self.s.tasks.clear()
        if self.s.health is Health.red:
            self.remediation.append(RemediationRequest("end", self.s.red_episode, on, reason))

    def _close_tasks(
        self, touchpoint: str, on: date, status: Literal["done", "cancelled"], notes: str | None, first_only: bool = False
    ) -> int:
        closing = [t for t in self.s.tasks if t.touchpoint == touchpoint]
        closing.sort(key=lambda t: t.due)
        if first_only:
            closing = closing[:1]
        for task in closing:
            self.s.tasks.remove(task)
            self.effects.task_changes.append(TaskChange(key=task.key, status=status, done_on=on, notes=notes))
            self._record("task", touchpoint, on, status=status, task=task.key, notes=notes)
        return len(closing)

    # ----- inputs from outside the calendar -----

    def use_playbook(self, playbook: Playbook, on: date) -> None:
        """Roll a new playbook in; occurrences already handled stay handled (keyed by date)."""
        if playbook.version == self.s.playbook.version:
            return
        before = self.s.playbook.version
        self.s.playbook = playbook
        known = {tp.id for tp in playbook.touchpoints}
        self.s.last_due = {tp: day for tp, day in self.s.last_due.items() if tp in known}
        self._record("event", "playbook_applied", on, **{"from": before, "to": playbook.version})
        self.effects.snapshot = self.snapshot()

    def observe_metrics(self, utilization: float | None, consumption: float | None) -> None:
        self.s.utilization = utilization
        self.s.consumption = consumption

    def apply_score(self, color: Health, reason: str, on: date) -> None:
        """A color from the health score; a manual color wins until it expires."""
        self.s.score_color = color
        self.s.score_reason = reason
        if self.s.manual_health_until is not None and on < self.s.manual_health_until:
            return
        self._set_health(color, reason, on, "score")

    def remediation_started(self, workflow_id: str) -> None:
        self.s.remediation_id = workflow_id

    def remediation_ended(self) -> None:
        self.s.remediation_id = None


def _delivery_body(tp: Touchpoint, account: Account, fire: date, milestone: float | None) -> str:
    lines = [f"{tp.title} for {account.name}."]
    if tp.description:
        lines.append(tp.description.strip())
    if milestone is not None:
        lines.append(f"Your team reached {milestone:.0%} of its {account.seats} licensed seats.")
    lines.append(f"({account.id}, {fire.isoformat()})")
    return "\n\n".join(lines)
