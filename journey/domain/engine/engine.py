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
from journey.domain.effects import (
    AccountSnapshot,
    DeliveryChange,
    Effects,
    TaskChange,
    TaskOpen,
    TimelineEntry,
    TimelineKind,
)
from journey.domain.engine import touchpoints as calendar
from journey.domain.engine.commands import (
    Command,
    ContinueAsNew,
    EndRemediation,
    ForwardTaskDone,
    ForwardTasksMoved,
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
from journey.domain.engine.review import (
    REVIEW_TASK,
    REVIEW_TASK_SUFFIX,
    REVIEWED_SUFFIX,
    DeliveriesReviewed,
    approved_send_after,
    plan_review,
    review_task_due,
)
from journey.domain.engine.state import (
    DEFAULT_MANUAL_HEALTH_DAYS,
    IDLE_WAKE_DAYS,
    LATE_GRACE_DAYS,
    HeldTouch,
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
from journey.domain.engine.tasks import Move, plan_moves
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
from journey.domain.models import Account, Contact, DueTouchpoint, HeldDelivery, JourneyStatus, OpenTask
from journey.domain.names import Update
from journey.domain.playbook import Channel, OwnerRole, Playbook, Touchpoint
from journey.domain.remediation import RedEpisode
from journey.domain.sendwindow import DEFAULT_TIMEZONE, SendRule, zone
from journey.domain.task_moves import MOVE_STATUS, Reassign, Reschedule, Snooze, cover_of, with_cover
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
            held_deliveries=[HeldDelivery(key=h.key, touchpoint=h.touchpoint, due=h.due) for h in s.held],
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
            covers=list(s.covers),
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
        self._open_review_tasks(today)

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
        held = unsent is None and s.playbook.holds_for_review(tp)
        if held:
            extra["status"] = "held"
        self.effects.timeline.append(touch.timeline(**extra))
        if tp.automated:
            recipient = s.team.red_accounts_channel if tp.channel is Channel.slack else customer_address(s.account, tp.to) or ""
            subject = f"{tp.title}: {s.account.name}"
            body = _delivery_body(tp, s.account, firing.fire, milestone)
            rule = self._send_rule()
            goes = self._send_after(firing.fire, today, rule)
            cap = s.playbook.max_emails_per_contact_per_week if tp.channel is Channel.email else None
            self.effects.deliveries.append(
                touch.message(
                    recipient, subject, body, skipped=unsent, send_after=goes, timezone=rule.timezone,
                    send_rule=rule if rule.window is not None else None, held=held, contact_cap=cap,
                )
            )
            if held:
                s.held.append(HeldTouch(key=touch.key, touchpoint=tp.id, due=firing.fire, held_on=today, send_after=goes))
            if unsent is not None and not any(t.touchpoint == ADD_CONTACT for t in s.tasks):
                self._open_task(touch.add_contact_task(), today)
            return
        self._open_task(touch.task(s.team), today)

    def _send_rule(self) -> SendRule:
        """The account's send window: its timezone (else the playbook's, else UTC), the
        playbook's window, days and company holidays, the account's country."""
        s = self.s
        return SendRule(
            timezone=s.account.timezone or s.playbook.timezone or DEFAULT_TIMEZONE,
            window=s.playbook.send_window,
            days=s.playbook.send_days,
            holidays=s.playbook.holidays,
            country=s.account.country,
        )

    @staticmethod
    def _send_after(due: date, today: date, rule: SendRule) -> datetime | None:
        """When an automated touch due on `due` may go out: in the send window, never
        before the start of `due` in the account's timezone nor the start of the journey's
        business day `today` (a touch caught up late waits for a window too). None
        without a window: at once."""
        if rule.window is None:
            return None
        due_start = datetime.combine(due, time(), zone(rule.timezone))
        return rule.earliest(max(due_start, datetime.combine(today, time(), UTC)))

    # ----- review before send -----

    def _open_review_tasks(self, today: date) -> None:
        """A held touch unreviewed for the playbook's `review_days` becomes the TA's task
        (it stays held)."""
        s = self.s
        for held in s.held:
            if held.tasked or review_task_due(s, held) > today:
                continue
            held.tasked = True
            tp = s.playbook.touchpoint(held.touchpoint)
            what = f"{tp.channel.value} " if tp is not None else ""
            task = TaskOpen(
                key=f"{held.key}{REVIEW_TASK_SUFFIX}",
                account=s.account.id,
                touchpoint=REVIEW_TASK,
                title=f"Review the held {held.touchpoint} {what}(journey deliveries show {held.key})",
                owner_role=OwnerRole.ta.value,
                owner=s.account.ta,
                due=today,
                playbook_version=s.playbook.version,
            )
            self._record("touchpoint", REVIEW_TASK, today, task.key, status="task", delivery=held.key,
                         due=today.isoformat(), owner=OwnerRole.ta.value)
            self._open_task(task, today)

    def check_review(self, change: DeliveriesReviewed, today: date) -> list[HeldTouch]:
        """Refuse a review the journey cannot take (`InvalidEvent`); the touches it names."""
        return plan_review(self.s, change, today)

    def review_deliveries(self, change: DeliveriesReviewed, today: date, now: datetime) -> None:
        """Approve held touches (they go out in their send window, not before `now`, the
        journey's business moment) or drop them with a reason; a timeline row records who
        did it, and a review task of theirs is done with it."""
        s = self.s
        rule = self._send_rule()
        for held in self.check_review(change, today):
            s.held.remove(held)
            detail: dict[str, object] = {"status": "approved" if change.action == "approve" else "skipped",
                                         "by": change.by, "delivery": held.key}
            if change.reason:
                detail["reason"] = change.reason
            if change.late:
                detail["late"] = True
            self._record("touchpoint", held.touchpoint, today, f"{held.key}{REVIEWED_SUFFIX}", **detail)
            if change.action == "approve":
                goes = approved_send_after(held, rule.earliest(now)) if rule.window is not None else None
                self.effects.delivery_changes.append(
                    DeliveryChange(key=held.key, touchpoint=held.touchpoint, status="pending",
                                   reviewed_by=change.by, send_after=goes)
                )
            else:
                self.effects.delivery_changes.append(
                    DeliveryChange(key=held.key, touchpoint=held.touchpoint, status="skipped",
                                   reviewed_by=change.by, reason=f"skipped in review by {change.by}: {change.reason}")
                )
            self._close_task_key(f"{held.key}{REVIEW_TASK_SUFFIX}", today, f"{detail['status']} by {change.by}")

    def _close_task_key(self, key: str, on: date, notes: str) -> None:
        for task in [t for t in self.s.tasks if t.key == key]:
            self.s.tasks.remove(task)
            self.effects.task_changes.append(TaskChange(key=task.key, status="done", done_on=on, notes=notes))
            self._record("task", task.touchpoint, on, status="done", task=task.key, notes=notes)

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
        # A touch held for review too long becomes the TA's task: the journey wakes then.
        candidates.extend(
            (review_task_due(s, h), REVIEW_TASK, f"{h.touchpoint} held for review; review task {review_task_due(s, h)}")
            for h in s.held if not h.tasked
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
        # What still waits for review is never to be sent.
        for held in self.s.held:
            self.effects.delivery_changes.append(
                DeliveryChange(key=held.key, touchpoint=held.touchpoint, status="skipped", reviewed_by="journey",
                               reason=f"held for review when the journey ended: {reason}")
            )
        self.s.held.clear()
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
        if self.s.remediation_id is not None:
            # The remediation's own tasks (red-action-plan, follow-ups) move the same way.
            self._commands.append(ForwardTasksMoved(change.model_dump(mode="json", exclude_none=True)))
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
