"""The Red Accounts Program for one red episode of one account, as plain Python.

`RedAccountRemediation` (the workflow) only waits, writes and forwards; every decision is
here: the red-accounts post and tracker row when the episode opens, the joint AE/TA
action plan, follow-ups every `red.follow_up_every_days`, one escalation to the TA manager
and the AE after `red.escalate_after_days`, and the close when the account is promoted.
Owners and channels come from `journey.domain.touches`, as for the journey's own touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel, Field

from journey.domain.calendar import next_business_day
from journey.domain.effects import Delivery, Effects, RedTrackerRow, TaskChange, TimelineEntry, TimelineKind
from journey.domain.enums import Stage
from journey.domain.models import Account
from journey.domain.playbook import RedPolicy, Touchpoint
from journey.domain.task_moves import MOVE_STATUS, Reassign, Reschedule, Snooze, cover_of, with_cover
from journey.domain.team import DEFAULT_TEAM, Team
from journey.domain.touches import Cover, Touch, covered

# With nothing scheduled (no follow-ups, escalated already), look again after a year.
IDLE_WAKE_DAYS = 365


class RedEpisode(BaseModel):
    """What a remediation is started with: the account, why it turned red, and the rules."""

    account: Account
    episode: int
    opened_on: date
    reason: str
    stage: Stage
    policy: RedPolicy
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    playbook_version: str
    team: Team = DEFAULT_TEAM
    # Who covers whom when the episode opens (the journey's covers): new tasks go to them.
    covers: list[Cover] = Field(default_factory=list)


@dataclass(slots=True)
class RedTask:
    """An open task of the episode."""

    touchpoint: str
    key: str
    owner: str
    due: date


class Promotion(BaseModel):
    """The account left red: on which day, and why."""

    on: date
    reason: str


class Remediation:
    """One episode's progress: open tasks, follow-ups, escalation."""

    def __init__(self, episode: RedEpisode) -> None:
        self.episode = episode
        self.base = f"{episode.account.id}/red-{episode.episode}"
        self.open_tasks: list[RedTask] = []
        self.covers = list(episode.covers)
        self.follow_ups = 0
        self.escalated_on: date | None = None
        # The joint action plan: due when opened, then done or cancelled on a day.
        self.plan_due: date | None = None
        self.plan_closed: tuple[str, date] | None = None

    # ----- reading -----

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        return next((tp for tp in self.episode.touchpoints if tp.id == touchpoint_id), None)

    @property
    def escalate_on(self) -> date:
        return self.episode.opened_on + timedelta(days=self.episode.policy.escalate_after_days)

    def next_follow_up(self) -> date:
        every = self.episode.policy.follow_up_every_days
        return self.episode.opened_on + timedelta(days=every * (self.follow_ups + 1))

    def next_wake(self, today: date) -> tuple[date, str]:
        """The next day something is due (a follow-up or the escalation), and which."""
        wake, follow_up = self._next_wake(today)
        return wake, f"{'follow-up' if wake == follow_up else 'escalation'} on {wake}"

    def next_wake_summary(self, today: date) -> tuple[date, str]:
        """The next wake-up, and what falls due then in words ("red-follow-up 2 due 2026-12-16")."""
        wake, follow_up = self._next_wake(today)
        if wake == follow_up:
            return wake, f"red-follow-up {self.follow_ups + 1} due {wake}"
        if wake == self.escalate_on and self.escalated_on is None:
            return wake, f"escalation to the TA manager and AE due {wake}"
        return wake, f"nothing due; idle check {wake}"

    def _next_wake(self, today: date) -> tuple[date, date | None]:
        follow_up = self.next_follow_up() if self.touchpoint("red-follow-up") else None
        escalation = None if self.escalated_on else self.escalate_on
        candidates = [day for day in (follow_up, escalation) if day]
        return min(candidates, default=today + timedelta(days=IDLE_WAKE_DAYS)), follow_up

    def plan_status(self) -> str:
        """Where the joint action plan stands, in words."""
        if self.plan_closed is not None:
            return f"{self.plan_closed[0]} {self.plan_closed[1]}"
        if self.plan_due is not None:
            return f"open, due {self.plan_due}"
        return "none in this playbook"

    def status(self) -> dict[str, object]:
        episode = self.episode
        return {
            "account": episode.account.id,
            "episode": episode.episode,
            "opened_on": episode.opened_on.isoformat(),
            "reason": episode.reason,
            "follow_ups": self.follow_ups,
            "escalated_on": self.escalated_on.isoformat() if self.escalated_on else None,
            "open_tasks": [task.key for task in self.open_tasks],
        }

    # ----- what happens -----

    def open(self) -> Effects:
        """The episode opens: tracker row, red-accounts post, joint action-plan task."""
        episode, account = self.episode, self.episode.account
        opened = episode.opened_on
        effects = Effects(account=account.id)
        effects.red_rows.append(self._tracker_row())
        self._timeline(effects, "remediation", "opened", opened, "opened", reason=episode.reason)
        alert = self.touchpoint("red-alert")
        if alert is not None:
            touch = self._touch(alert, opened, "red-alert")
            effects.timeline.append(touch.timeline(episode=episode.episode))
            effects.deliveries.append(
                touch.message(
                    touch.internal_recipient(episode.team),
                    f"Red account: {account.name} ({account.id})",
                    f"{account.name} is red: {episode.reason}\n"
                    f"Segment {account.segment.value}, tier {account.tier}, ARR {account.arr:,.0f}, "
                    f"renewal {account.renewal}. TA {account.ta}, AE {account.ae}: please add current state, "
                    f"needs and intended actions to the tracker row and reply in this thread.",
                )
            )
        plan = self.touchpoint("red-action-plan")
        if plan is not None:
            self._task(effects, plan, next_business_day(opened + timedelta(days=plan.offset_days)), "red-action-plan", opened)
        return effects

    def catch_up(
        self, today: date, done: list[tuple[str, date, str | None]], promoted: bool,
        moves: list[Snooze | Reschedule | Reassign] | None = None,
    ) -> Effects:
        """After a wake-up: move the tasks people moved, close the tasks marked done, then
        (unless promoted meanwhile) escalate and open the follow-up that have come due by
        `today`."""
        effects = Effects(account=self.episode.account.id)
        for change in moves or ():
            self._move_tasks(effects, change, today)
        for touchpoint, on, notes in done:
            match = next((task for task in self.open_tasks if task.touchpoint == touchpoint), None)
            if match is not None:
                self.open_tasks.remove(match)
                effects.task_changes.append(TaskChange(key=match.key, status="done", done_on=on, notes=notes))
                if touchpoint == "red-action-plan":
                    self.plan_closed = ("done", on)
        if promoted:
            return effects
        if self.escalated_on is None and self.escalate_on <= today:
            self._escalate(effects, self.escalate_on)
        follow_up = self.touchpoint("red-follow-up")
        due = self.next_follow_up()
        if follow_up is not None and due <= today:
            self.follow_ups += 1
            self._task(effects, follow_up, next_business_day(due), f"red-follow-up/{self.follow_ups}", today)
        return effects

    def close(self, promotion: Promotion) -> Effects:
        """Promoted: cancel what is still open and close the tracker row."""
        effects = Effects(account=self.episode.account.id)
        for task in self.open_tasks:
            effects.task_changes.append(TaskChange(key=task.key, status="cancelled", done_on=promotion.on, notes=promotion.reason))
            if task.touchpoint == "red-action-plan":
                self.plan_closed = ("cancelled", promotion.on)
        self.open_tasks.clear()
        effects.red_rows.append(self._tracker_row(closed_on=promotion.on, resolution=promotion.reason))
        self._timeline(effects, "remediation", "closed", promotion.on, "closed", resolution=promotion.reason)
        return effects

    # ----- recording -----

    def _tracker_row(self, **changes: object) -> RedTrackerRow:
        episode = self.episode
        return RedTrackerRow(
            key=self.base,
            account=episode.account.id,
            episode=episode.episode,
            opened_on=episode.opened_on,
            reason=episode.reason,
            **changes,  # type: ignore[arg-type]
        )

    def _touch(self, tp: Touchpoint, due: date, suffix: str) -> Touch:
        episode = self.episode
        return Touch(tp, f"{self.base}/{suffix}", episode.account, due, episode.stage, episode.playbook_version)

    def _timeline(self, effects: Effects, kind: TimelineKind, name: str, at: date, suffix: str, **detail: object) -> None:
        effects.timeline.append(
            TimelineEntry(key=f"{self.base}/{suffix}", account=self.episode.account.id, at=at, kind=kind, name=name, detail=detail)
        )

    def _task(self, effects: Effects, tp: Touchpoint, due: date, suffix: str, opened: date) -> None:
        episode, account = self.episode, self.episode.account
        touch = self._touch(tp, due, suffix)
        effects.timeline.append(touch.timeline(episode=episode.episode))
        if tp.automated:
            effects.deliveries.append(
                touch.message(
                    touch.internal_recipient(episode.team),
                    f"{tp.title}: {account.name}",
                    f"{tp.title} for {account.name}, red since {episode.opened_on}: {episode.reason}",
                )
            )
            return
        title = f"{tp.title} (with {account.ae})" if tp.id == "red-action-plan" else None
        if tp.id == "red-action-plan":
            self.plan_due = due
        task = touch.task(episode.team, title)
        if self.covers:
            # Someone covers the owner (vacation): the new task is theirs while it holds.
            task = task.model_copy(update={"owner": covered(task.owner, self.covers, opened)})
        effects.open_tasks.append(task)
        self.open_tasks.append(RedTask(tp.id, touch.key, task.owner, due))

    def _move_tasks(self, effects: Effects, change: Snooze | Reschedule | Reassign, today: date) -> None:
        """The episode's open tasks snoozed, rescheduled or handed to a cover, as the journey's
        were (a reassignment also keeps the cover for the tasks opened later)."""
        status = MOVE_STATUS[change.kind]
        if isinstance(change, Snooze):
            matching = sorted((t for t in self.open_tasks if t.touchpoint == change.touchpoint), key=lambda t: t.due)
            moving = [(t, max(change.until, today), t.owner) for t in matching[:1]]
        elif isinstance(change, Reschedule):
            moving = [(t, max(t.due + timedelta(days=change.days), today), t.owner) for t in self.open_tasks]
        else:
            moving = [(t, t.due, change.to) for t in self.open_tasks if t.owner == change.owner]
            self.covers = with_cover(self.covers, cover_of(change))
        for task, due, owner in moving:
            if (due, owner) == (task.due, task.owner):
                continue
            before, after = (task.owner, owner) if owner != task.owner else (task.due.isoformat(), due.isoformat())
            effects.task_changes.append(
                TaskChange(key=task.key, due=due if due != task.due else None, owner=owner if owner != task.owner else None)
            )
            task.due, task.owner = due, owner
            if task.touchpoint == "red-action-plan":
                self.plan_due = due
            detail = {"status": status, "task": task.key, "owner": owner, "from": before, "to": after}
            if change.reason:
                detail["reason"] = change.reason
            self._timeline(effects, "task", task.touchpoint, today, f"{task.key.removeprefix(self.base + '/')}/{status}/{after}", **detail)

    def _escalate(self, effects: Effects, on: date) -> None:
        episode, account = self.episode, self.episode.account
        self.escalated_on = on
        days = episode.policy.escalate_after_days
        effects.red_rows.append(self._tracker_row(escalated_on=on))
        self._timeline(effects, "remediation", "escalated", on, "escalated", days_red=days)
        for person in (episode.team.manager, account.ae):
            effects.deliveries.append(
                Delivery(
                    key=f"{self.base}/escalation/{person}",
                    account=account.id,
                    touchpoint="red-follow-up",
                    channel="email",
                    recipient=person,
                    subject=f"Escalation: {account.name} has been red for {days} days",
                    body=f"{account.name} ({account.id}) turned red on {episode.opened_on}: {episode.reason}. "
                    f"It is still red after {days} days. TA {account.ta}, AE {account.ae}.",
                    due=on,
                )
            )
