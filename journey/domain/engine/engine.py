"""The journey of one account as plain Python: state, events, touchpoints and their effects.

`AccountJourney` (the Temporal workflow) owns timers, activities and child workflows;
everything it decides comes from here, so the rules are unit-tested without a server.
The engine never does I/O: what should be written it records as `Effects`, and what the
workflow must do next (load a playbook, start or end remediation, continue as new) as
`Command`s; the workflow takes both and carries them out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from journey.domain.bounds import REASON_LENGTH
from journey.domain.calendar import add_months, next_business_day
from journey.domain.effects import AccountSnapshot, Effects, TaskChange, TaskOpen, TimelineEntry, TimelineKind
from journey.domain.engine import touchpoints as calendar
from journey.domain.engine.commands import (
    Command,
    ContinueAsNew,
    EndRemediation,
    ForwardTaskDone,
    LoadPlaybook,
    StartRemediation,
)
from journey.domain.engine.contacts import (
    CHAMPION_LEFT,
    ContactChange,
    ContactsChange,
    champions_gone,
    check_change,
    has_champion,
    merge,
)
from journey.domain.engine.events import allowed_events, check_event, completed_event, completes, repeat_of
from journey.domain.engine.state import (
    DEFAULT_MANUAL_HEALTH_DAYS,
    IDLE_WAKE_DAYS,
    LATE_GRACE_DAYS,
    JourneyState,
    TrackedTask,
)
from journey.domain.engine.steps import (
    FIND_CHAMPION,
    FIND_CHAMPION_DUE_DAYS,
    NEXT_STEP_DUE_DAYS,
    NEXT_STEP_FOR,
    NEXT_STEP_HORIZON_DAYS,
    USAGE_REPORT,
    USAGE_REPORT_DUE_DAYS,
)
from journey.domain.engine.tasks import (
    MOVE_STATUS,
    Move,
    Reassign,
    Reschedule,
    Snooze,
    cover_of,
    plan_moves,
    with_cover,
)
from journey.domain.engine.touchpoints import Firing
from journey.domain.enums import Health, Stage
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
    event_name_for_cli,
)
from journey.domain.machines import HealthMachine, Lifecycle, lowered
from journey.domain.models import Account, Contact, DueTouchpoint, JourneyStatus, OpenTask
from journey.domain.names import Update
from journey.domain.playbook import Channel, Playbook, Touchpoint
from journey.domain.remediation import RedEpisode
from journey.domain.sendwindow import DEFAULT_TIMEZONE, send_after
from journey.domain.team import DEFAULT_TEAM, Team
from journey.domain.touches import ADD_CONTACT, RED_TOUCHPOINTS, Touch, covered, customer_address


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
            health_until=s.manual_health_until,
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
            allowed_events=allowed_events(self.s, self.lifecycle),
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

    def judge_adoption(self, utilization: float | None, today: date | None = None, needs_data: bool = False) -> None:
        """The verdict at the adoption deadline. With `needs_data` (the workflow's patch) and
        no usage on or before the deadline there is none: the result is `no-data`, health is
        left alone and the TA is asked to get usage reported (`judge_late` gives the verdict)."""
        s = self.s
        deadline = s.adoption_deadline
        assert deadline is not None, "judge_adoption is called once adoption_due says so"
        if utilization is None and needs_data:
            self._no_adoption_data(deadline, today or deadline)
            return
        self._verdict(utilization, deadline, deadline, True)

    def _verdict(
        self, utilization: float | None, deadline: date, at: date, closes_window: bool = False, /, **detail: object
    ) -> None:
        s = self.s
        target = s.playbook.adoption_target
        met = utilization is not None and utilization >= target
        s.adoption_result = "met" if met else "missed"
        if utilization is not None:
            s.utilization = utilization
        self._record("adoption", s.adoption_result, at, utilization=utilization, target=target, **detail)
        if closes_window:
            self._move("adoption_judged", deadline)
        if not met:
            shown = "no usage reported" if utilization is None else f"utilization {utilization:.0%}"
            self._set_health(
                lowered(s.health),
                f"adoption target missed: {shown} < {target:.0%} at {deadline}",
                at,
                "adoption",
            )

    def _no_adoption_data(self, deadline: date, today: date) -> None:
        s = self.s
        s.adoption_result = "no-data"
        target = s.playbook.adoption_target
        self._record(
            "adoption", "no-data", deadline, target=target,
            reason=f"not judged: no usage reported on or before the deadline {deadline}; "
            f"health unchanged until usage for that date is reported",
        )
        self._move("adoption_judged", deadline)
        tp = USAGE_REPORT
        touch = Touch(tp, self._occurrence_key(tp, deadline), s.account,
                      next_business_day(today + timedelta(days=USAGE_REPORT_DUE_DAYS)), s.stage, s.playbook.version)
        self.effects.timeline.append(touch.timeline())
        self._open_task(
            touch.task(s.team, title=f"Get usage reported up to the adoption deadline {deadline} (target {target:.0%})"),
            today,
        )

    def adoption_pending(self, today: date) -> date | None:
        """The deadline of an adoption window closed without data, to judge once usage for it is reported."""
        s = self.s
        if s.adoption_result == "no-data" and s.adoption_deadline is not None and s.adoption_deadline < today:
            return s.adoption_deadline
        return None

    def judge_late(self, utilization: float, today: date) -> None:
        """Usage on or before the deadline came after it: the verdict, on the day it is known."""
        deadline = self.s.adoption_deadline
        assert deadline is not None and self.s.adoption_result == "no-data", "judge_late follows adoption_pending"
        self._verdict(utilization, deadline, today, deadline=deadline.isoformat(), late=True)
        self._close_tasks(USAGE_REPORT.id, today, "done", "usage reported")

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
            self._fire(firing, today)

    def _occurrence_key(self, tp: Touchpoint, raw: date, suffix: str = "") -> str:
        return f"{self.s.account.id}/{tp.id}/{raw.isoformat()}{suffix}"

    def _fire(self, firing: Firing, today: date) -> None:
        s, tp, milestone = self.s, firing.touchpoint, firing.milestone
        suffix = f"@{milestone:g}" if milestone is not None else ""
        touch = Touch(tp, self._occurrence_key(tp, firing.raw, suffix), s.account, firing.fire, s.stage, s.playbook.version)
        extra: dict[str, object] = {"milestone": milestone} if milestone is not None else {}
        unsent = touch.unsendable()
        if unsent is not None:
            extra |= {"status": "skipped", "reason": unsent}
        self.effects.timeline.append(touch.timeline(**extra))
        if tp.automated:
            recipient = s.team.red_accounts_channel if tp.channel is Channel.slack else customer_address(s.account, tp.to) or ""
            subject = f"{tp.title}: {s.account.name}"
            body = _delivery_body(tp, s.account, firing.fire, milestone)
            timezone = s.account.timezone or s.playbook.timezone or DEFAULT_TIMEZONE
            self.effects.deliveries.append(
                touch.message(
                    recipient, subject, body, skipped=unsent,
                    send_after=self._send_after(firing.fire, today, timezone), timezone=timezone,
                )
            )
            if unsent is not None and not any(t.touchpoint == ADD_CONTACT for t in s.tasks):
                self._open_task(touch.add_contact_task(), today)
            return
        self._open_task(touch.task(s.team), today)

    def _send_after(self, due: date, today: date, timezone: str) -> datetime | None:
        """When an automated touch due on `due` may go out: in the playbook's send window,
        never before the start of the journey's business day `today` (a touch caught up
        late waits for a window too). None without a window: at once."""
        s = self.s
        if s.playbook.send_window is None:
            return None
        return send_after(
            due,
            datetime.combine(today, time(), UTC),
            timezone,
            s.account.country,
            s.playbook.send_window,
            s.playbook.send_days,
            frozenset(s.playbook.holidays),
        )

    def _open_task(self, task: TaskOpen, opened: date) -> None:
        if self.s.covers:
            # Someone covers the owner (vacation): the new task is theirs while it holds.
            task = task.model_copy(update={"owner": covered(task.owner, self.s.covers, opened)})
        self.effects.open_tasks.append(task)
        self.s.tasks.append(
            TrackedTask(key=task.key, touchpoint=task.touchpoint, due=task.due, owner_role=task.owner_role, owner=task.owner)
        )

    def next_wake(self, today: date) -> tuple[date, str]:
        """The next business date something happens, and what it is (for the timer's summary)."""
        wake, why, _ = self._next_wake(today)
        return wake, why

    def next_wake_summary(self, today: date) -> tuple[date, str]:
        """The next wake-up, and what falls due then in words, with its dates
        ("adoption-review due 2026-12-16 (task opens 2026-12-09)")."""
        wake, _, summary = self._next_wake(today)
        return wake, summary

    def _next_wake(self, today: date) -> tuple[date, str, str]:
        s = self.s
        # (wake-up, what, what in words)
        candidates: list[tuple[date, str, str]] = []
        if s.stage is Stage.adoption and s.adoption_deadline is not None:
            day = s.adoption_deadline
            candidates.append((day, "adoption deadline", f"adoption verdict due {day}"))
        if self._renewal_may_open():
            day = self.renewal_opens()
            candidates.append((day, "renewal stage opens", f"renewal stage opens {day}"))
        if s.manual_health_until is not None:
            day = s.manual_health_until
            candidates.append((day, "manual health color expires", f"manual health color expires {day}"))
        for d in self.next_touchpoints(limit=3):
            wake = calendar.wake_for(s, d.touchpoint, d.due)
            opens = f" (task opens {wake})" if wake != d.due else ""
            candidates.append((wake, d.touchpoint, f"{d.touchpoint} due {d.due}{opens}"))
        candidates.extend(
            (day, tp_id, f"{tp_id} (usage milestone) due {day}")
            for tp_id, day in s.deferred.items() if calendar.is_milestone_touch(s, tp_id)
        )
        # A task a person moved comes back on its new due date: the journey wakes then.
        candidates.extend(
            (t.due, t.touchpoint, f"{t.touchpoint} due {t.due}") for t in s.tasks if t.moved and t.due > today
        )
        idle = today + timedelta(days=IDLE_WAKE_DAYS)
        hard = min(candidates, default=(idle, "idle check", f"nothing due; idle check {idle}"))
        # Whatever is due today has been handled; never spin on a date that has come.
        return max(hard[0], today + timedelta(days=1)), hard[1], hard[2]

    # ----- events -----

    def validate(self, event: str, payload: EventPayload, today: date, strict: bool = True) -> date:
        """Refuse an event the stage does not allow or whose data does not fit; returns its date."""
        return check_event(self.s, self.lifecycle, event, payload, today, strict)

    def repeat_of(self, event: str, payload: EventPayload, today: date) -> date | None:
        """The date on file when `event` repeats on it (`apply` then changes nothing)."""
        return repeat_of(self.s, event, payload, today)

    def apply(self, event: str, payload: EventPayload, today: date, strict: bool = True) -> None:
        on = self.validate(event, payload, today, strict)
        if strict and self.repeat_of(event, payload, today) is not None:
            return
        completed = completed_event(self.s, self.lifecycle, payload) if strict and isinstance(payload, TouchpointDone) else None
        detail = payload.model_dump(mode="json", exclude={"on"}, exclude_none=True)
        self._record("event", event, on, **detail)
        handler = getattr(self, f"_on_{event}")
        handler(payload, on)
        if strict:
            # The tasks that stand for this event are done with it.
            for task in [t for t in self.s.tasks if completes(self.s, t.touchpoint) == event]:
                self._close_tasks(task.touchpoint, on, "done", f"{event_name_for_cli(event)} reported")
        if completed is not None:
            # The task was the event: report it, with the task's data.
            self.apply(*completed, today, strict)
        self.effects.snapshot = self.snapshot()

    # ----- the next step of a stage that waits for a person -----

    def needs_next_step(self, today: date) -> bool:
        """True when the stage waits for a person's event, nothing is open and no task of
        this stage falls due within the next NEXT_STEP_HORIZON_DAYS: the journey would sit
        silent (a value review months away says nothing about what to do now)."""
        s = self.s
        if s.stage not in NEXT_STEP_FOR or s.tasks:
            return False
        people = [tp for tp in s.playbook.touchpoints if not tp.automated and tp.id not in RED_TOUCHPOINTS]
        if not people:
            return False  # a journey run by automated touches alone
        for upcoming in calendar.next_touchpoints(s, limit=len(s.playbook.touchpoints)):
            tp = s.playbook.touchpoint(upcoming.touchpoint)
            soon = upcoming.due <= today + timedelta(days=NEXT_STEP_HORIZON_DAYS)
            if soon and tp is not None and not tp.automated and (not tp.stages or s.stage in tp.stages):
                return False
        return True

    def open_next_step(self, today: date) -> None:
        s = self.s
        tp = NEXT_STEP_FOR[s.stage]
        touch = Touch(tp, self._occurrence_key(tp, today), s.account,
                      next_business_day(today + timedelta(days=NEXT_STEP_DUE_DAYS)), s.stage, s.playbook.version)
        self.effects.timeline.append(touch.timeline())
        self._open_task(touch.task(s.team), today)

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

    def check_contacts(self, change: ContactsChange, today: date) -> date:
        """Refuse a change of the account map the journey cannot take; returns its date."""
        return check_change(self.s, change, today)

    def change_contacts(self, change: ContactsChange, today: date) -> list[ContactChange]:
        """Add, change and remove contacts (the store's account map follows, in the same
        batch), with a timeline row for each. When the last champion goes, that is an
        event: `champion-left`, a task for the TA to find a new champion, and, when the
        playbook says `champion_left = "red"`, red by hand as `set_health` does it. A
        champion on file again closes that task."""
        s = self.s
        on = self.check_contacts(change, today)
        contacts, changes = merge(s.account.contacts, change, s.account.id)
        if not changes:
            return []
        had_champion = has_champion(s.account.contacts)
        s.account = s.account.model_copy(update={"contacts": contacts})
        self.effects.enroll = s.account
        for changed in changes:
            self._record("event", changed.timeline_name, on, **changed.detail(change.reason))
        gone = champions_gone(changes)
        if had_champion and gone and not has_champion(contacts):
            self._champion_left(gone, change.reason, on, today)
        elif has_champion(contacts):
            self._close_tasks(FIND_CHAMPION.id, on, "done", "champion on file")
        return changes

    def _champion_left(self, gone: list[Contact], reason: str | None, on: date, today: date) -> None:
        s = self.s
        who = ", ".join(c.name for c in gone)
        self._record("event", CHAMPION_LEFT, on, name=who, **({"reason": reason} if reason else {}))
        if not any(t.touchpoint == FIND_CHAMPION.id for t in s.tasks):
            tp = FIND_CHAMPION
            due = next_business_day(on + timedelta(days=FIND_CHAMPION_DUE_DAYS))
            touch = Touch(tp, self._occurrence_key(tp, on), s.account, due, s.stage, s.playbook.version)
            self.effects.timeline.append(touch.timeline())
            self._open_task(touch.task(s.team, title=f"{tp.title} ({who} left)"), today)
        if s.playbook.champion_left == "red":
            why = f"champion left: {who}" + (f" ({reason})" if reason else "")
            if len(why) > REASON_LENGTH:
                why = why[: REASON_LENGTH - 1] + "…"
            # The handbook's example of red by hand: recorded and applied as `set_health`.
            self.apply(Update.SET_HEALTH, SetHealth(color=Health.red, reason=why, on=on), today)

    def check_moves(self, change: Snooze | Reschedule | Reassign, today: date) -> list[Move]:
        """Refuse a move of open tasks the journey cannot make (`InvalidEvent`); what would move."""
        return plan_moves(self.s, change, today)

    def move_tasks(self, change: Snooze | Reschedule | Reassign, today: date) -> list[Move]:
        """Snooze, reschedule or hand on open tasks (the store's tasks follow in the same
        batch), with a timeline row for each; a reassignment also keeps the cover, for
        the tasks the journey opens later."""
        moves = self.check_moves(change, today)
        status = MOVE_STATUS[change.kind]
        for move in moves:
            task = move.task
            reason = {"reason": change.reason} if change.reason else {}
            if move.due is not None:
                before: object = task.due.isoformat()
                after: object = move.due.isoformat()
                task.due, task.moved = move.due, True
            else:
                before, after = task.owner, move.owner
                task.owner = move.owner or task.owner
            self.effects.task_changes.append(TaskChange(key=task.key, due=move.due, owner=move.owner))
            self._record(
                "task", task.touchpoint, today,
                status=status, task=task.key, owner=task.owner, **{"from": before, "to": after}, **reason,
            )
        if isinstance(change, Reassign):
            self.s.covers = with_cover(self.s.covers, cover_of(change))
        return moves

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
