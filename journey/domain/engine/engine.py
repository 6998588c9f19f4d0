"""The journey of one account as plain Python: state, events, touchpoints and their effects.

`AccountJourney` (the Temporal workflow) owns timers, activities and child workflows;
everything it decides comes from here, so the rules are unit-tested without a server.
The engine never does I/O: what should be written it records as `Effects`, and what the
workflow must do next (load a playbook, start or end remediation, continue as new) as
`Command`s; the workflow takes both and carries them out.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from journey.domain.calendar import add_months, next_business_day
from journey.domain.effects import AccountSnapshot, Effects, TaskChange, TimelineEntry, TimelineKind
from journey.domain.engine import touchpoints as calendar
from journey.domain.engine.commands import (
    Command,
    ContinueAsNew,
    EndRemediation,
    ForwardTaskDone,
    LoadPlaybook,
    StartRemediation,
)
from journey.domain.engine.events import check_event
from journey.domain.engine.state import (
    DEFAULT_MANUAL_HEALTH_DAYS,
    IDLE_WAKE_DAYS,
    LATE_GRACE_DAYS,
    JourneyState,
    TrackedTask,
)
from journey.domain.engine.touchpoints import Firing
from journey.domain.enums import ContactRole, Health, Stage
from journey.domain.events import (
    ContractChanged,
    EventPayload,
    KickoffHeld,
    Offboard,
    OnboardingComplete,
    ProductionReady,
    RenewalClosed,
    SetHealth,
    TouchpointDone,
)
from journey.domain.machines import HealthMachine, Lifecycle, lowered
from journey.domain.models import Account, DueTouchpoint, JourneyStatus, OpenTask
from journey.domain.playbook import Channel, Playbook, Touchpoint
from journey.domain.remediation import RedEpisode
from journey.domain.team import DEFAULT_TEAM, Team
from journey.domain.touches import RED_TOUCHPOINTS, Touch


class Engine:
    """Applies events and the calendar to a `JourneyState`, collecting effects and commands."""

    # A worker holds one engine per cached journey: slots, and no empty `Effects` kept
    # between steps (about 1 KiB each).
    __slots__ = ("s", "lifecycle", "health_machine", "_effects", "_commands")

    def __init__(self, state: JourneyState) -> None:
        self.s = state
        self.lifecycle = Lifecycle(state.stage)
        self.health_machine = HealthMachine(state.health)
        self._effects: Effects | None = None
        self._commands: list[Command] = []

    # ----- construction -----

    @classmethod
    def enroll(
        cls, account: Account, playbook: Playbook, today: date, chain: str = "", team: Team = DEFAULT_TEAM
    ) -> Engine:
        state = JourneyState(
            account=account,
            playbook=playbook,
            team=team,
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

    def take_commands(self) -> list[Command]:
        """What the workflow must do next, in the order it was decided (see `commands`)."""
        commands, self._commands = self._commands, []
        return commands

    def next_touchpoints(self, limit: int = 5) -> list[DueTouchpoint]:
        return calendar.next_touchpoints(self.s, limit)

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
            open_tasks=[OpenTask(touchpoint=t.touchpoint, due=t.due, owner=t.owner, key=t.key) for t in s.tasks],
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

    def red_episode(self, episode: int, on: date, reason: str) -> RedEpisode:
        """What a remediation of this journey is started with."""
        s = self.s
        return RedEpisode(
            account=s.account,
            episode=episode,
            opened_on=on,
            reason=reason,
            stage=s.stage,
            policy=s.playbook.red,
            touchpoints=[tp for tp in s.playbook.touchpoints if tp.id in RED_TOUCHPOINTS],
            playbook_version=s.playbook.version,
            team=s.team,
        )

    # ----- recording -----

    def _record(self, kind: TimelineKind, name: str, at: date, key: str | None = None, /, **detail: object) -> None:
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
            self._commands.append(StartRemediation(self.s.red_episode, at, reason))
        elif before is Health.red:
            self.s.red_since = None
            self._commands.append(EndRemediation(self.s.red_episode, at, f"promoted to {color.value}"))

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
        for tp, missed in calendar.skip_missed(s, today):
            self._record(
                "touchpoint",
                tp.id,
                next_business_day(missed),
                self._occurrence_key(tp, missed),
                status="skipped",
                reason="fell due before enrollment",
                due=missed.isoformat(),
                stage=s.stage.value,
            )
        s.placed = True
        self.effects.snapshot = self.snapshot()

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
        assert deadline is not None, "judge_adoption is called once adoption_due says so"
        target = s.playbook.adoption_target
        met = utilization is not None and utilization >= target
        s.adoption_result = "met" if met else "missed"
        if utilization is not None:
            s.utilization = utilization
        self._record("adoption", s.adoption_result, deadline, utilization=utilization, target=target)
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
        for firing in calendar.due(s, today):
            self._fire(firing)

    def _occurrence_key(self, tp: Touchpoint, raw: date, suffix: str = "") -> str:
        return f"{self.s.account.id}/{tp.id}/{raw.isoformat()}{suffix}"

    def _customer_email(self) -> str:
        """Automated email goes to the champion (else any contact with an address, else the TA)."""
        contacts = sorted(
            (c for c in self.s.account.contacts if c.email),
            key=lambda c: c.role is not ContactRole.champion,
        )
        return contacts[0].email if contacts and contacts[0].email else self.s.account.ta

    def _fire(self, firing: Firing) -> None:
        s, tp, milestone = self.s, firing.touchpoint, firing.milestone
        suffix = f"@{milestone:g}" if milestone is not None else ""
        touch = Touch(tp, self._occurrence_key(tp, firing.raw, suffix), s.account, firing.fire, s.stage, s.playbook.version)
        extra = {"milestone": milestone} if milestone is not None else {}
        self.effects.timeline.append(touch.timeline(**extra))
        if tp.automated:
            recipient = s.team.red_accounts_channel if tp.channel is Channel.slack else self._customer_email()
            subject = f"{tp.title}: {s.account.name}"
            self.effects.deliveries.append(touch.message(recipient, subject, _delivery_body(tp, s.account, firing.fire, milestone)))
            return
        task = touch.task(s.team)
        self.effects.open_tasks.append(task)
        s.tasks.append(TrackedTask(key=task.key, touchpoint=tp.id, due=task.due, owner_role=task.owner_role, owner=task.owner))

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
        candidates.extend(
            (calendar.wake_for(s, d.touchpoint, d.due), d.touchpoint) for d in self.next_touchpoints(limit=3)
        )
        candidates.extend((day, tp_id) for tp_id, day in s.deferred.items() if calendar.is_milestone_touch(s, tp_id))
        hard = min(candidates, default=(today + timedelta(days=IDLE_WAKE_DAYS), "idle check"))
        # Whatever is due today has been handled; never spin on a date that has come.
        return max(hard[0], today + timedelta(days=1)), hard[1]

    # ----- events -----

    def validate(self, event: str, payload: EventPayload, today: date) -> date:
        """Refuse an event the stage does not allow or whose data does not fit; returns its date."""
        return check_event(self.s, self.lifecycle, event, payload, today)

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
        if payload.touchpoint in RED_TOUCHPOINTS and self.s.remediation_id is not None:
            # The remediation owns its tasks: it closes them.
            self._commands.append(ForwardTaskDone(payload.touchpoint, on))

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
        self._commands.append(ContinueAsNew())

    def _on_contract_changed(self, payload: ContractChanged, on: date) -> None:
        changes = payload.model_dump(exclude={"on"}, exclude_none=True)
        account = self.s.account.model_copy(update=changes)
        self.s.account = Account.model_validate(account.model_dump())
        if payload.model is not None and payload.model is not self.s.playbook.model:
            self._commands.append(LoadPlaybook(payload.model))

    def _on_offboard(self, payload: Offboard, on: date) -> None:
        self._end(on, payload.reason, trigger="offboard")

    def _end(self, on: date, reason: str, trigger: str = "churn") -> None:
        self.s.closed_reason = reason
        self._move(trigger, on, reason=reason)
        for task in list(self.s.tasks):
            self.effects.task_changes.append(TaskChange(key=task.key, status="cancelled", notes=reason))
        self.s.tasks.clear()
        if self.s.health is Health.red:
            self._commands.append(EndRemediation(self.s.red_episode, on, reason))

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
