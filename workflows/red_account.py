"""`RedAccountRemediation`: the Red Accounts Program for one red episode of one account.

Started by the account's journey when its health turns red: post to the red-accounts
channel, add a tracker row, ask AE and TA for a joint status and action plan, follow up
until the account is promoted to yellow or green, and escalate if it stays red too long.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from journey import constants as names
    from journey.models import Delivery, Effects, RedTrackerRow, TaskChange, TaskOpen, TimelineEntry, TouchpointDone
    from journey.playbook import Touchpoint
    from journey.schedule import next_business_day
    from workflows.account_journey import apply_effects_batch, business_today, until
    from workflows.messages import Promotion, RemediationInput, RemediationOutcome


@workflow.defn(name=names.REMEDIATION_WORKFLOW_TYPE)
class RedAccountRemediation:
    @workflow.init
    def __init__(self, request: RemediationInput) -> None:
        self.request = request
        self.promotion: Promotion | None = None
        self.done: list[TouchpointDone] = []
        self.open_tasks: list[tuple[str, str]] = []  # (touchpoint, key)
        self.follow_ups = 0
        self.escalated_on: date | None = None
        self.base = f"{request.account.id}/red-{request.episode}"

    @workflow.signal(name="promote")
    def promote(self, promotion: Promotion) -> None:
        self.promotion = promotion

    @workflow.signal(name="task_done")
    def task_done(self, done: TouchpointDone) -> None:
        self.done.append(done)

    @workflow.query(name="status")
    def status(self) -> dict[str, object]:
        return {
            "account": self.request.account.id,
            "episode": self.request.episode,
            "opened_on": self.request.opened_on.isoformat(),
            "reason": self.request.reason,
            "follow_ups": self.follow_ups,
            "escalated_on": self.escalated_on.isoformat() if self.escalated_on else None,
            "open_tasks": [key for _, key in self.open_tasks],
        }

    def today(self) -> date:
        return business_today(self.request.day_offset)

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        return next((tp for tp in self.request.touchpoints if tp.id == touchpoint_id), None)

    @workflow.run
    async def run(self, request: RemediationInput) -> RemediationOutcome:
        account = request.account
        opened = request.opened_on
        effects = Effects(account=account.id)
        effects.red_rows.append(
            RedTrackerRow(key=self.base, account=account.id, episode=request.episode, opened_on=opened, reason=request.reason)
        )
        self._timeline(effects, "remediation", "opened", opened, "opened", reason=request.reason)
        alert = self.touchpoint("red-alert")
        if alert is not None:
            self._timeline(effects, "touchpoint", "red-alert", opened, "red-alert", **self._tp_detail(alert, opened))
            effects.deliveries.append(
                Delivery(
                    key=f"{self.base}/red-alert",
                    account=account.id,
                    touchpoint="red-alert",
                    channel="slack" if alert.channel.value == "slack" else "email",
                    recipient="#red-accounts" if alert.channel.value == "slack" else account.ta,
                    subject=f"Red account: {account.name} ({account.id})",
                    body=(
                        f"{account.name} is red: {request.reason}\n"
                        f"Segment {account.segment.value}, tier {account.tier}, ARR {account.arr:,.0f}, "
                        f"renewal {account.renewal}. TA {account.ta}, AE {account.ae}: please add current state, "
                        f"needs and intended actions to the tracker row and reply in this thread."
                    ),
                    due=opened,
                )
            )
        plan = self.touchpoint("red-action-plan")
        if plan is not None:
            self._task(effects, plan, next_business_day(opened + timedelta(days=plan.offset_days)), "red-action-plan")
        await apply_effects_batch(effects)

        escalate_on = opened + timedelta(days=request.policy.escalate_after_days)
        follow_up = self.touchpoint("red-follow-up")
        while self.promotion is None:
            next_follow_up = opened + timedelta(days=request.policy.follow_up_every_days * (self.follow_ups + 1))
            candidates = [d for d in (next_follow_up if follow_up else None, None if self.escalated_on else escalate_on) if d]
            wake = min(candidates, default=self.today() + timedelta(days=365))
            try:
                await workflow.wait_condition(
                    lambda: self.promotion is not None or bool(self.done),
                    timeout=until(wake, request.day_offset),
                    timeout_summary=f"{'follow-up' if follow_up and wake == next_follow_up else 'escalation'} on {wake}",
                )
            except TimeoutError:
                pass
            effects = Effects(account=account.id)
            self._close_done(effects)
            today = self.today()
            if self.promotion is None and self.escalated_on is None and escalate_on <= today:
                self._escalate(effects, escalate_on)
            if self.promotion is None and follow_up is not None and next_follow_up <= today:
                self.follow_ups += 1
                self._task(effects, follow_up, next_business_day(next_follow_up), f"red-follow-up/{self.follow_ups}")
            await apply_effects_batch(effects)

        closed = self.promotion.on
        effects = Effects(account=account.id)
        for _touchpoint, key in self.open_tasks:
            effects.task_changes.append(TaskChange(key=key, status="cancelled", done_on=closed, notes=self.promotion.reason))
        self.open_tasks.clear()
        effects.red_rows.append(
            RedTrackerRow(
                key=self.base,
                account=account.id,
                episode=request.episode,
                opened_on=opened,
                reason=request.reason,
                closed_on=closed,
                resolution=self.promotion.reason,
            )
        )
        self._timeline(effects, "remediation", "closed", closed, "closed", resolution=self.promotion.reason)
        await apply_effects_batch(effects)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RemediationOutcome(
            account=account.id,
            episode=request.episode,
            closed_on=closed,
            escalated=self.escalated_on is not None,
            follow_ups=self.follow_ups,
        )

    def _tp_detail(self, tp: Touchpoint, due: date) -> dict[str, object]:
        return {
            "due": due.isoformat(),
            "owner": tp.owner.value,
            "channel": tp.channel.value,
            "stage": self.request.stage.value,
            "playbook_version": self.request.playbook_version,
            "status": "queued" if tp.automated else "task",
            "episode": self.request.episode,
        }

    def _timeline(self, effects: Effects, kind: str, name: str, at: date, suffix: str, **detail: object) -> None:
        effects.timeline.append(
            TimelineEntry(key=f"{self.base}/{suffix}", account=self.request.account.id, at=at, kind=kind, name=name, detail=detail)  # type: ignore[arg-type]
        )

    def _task(self, effects: Effects, tp: Touchpoint, due: date, suffix: str) -> None:
        account = self.request.account
        key = f"{self.base}/{suffix}"
        self._timeline(effects, "touchpoint", tp.id, due, suffix, **self._tp_detail(tp, due))
        if tp.automated:
            effects.deliveries.append(
                Delivery(
                    key=key,
                    account=account.id,
                    touchpoint=tp.id,
                    channel="slack" if tp.channel.value == "slack" else "email",
                    recipient="#red-accounts" if tp.channel.value == "slack" else account.ta,
                    subject=f"{tp.title}: {account.name}",
                    body=f"{tp.title} for {account.name}, red since {self.request.opened_on}: {self.request.reason}",
                    due=due,
                )
            )
            return
        owner = {"ae": account.ae, "manager": "ta-manager"}.get(tp.owner.value, account.ta)
        effects.open_tasks.append(
            TaskOpen(
                key=key,
                account=account.id,
                touchpoint=tp.id,
                title=f"{tp.title} (with {account.ae})" if tp.id == "red-action-plan" else tp.title,
                owner_role=tp.owner.value,
                owner=owner,
                due=due,
                playbook_version=self.request.playbook_version,
            )
        )
        self.open_tasks.append((tp.id, key))

    def _close_done(self, effects: Effects) -> None:
        for done in self.done:
            match = next(((tp, key) for tp, key in self.open_tasks if tp == done.touchpoint), None)
            if match is not None:
                self.open_tasks.remove(match)
                effects.task_changes.append(
                    TaskChange(key=match[1], status="done", done_on=done.on or self.today(), notes=done.notes)
                )
        self.done.clear()

    def _escalate(self, effects: Effects, on: date) -> None:
        account = self.request.account
        self.escalated_on = on
        days = self.request.policy.escalate_after_days
        effects.red_rows.append(
            RedTrackerRow(
                key=self.base,
                account=account.id,
                episode=self.request.episode,
                opened_on=self.request.opened_on,
                reason=self.request.reason,
                escalated_on=on,
            )
        )
        self._timeline(effects, "remediation", "escalated", on, "escalated", days_red=days)
        for person in ("ta-manager", account.ae):
            effects.deliveries.append(
                Delivery(
                    key=f"{self.base}/escalation/{person}",
                    account=account.id,
                    touchpoint="red-follow-up",
                    channel="email",
                    recipient=person,
                    subject=f"Escalation: {account.name} has been red for {days} days",
                    body=f"{account.name} ({account.id}) turned red on {self.request.opened_on}: {self.request.reason}. "
                    f"It is still red after {days} days. TA {account.ta}, AE {account.ae}.",
                    due=on,
                )
            )
