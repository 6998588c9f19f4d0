"""`AccountJourney`: one durable workflow per account, for the account's whole life.

The workflow is a thin shell around `journey.domain.engine.Engine`: it keeps the business
calendar, sleeps until the next thing is due, writes the engine's effects through one
local activity per step, carries out the engine's commands (load a playbook, start or
end a red-account remediation, continue as new), and keeps the search attributes and the
Web UI's details current.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.messages import PlaybookRequest, UtilizationQuery
    from activities.store import StoreActivities
    from journey.domain import names
    from journey.domain.engine import (
        Command,
        ContinueAsNew,
        EndRemediation,
        Engine,
        ForwardTaskDone,
        ForwardTasksMoved,
        JourneyState,
        LoadPlaybook,
        StartRemediation,
    )
    from journey.domain.engine.checkpoint import Checkpoint
    from journey.domain.engine.contacts import parse_contacts_change
    from journey.domain.engine.review import parse_deliveries_reviewed
    from journey.domain.enums import EngagementModel
    from journey.domain.errors import InvalidEvent, PayloadError
    from journey.domain.events import TouchpointDone, parse_event, parse_metrics
    from journey.domain.models import JourneyStatus
    from journey.domain.playbook import Playbook, intern_playbook
    from journey.domain.task_moves import parse_tasks_moved
    from journey.domain.team import DEFAULT_TEAM
    from workflows import public_holidays  # noqa: F401  (installs the holiday source)
    from workflows import search_attributes as sa
    from workflows.clock import business_now, business_today, until
    from workflows.details import TIMER_DUE_DATES, journey_details, remediation_summary
    from workflows.effects import STORE_RETRY, STORE_TIMEOUT, Sends, apply_effects_batch
    from workflows.messages import JourneyInput, JourneyOutcome, PlaybookUpdate, Promotion, RemediationInput

# No adoption verdict without usage on or before the deadline (`no-data`, judged once
# usage for it is reported); journeys judged before this patch keep "missed".
ADOPTION_NEEDS_DATA = "adoption-needs-data"
# Events that would change nothing are refused, a once-only event on another date than the
# one on file too, and a repeat on that date is not recorded again; a task whose
# touchpoint `completes` an event reports that event when marked done.
EVENTS_THAT_CHANGE = "events-that-change"
# A stage that waits for a person's event, with nothing open and nothing ahead, gets a
# task naming that event: the journey never sits silent.
NEVER_SILENT = "never-silent"
# Tasks moved on the journey (snooze, reschedule, reassign) are moved in its running
# remediation too; journeys recorded before left the remediation's tasks where they were.
RED_TASKS_MOVED = "red-tasks-moved"


def _event_update(event: str) -> Any:
    """The update for one event a person reports: it takes one JSON object, which its
    validator checks against the event's model and the journey's stage."""

    async def handler(self: Any, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event(event, payload)

    def validator(self: Any, payload: dict[str, Any]) -> None:
        self._validate(event, payload)

    handler.__name__ = handler.__qualname__ = event
    update = workflow.update(name=event)(handler)
    update.validator(validator)
    return update


@workflow.defn(name=names.Workflow.ACCOUNT_JOURNEY)
class AccountJourney:
    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        self._engine: Engine | None = None
        self._start_offset = ((journey.today or workflow.now().date()) - workflow.now().date()).days
        if journey.state is not None:
            journey.state.playbook = intern_playbook(journey.state.playbook)
            # The SDK keeps the input for the whole run: let it hold the state's account
            # rather than a second decoded copy.
            journey.account = journey.state.account
            self._engine = Engine(journey.state)
        elif journey.playbook is not None:
            self._engine = self._enroll(journey, journey.playbook)
        self._wake = False
        self._applied = 0
        self._flushed = 0
        # Commands taken from the engine and not carried out yet: playbooks to load when
        # the journey next steps, the rest once the effects before them are written.
        self._loads: list[LoadPlaybook] = []
        self._follow_ups: list[Command] = []
        self._continue_as_new = False
        # A `metrics` update came since the last step (usage may have been reported).
        self._metrics_seen = False
        # Automated touches on their way; a run waits for them only before it ends.
        self._sends = Sends()
        self._never_silent = False

    # ----- the journey -----

    @staticmethod
    def _enroll(journey: JourneyInput, playbook: Playbook) -> Engine:
        today = journey.today or workflow.now().date()
        engine = Engine.enroll(
            journey.account,
            intern_playbook(playbook),
            today,
            chain=workflow.info().first_execution_run_id[:8],
            team=journey.team or DEFAULT_TEAM,
        )
        engine.s.day_offset = (today - workflow.now().date()).days
        return engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise ApplicationError("the journey is starting; try again in a moment", non_retryable=True)
        return self._engine

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyOutcome:
        # Asked once, first thing in the run's first activation: the marker then sits at
        # the same place in every history, whatever the journey does later.
        self._never_silent = workflow.patched(NEVER_SILENT)
        if self._engine is None:
            # Enrollment sends only the account; the playbook comes from the worker's files.
            model = journey.account.engagement_model
            playbook = await self._load_playbook(model, summary=f"{model.value} playbook")
            self._engine = self._enroll(journey, playbook)
            # The engine holds the shared (interned) copy; this one would live as long as
            # the journey in this suspended frame.
            del playbook
        engine = self.engine
        if not engine.s.placed:
            engine.place(self.today())
        while True:
            await self._step()
            if engine.terminal:
                break
            if self._continue_as_new or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._step()
                if not engine.terminal:
                    if not await self._sends_settled():
                        continue  # an update came while the sends were out: write it first
                    # The state carries the playbook; a second copy beside it would only
                    # double the next run's first event.
                    workflow.continue_as_new(JourneyInput(account=engine.s.account, state=engine.s))
            if workflow.patched(TIMER_DUE_DATES):
                wake, summary = engine.next_wake_summary(self.today())
            else:
                wake, why = engine.next_wake(self.today())
                summary = f"{why} on {wake}"
            self._wake = False
            try:
                await workflow.wait_condition(
                    lambda: self._wake,
                    timeout=until(wake, engine.s.day_offset),
                    timeout_summary=summary,
                )
            except TimeoutError:
                pass
        await self._sends.settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return JourneyOutcome(
            account=engine.s.account.id,
            stage=engine.s.stage,
            terms=engine.s.term,
            closed_on=self.today(),
            reason=engine.s.closed_reason,
        )

    async def _sends_settled(self) -> bool:
        """Wait for the automated touches still on their way (each ends within its retry
        policy); False as soon as an update comes meanwhile, which must not wait for them."""
        if self._sends.idle:
            return True
        self._wake = False
        await workflow.wait_condition(lambda: self._sends.idle or self._wake)
        return not self._wake

    def today(self) -> date:
        return business_today(self._engine.s.day_offset if self._engine else self._start_offset)

    async def _load_playbook(self, model: EngagementModel, summary: str | None = None) -> Playbook:
        found = await workflow.execute_local_activity_method(
            StoreActivities.load_playbook,
            PlaybookRequest(model=model),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary=summary,
        )
        return workflow.payload_converter().from_payload(found.payload, Playbook)

    async def _step(self) -> None:
        """Bring the journey up to today and write everything it decided."""
        engine = self.engine
        today = self.today()
        # A new engagement model's playbook is loaded before the calendar moves on; when the
        # model changed twice meanwhile, the latest one counts.
        self._take_commands()
        loads, self._loads = self._loads, []
        if loads and not engine.terminal:
            engine.use_playbook(intern_playbook(await self._load_playbook(loads[-1].model)), today)
        deadline = engine.adoption_due(today) if not engine.terminal else None
        if deadline is not None:
            needs_data = workflow.patched(ADOPTION_NEEDS_DATA)
            utilization = await self._utilization_on(deadline, "utilization at the adoption deadline")
            engine.judge_adoption(utilization, today, needs_data=needs_data)
        # Usage for a deadline judged without data reaches the journey with the sweep's
        # `metrics`: only then is the deadline's utilization asked for again.
        pending = engine.adoption_pending(today) if self._metrics_seen and not engine.terminal else None
        self._metrics_seen = False
        if pending is not None and workflow.patched(ADOPTION_NEEDS_DATA):
            utilization = await self._utilization_on(pending, "utilization at the adoption deadline, reported late")
            if utilization is not None:
                engine.judge_late(utilization, today)
        if not engine.terminal:
            engine.advance(today)
        await self._flush()

    async def _utilization_on(self, day: date, summary: str) -> float | None:
        result = await workflow.execute_local_activity_method(
            StoreActivities.fetch_utilization,
            UtilizationQuery(account=self.engine.s.account.id, on=day, seats=self.engine.s.account.seats),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary=summary,
        )
        return result.utilization

    async def _flush(self) -> None:
        """Write the effects, then carry out the commands decided with them; again while
        carrying them out (or an update meanwhile) brought more."""
        engine = self.engine
        while True:
            applied = self._applied
            # Here rather than in `_step`: an update while effects are being written is
            # flushed by this loop without another step.
            today = self.today()
            if self._never_silent and not engine.terminal and engine.needs_next_step(today):
                engine.open_next_step(today)
            self._take_commands()
            commands, self._follow_ups = self._follow_ups, []
            if not engine.has_effects() and not commands:
                break
            await apply_effects_batch(engine.take_effects(), self._sends, engine.s.day_offset)
            # Remediations start and end before the tasks marked done are forwarded to them.
            commands.sort(key=lambda c: isinstance(c, (ForwardTaskDone, ForwardTasksMoved)))
            for command in commands:
                await self._carry_out(command)
            self._flushed = applied
        self._flushed = self._applied
        self._upsert_search_attributes()
        workflow.set_current_details(journey_details(engine.status(self.today())))

    def _take_commands(self) -> None:
        for command in self.engine.take_commands():
            if isinstance(command, LoadPlaybook):
                self._loads.append(command)
            else:
                self._follow_ups.append(command)

    async def _carry_out(self, command: Command) -> None:
        if isinstance(command, StartRemediation):
            await self._start_remediation(command)
        elif isinstance(command, EndRemediation):
            await self._signal_remediation(names.Signal.PROMOTE, Promotion(on=command.on, reason=command.reason))
            self.engine.remediation_ended()
        elif isinstance(command, ForwardTaskDone):
            await self._signal_remediation(names.Signal.TASK_DONE, TouchpointDone(touchpoint=command.touchpoint, on=command.on))
        elif isinstance(command, ForwardTasksMoved):
            if workflow.patched(RED_TASKS_MOVED):
                await self._signal_remediation(names.Signal.TASKS_MOVED, command.payload)
        elif isinstance(command, ContinueAsNew):
            self._continue_as_new = True

    # ----- red-account remediation -----

    async def _start_remediation(self, command: StartRemediation) -> None:
        engine = self.engine
        child_id = names.remediation_workflow_id(engine.s.account.id, command.episode)
        episode = engine.red_episode(command.episode, command.on, command.reason)
        await workflow.start_child_workflow(
            names.Workflow.RED_ACCOUNT_REMEDIATION,
            RemediationInput(**dict(episode), day_offset=engine.s.day_offset),
            id=child_id,
            task_queue=workflow.info().task_queue,
            # The journey continues as new every term; remediation must outlive one run.
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=remediation_summary(engine.s.account.name, command.reason),
        )
        engine.remediation_started(child_id)

    async def _signal_remediation(self, signal: str, payload: object) -> None:
        child_id = self.engine.s.remediation_id
        if child_id is None:
            return
        try:
            await workflow.get_external_workflow_handle(child_id).signal(signal, payload)
        except Exception as err:  # the remediation already ended on its own: nothing to tell it
            workflow.logger.info("remediation %s not signalled: %s", child_id, err)

    # ----- updates: one per event -----

    # Updates take a plain JSON object and parse it here rather than in the data converter:
    # a converter failure reaches the caller as "Failed decoding arguments", while this
    # names every bad field, for the CLI and for `temporal workflow update` alike.

    def _validate(self, event: str, data: dict[str, Any]) -> None:
        try:
            payload = parse_event(event, data)
            if self._engine is not None:
                self._engine.validate(event, payload, self.today())
        except (InvalidEvent, PayloadError) as err:
            raise ValueError(str(err)) from None
        except Exception as err:  # a refusal all the same: the journey is untouched
            raise ValueError(f"{event} could not be checked: {type(err).__name__}: {err}") from None

    async def _event(self, event: str, data: dict[str, Any]) -> JourneyStatus:
        # An event can arrive before the first step has loaded the playbook: wait for it,
        # then check what the validator could not.
        await workflow.wait_condition(lambda: self._engine is not None)
        engine = self.engine

        def apply() -> None:
            payload = parse_event(event, data)
            strict = workflow.patched(EVENTS_THAT_CHANGE)
            try:
                engine.validate(event, payload, self.today(), strict)
            except InvalidEvent as err:
                raise ApplicationError(str(err), type="InvalidEvent", non_retryable=True) from None
            engine.apply(event, payload, self.today(), strict)

        self._change(event, apply)
        return await self._settled()

    def _change(self, update: str, change: Callable[[], None]) -> None:
        """Change the engine as `update` says, or, when that raises, leave the journey
        exactly as it was and fail only the update: an error escaping an update handler
        would fail the workflow task, and its retries would meet the same error for ever."""
        # The commands decided so far are the workflow's already, whatever happens next.
        self._take_commands()
        checkpoint = Checkpoint(self.engine)
        try:
            change()
        except ApplicationError:
            checkpoint.restore()
            raise
        except Exception as err:
            checkpoint.restore()
            workflow.logger.error("%s failed and was undone", update, exc_info=True)
            raise ApplicationError(
                f"{update} failed and was not applied; the journey is unchanged "
                f"({type(err).__name__}: {err})",
                type="UpdateFailed",
                non_retryable=True,
            ) from None

    async def _settled(self) -> JourneyStatus:
        """Wake the journey and wait until what this update changed is written."""
        self._applied += 1
        ticket = self._applied
        self._wake = True
        await workflow.wait_condition(lambda: self._flushed >= ticket)
        return self.engine.status(self.today())

    kickoff_held = _event_update(names.Update.KICKOFF_HELD)
    production_ready = _event_update(names.Update.PRODUCTION_READY)
    onboarding_complete = _event_update(names.Update.ONBOARDING_COMPLETE)
    set_health = _event_update(names.Update.SET_HEALTH)
    touchpoint_done = _event_update(names.Update.TOUCHPOINT_DONE)
    renewal_closed = _event_update(names.Update.RENEWAL_CLOSED)
    contract_changed = _event_update(names.Update.CONTRACT_CHANGED)
    offboard = _event_update(names.Update.OFFBOARD)

    # ----- updates from the engine's own tools -----

    # `metrics` takes a plain JSON object too, parsed in its validator like an event's.

    @workflow.update(name=names.Update.METRICS)
    async def metrics(self, data: dict[str, Any]) -> JourneyStatus:
        """From the health sweep: the latest measures and the scored color."""
        engine = self.engine

        def observe() -> None:
            update = parse_metrics(data)
            on = update.on or self.today()
            engine.observe_metrics(update.utilization, update.consumption)
            self._metrics_seen = True
            if update.color is not None:
                engine.apply_score(update.color, update.reason or "health score", on)

        self._change(names.Update.METRICS, observe)
        return await self._settled()

    @metrics.validator
    def _check_metrics(self, data: dict[str, Any]) -> None:
        try:
            update = parse_metrics(data)
        except PayloadError as err:
            raise ValueError(str(err)) from None
        self._check_open(update.on)

    def _check_open(self, on: date | None) -> None:
        """An update from the engine's tools needs a running journey, and a date it has reached."""
        engine, today = self.engine, self.today()
        if engine.terminal:
            raise ValueError(f"the journey of {engine.s.account.id} has ended")
        if on is not None and on > today:
            raise ValueError(f"field 'on': {on} is in the future (today is {today})")

    @workflow.update(name=names.Update.APPLY_PLAYBOOK)
    async def apply_playbook(self, update: PlaybookUpdate) -> JourneyStatus:
        engine = self.engine
        self._change(
            names.Update.APPLY_PLAYBOOK,
            lambda: engine.use_playbook(intern_playbook(update.playbook), update.on or self.today()),
        )
        return await self._settled()

    @apply_playbook.validator
    def _check_apply_playbook(self, update: PlaybookUpdate) -> None:
        model = self.engine.s.account.engagement_model
        if update.playbook.model is not model:
            raise ValueError(f"field 'playbook.model': {update.playbook.model.value} does not match the account's model {model.value}")
        self._check_open(update.on)

    # `contacts_changed` takes a plain JSON object too (`journey.domain.engine.contacts`).

    @workflow.update(name=names.Update.CONTACTS_CHANGED)
    async def contacts_changed(self, data: dict[str, Any]) -> JourneyStatus:
        """From `journey contacts`: contacts added, changed or removed; the last champion
        leaving is an event of its own."""
        # A change can arrive before the first step has loaded the playbook.
        await workflow.wait_condition(lambda: self._engine is not None)
        engine = self.engine
        changed = False

        def change() -> None:
            nonlocal changed
            update = parse_contacts_change(data)
            try:
                changed = bool(engine.change_contacts(update, self.today()))
            except InvalidEvent as err:
                raise ApplicationError(str(err), type="InvalidEvent", non_retryable=True) from None

        self._change(names.Update.CONTACTS_CHANGED, change)
        if not changed:
            return engine.status(self.today())
        return await self._settled()

    @contacts_changed.validator
    def _check_contacts(self, data: dict[str, Any]) -> None:
        try:
            update = parse_contacts_change(data)
            if self._engine is not None:
                self._engine.check_contacts(update, self.today())
        except (InvalidEvent, PayloadError) as err:
            raise ValueError(str(err)) from None
        except Exception as err:  # a refusal all the same: the journey is untouched
            raise ValueError(f"contacts_changed could not be checked: {type(err).__name__}: {err}") from None

    # `tasks_moved` takes a plain JSON object too (`journey.domain.engine.tasks`).

    @workflow.update(name=names.Update.TASKS_MOVED)
    async def tasks_moved(self, data: dict[str, Any]) -> JourneyStatus:
        """From `journey snooze` and `journey tasks reschedule|reassign`: open tasks moved
        to another day or handed to a colleague, and the cover for new tasks."""
        await workflow.wait_condition(lambda: self._engine is not None)
        engine = self.engine

        def move() -> None:
            change = parse_tasks_moved(data)
            try:
                engine.move_tasks(change, self.today())
            except InvalidEvent as err:
                raise ApplicationError(str(err), type="InvalidEvent", non_retryable=True) from None

        self._change(names.Update.TASKS_MOVED, move)
        return await self._settled()

    @tasks_moved.validator
    def _check_tasks_moved(self, data: dict[str, Any]) -> None:
        try:
            change = parse_tasks_moved(data)
            if self._engine is not None:
                self._check_open(None)
                self._engine.check_moves(change, self.today())
        except (InvalidEvent, PayloadError) as err:
            raise ValueError(str(err)) from None
        except ValueError:
            raise
        except Exception as err:  # a refusal all the same: the journey is untouched
            raise ValueError(f"tasks_moved could not be checked: {type(err).__name__}: {err}") from None

    # `deliveries_reviewed` takes a plain JSON object too (`journey.domain.engine.review`).

    @workflow.update(name=names.Update.DELIVERIES_REVIEWED)
    async def deliveries_reviewed(self, data: dict[str, Any]) -> JourneyStatus:
        """From `journey deliveries approve|skip`: touches held for review approved (sent
        in their send window) or dropped."""
        await workflow.wait_condition(lambda: self._engine is not None)
        engine = self.engine

        def review() -> None:
            change = parse_deliveries_reviewed(data)
            try:
                engine.review_deliveries(change, self.today(), business_now(engine.s.day_offset))
            except InvalidEvent as err:
                raise ApplicationError(str(err), type="InvalidEvent", non_retryable=True) from None

        self._change(names.Update.DELIVERIES_REVIEWED, review)
        return await self._settled()

    @deliveries_reviewed.validator
    def _check_deliveries_reviewed(self, data: dict[str, Any]) -> None:
        try:
            change = parse_deliveries_reviewed(data)
            if self._engine is not None:
                self._check_open(None)
                self._engine.check_review(change, self.today())
        except (InvalidEvent, PayloadError) as err:
            raise ValueError(str(err)) from None
        except ValueError:
            raise
        except Exception as err:  # a refusal all the same: the journey is untouched
            raise ValueError(f"deliveries_reviewed could not be checked: {type(err).__name__}: {err}") from None

    @workflow.query(name=names.Query.STATUS)
    def status(self) -> JourneyStatus:
        return self.engine.status(self.today())

    @workflow.query(name=names.Query.STATE)
    def state(self) -> JourneyState:
        return self.engine.s

    # ----- what the Web UI shows -----

    def _upsert_search_attributes(self) -> None:
        s = self.engine.s
        # The SDK keeps the info's search attributes up to date with every upsert.
        current = workflow.info().typed_search_attributes
        updates: list[SearchAttributeUpdate] = [
            key.value_set(value)
            for key, value in sa.account_attributes(s.account, s.stage.value, s.health.value)
            if current.get(key) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
