"""`RedAccountRemediation`: the Red Accounts Program for one red episode of one account.

Started by the account's journey when its health turns red. The decisions (the post and
tracker row, the action plan, follow-ups, the escalation, the close) are in
`journey.domain.remediation`; this workflow waits for the next one to fall due or for a
signal from the journey, writes what the domain decided, and ends when it is promoted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from journey.domain import names
    from journey.domain.events import TouchpointDone
    from journey.domain.remediation import Remediation
    from journey.domain.task_moves import Reassign, Reschedule, Snooze, parse_tasks_moved
    from workflows.clock import business_today, until
    from workflows.details import TIMER_DUE_DATES, remediation_details
    from workflows.effects import Sends, apply_effects_batch
    from workflows.messages import Promotion, RemediationInput, RemediationOutcome


@workflow.defn(name=names.Workflow.RED_ACCOUNT_REMEDIATION)
class RedAccountRemediation:
    @workflow.init
    def __init__(self, request: RemediationInput) -> None:
        self.request = request
        self.remediation = Remediation(request)
        self.promotion: Promotion | None = None
        self.done: list[TouchpointDone] = []
        self.moves: list[Snooze | Reschedule | Reassign] = []
        self.sends = Sends()

    @workflow.signal(name=names.Signal.PROMOTE)
    def promote(self, promotion: Promotion) -> None:
        self.promotion = promotion

    @workflow.signal(name=names.Signal.TASK_DONE)
    def task_done(self, done: TouchpointDone) -> None:
        self.done.append(done)

    @workflow.signal(name=names.Signal.TASKS_MOVED)
    def tasks_moved(self, data: dict[str, Any]) -> None:
        """From the journey: its open tasks were moved; this episode's move the same way.
        The journey checked the payload; one that does not parse is dropped (a signal
        cannot be refused, and an error here would stop the episode)."""
        try:
            self.moves.append(parse_tasks_moved(data))
        except ValueError as err:
            workflow.logger.warning("tasks_moved ignored: %s", err)

    @workflow.query(name=names.Query.STATUS)
    def status(self) -> dict[str, object]:
        return self.remediation.status()

    def today(self) -> date:
        return business_today(self.request.day_offset)

    @workflow.run
    async def run(self, request: RemediationInput) -> RemediationOutcome:
        remediation = self.remediation
        await apply_effects_batch(remediation.open(), self.sends)
        while self.promotion is None:
            workflow.set_current_details(remediation_details(remediation, self.today()))
            if workflow.patched(TIMER_DUE_DATES):
                wake, summary = remediation.next_wake_summary(self.today())
            else:
                wake, summary = remediation.next_wake(self.today())
            try:
                await workflow.wait_condition(
                    lambda: self.promotion is not None or bool(self.done) or bool(self.moves),
                    timeout=until(wake, request.day_offset),
                    timeout_summary=summary,
                )
            except TimeoutError:
                pass
            done = [(d.touchpoint, d.on or self.today(), d.notes) for d in self.done]
            moves, self.done, self.moves = self.moves, [], []
            await apply_effects_batch(
                remediation.catch_up(self.today(), done, promoted=self.promotion is not None, moves=moves), self.sends
            )
        promotion = self.promotion
        assert promotion is not None, "the loop ends when the account is promoted"
        await apply_effects_batch(remediation.close(promotion), self.sends)
        workflow.set_current_details(remediation_details(remediation, promotion.on))
        # The alert and follow-ups go out on their own; the episode ends once they have.
        await self.sends.settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RemediationOutcome(
            account=request.account.id,
            episode=request.episode,
            closed_on=promotion.on,
            escalated=remediation.escalated_on is not None,
            follow_ups=remediation.follow_ups,
        )
