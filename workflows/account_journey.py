"""`AccountJourney`: one durable workflow per account, for the account's whole life.

The workflow is a thin shell around `journey.engine.Engine`: it keeps the business
calendar, sleeps until the next thing is due, writes effects through one local
activity per step, sends automated touches, runs red-account remediation as a child
workflow, and keeps the search attributes and the Web UI's details current.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from journey import constants as names
    from journey.engine import RED_TOUCHPOINTS, Engine, InvalidEvent, JourneyState
    from journey.models import Effects, JourneyStatus, PayloadError, TouchpointDone, parse_event
    from journey.playbook import Playbook, intern_playbook
    from workflows.messages import (
        DeliveryBatch,
        JourneyInput,
        JourneyOutcome,
        MetricsUpdate,
        PlaybookRequest,
        PlaybookUpdate,
        Promotion,
        RemediationInput,
        UtilizationQuery,
        UtilizationResult,
    )

STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=50,
)


def business_today(day_offset: int) -> date:
    """The journey's own date: the server's clock shifted by a fixed number of days."""
    return (workflow.now() + timedelta(days=day_offset)).date()


def until(day: date, day_offset: int) -> timedelta:
    """Server-clock time from now until the start of the business date `day`."""
    target = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=day_offset)
    return max(target - workflow.now(), timedelta(seconds=1))


async def apply_effects_batch(effects: Effects) -> None:
    """Write one batch of effects, then send its automated touches."""
    if effects.empty():
        return
    await workflow.execute_local_activity(
        "apply_effects",
        effects,
        start_to_close_timeout=STORE_TIMEOUT,
        retry_policy=STORE_RETRY,
        summary=f"record {len(effects.timeline)} timeline rows",
    )
    if effects.deliveries:
        await workflow.execute_activity(
            "send_deliveries",
            DeliveryBatch(keys=[d.key for d in effects.deliveries]),
            start_to_close_timeout=timedelta(minutes=2),
            # A worker that dies mid-batch is noticed in seconds, not at the batch timeout.
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=DELIVERY_RETRY,
            summary=", ".join(sorted({d.touchpoint for d in effects.deliveries})),
        )


@workflow.defn(name=names.WORKFLOW_TYPE)
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
        # `done` for a red-account touchpoint is passed on to the remediation that owns it.
        self._forwards: list[tuple[str, date]] = []

    # ----- the journey -----

    @staticmethod
    def _enroll(journey: JourneyInput, playbook: Playbook) -> Engine:
        today = journey.today or workflow.now().date()
        engine = Engine.enroll(
            journey.account,
            intern_playbook(playbook),
            today,
            chain=workflow.info().first_execution_run_id[:8],
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
        if self._engine is None:
            # Enrollment sends only the account; the playbook comes from the worker's files.
            playbook = await workflow.execute_local_activity(
                "load_playbook",
                PlaybookRequest(model=journey.account.engagement_model),
                result_type=Playbook,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary=f"{journey.account.engagement_model.value} playbook",
            )
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
            if engine.new_term or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._step()
                if not engine.terminal:
                    engine.new_term = False
                    # The state carries the playbook; a second copy beside it would only
                    # double the next run's first event.
                    workflow.continue_as_new(JourneyInput(account=engine.s.account, state=engine.s))
            wake, why = engine.next_wake(self.today())
            self._wake = False
            try:
                await workflow.wait_condition(
                    lambda: self._wake,
                    timeout=until(wake, engine.s.day_offset),
                    timeout_summary=f"{why} on {wake}",
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return JourneyOutcome(
            account=engine.s.account.id,
            stage=engine.s.stage,
            terms=engine.s.term,
            closed_on=self.today(),
            reason=engine.s.closed_reason,
        )

    def today(self) -> date:
        return business_today(self._engine.s.day_offset if self._engine else self._start_offset)

    async def _step(self) -> None:
        """Bring the journey up to today and write everything it decided."""
        engine = self.engine
        today = self.today()
        if engine.playbook_needed and not engine.terminal:
            model = engine.playbook_needed
            engine.playbook_needed = None
            playbook = await workflow.execute_local_activity(
                "load_playbook",
                PlaybookRequest(model=model),
                result_type=Playbook,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            engine.use_playbook(intern_playbook(playbook), today)
        deadline = engine.adoption_due(today) if not engine.terminal else None
        if deadline is not None:
            result = await workflow.execute_local_activity(
                "fetch_utilization",
                UtilizationQuery(account=engine.s.account.id, on=deadline, seats=engine.s.account.seats),
                result_type=UtilizationResult,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="utilization at the adoption deadline",
            )
            engine.judge_adoption(result.utilization)
        if not engine.terminal:
            engine.advance(today)
        await self._flush()

    async def _flush(self) -> None:
        engine = self.engine
        while True:
            applied = self._applied
            requests, engine.remediation = engine.remediation, []
            forwards, self._forwards = self._forwards, []
            if not engine.has_effects() and not requests and not forwards:
                break
            await apply_effects_batch(engine.take_effects())
            for request in requests:
                if request.action == "start":
                    await self._start_remediation(request.episode, request.on, request.reason)
                else:
                    await self._end_remediation(request.on, request.reason)
            for touchpoint, on in forwards:
                await self._signal_remediation("task_done", TouchpointDone(touchpoint=touchpoint, on=on))
            self._flushed = applied
        self._flushed = self._applied
        self._upsert_search_attributes()
        workflow.set_current_details(self._details())

    # ----- red-account remediation -----

    async def _start_remediation(self, episode: int, on: date, reason: str) -> None:
        engine = self.engine
        child_id = names.remediation_workflow_id(engine.s.account.id, episode)
        await workflow.start_child_workflow(
            names.REMEDIATION_WORKFLOW_TYPE,
            RemediationInput(
                account=engine.s.account,
                episode=episode,
                opened_on=on,
                reason=reason,
                stage=engine.s.stage,
                day_offset=engine.s.day_offset,
                policy=engine.s.playbook.red,
                touchpoints=[tp for tp in engine.s.playbook.touchpoints if tp.id in RED_TOUCHPOINTS],
                playbook_version=engine.s.playbook.version,
            ),
            id=child_id,
            task_queue=workflow.info().task_queue,
            # The journey continues as new every term; remediation must outlive one run.
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"Red account {engine.s.account.name}: {reason}",
        )
        engine.remediation_started(child_id)

    async def _end_remediation(self, on: date, reason: str) -> None:
        await self._signal_remediation("promote", Promotion(on=on, reason=reason))
        self.engine.remediation_ended()

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

    async def _event(self, event: str, data: dict[str, Any]) -> JourneyStatus:
        # An event can arrive before the first step has loaded the playbook: wait for it,
        # then check what the validator could not.
        await workflow.wait_condition(lambda: self._engine is not None)
        engine = self.engine
        payload = parse_event(event, data)
        try:
            engine.validate(event, payload, self.today())
        except InvalidEvent as err:
            raise ApplicationError(str(err), type="InvalidEvent", non_retryable=True) from None
        engine.apply(event, payload, self.today())
        if (
            isinstance(payload, TouchpointDone)
            and payload.touchpoint in RED_TOUCHPOINTS
            and engine.s.remediation_id is not None
        ):
            self._forwards.append((payload.touchpoint, payload.on or self.today()))
        return await self._settled()

    async def _settled(self) -> JourneyStatus:
        """Wake the journey and wait until what this update changed is written."""
        self._applied += 1
        ticket = self._applied
        self._wake = True
        await workflow.wait_condition(lambda: self._flushed >= ticket)
        return self.engine.status(self.today())

    @workflow.update(name="kickoff_held")
    async def kickoff_held(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("kickoff_held", payload)

    @kickoff_held.validator
    def _check_kickoff_held(self, payload: dict[str, Any]) -> None:
        self._validate("kickoff_held", payload)

    @workflow.update(name="production_ready")
    async def production_ready(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("production_ready", payload)

    @production_ready.validator
    def _check_production_ready(self, payload: dict[str, Any]) -> None:
        self._validate("production_ready", payload)

    @workflow.update(name="onboarding_complete")
    async def onboarding_complete(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("onboarding_complete", payload)

    @onboarding_complete.validator
    def _check_onboarding_complete(self, payload: dict[str, Any]) -> None:
        self._validate("onboarding_complete", payload)

    @workflow.update(name="set_health")
    async def set_health(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("set_health", payload)

    @set_health.validator
    def _check_set_health(self, payload: dict[str, Any]) -> None:
        self._validate("set_health", payload)

    @workflow.update(name="touchpoint_done")
    async def touchpoint_done(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("touchpoint_done", payload)

    @touchpoint_done.validator
    def _check_touchpoint_done(self, payload: dict[str, Any]) -> None:
        self._validate("touchpoint_done", payload)

    @workflow.update(name="renewal_closed")
    async def renewal_closed(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("renewal_closed", payload)

    @renewal_closed.validator
    def _check_renewal_closed(self, payload: dict[str, Any]) -> None:
        self._validate("renewal_closed", payload)

    @workflow.update(name="contract_changed")
    async def contract_changed(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("contract_changed", payload)

    @contract_changed.validator
    def _check_contract_changed(self, payload: dict[str, Any]) -> None:
        self._validate("contract_changed", payload)

    @workflow.update(name="offboard")
    async def offboard(self, payload: dict[str, Any]) -> JourneyStatus:
        return await self._event("offboard", payload)

    @offboard.validator
    def _check_offboard(self, payload: dict[str, Any]) -> None:
        self._validate("offboard", payload)

    # ----- updates from the engine's own tools -----

    @workflow.update(name="metrics")
    async def metrics(self, update: MetricsUpdate) -> JourneyStatus:
        """From the health sweep: the latest measures and the scored color."""
        engine = self.engine
        on = update.on or self.today()
        engine.observe_metrics(update.utilization, update.consumption)
        if update.color is not None:
            engine.apply_score(update.color, update.reason or "health score", on)
        return await self._settled()

    @metrics.validator
    def _check_metrics(self, update: MetricsUpdate) -> None:
        if self.engine.terminal:
            raise ValueError(f"the journey of {self.engine.s.account.id} has ended")

    @workflow.update(name="apply_playbook")
    async def apply_playbook(self, update: PlaybookUpdate) -> JourneyStatus:
        self.engine.use_playbook(intern_playbook(update.playbook), update.on or self.today())
        return await self._settled()

    @apply_playbook.validator
    def _check_apply_playbook(self, update: PlaybookUpdate) -> None:
        model = self.engine.s.account.engagement_model
        if update.playbook.model is not model:
            raise ValueError(f"field 'playbook.model': {update.playbook.model.value} does not match the account's model {model.value}")
        if self.engine.terminal:
            raise ValueError(f"the journey of {self.engine.s.account.id} has ended")

    @workflow.query(name="status")
    def status(self) -> JourneyStatus:
        return self.engine.status(self.today())

    @workflow.query(name="state")
    def state(self) -> JourneyState:
        return self.engine.s

    # ----- what the Web UI shows -----

    def _upsert_search_attributes(self) -> None:
        s, account = self.engine.s, self.engine.s.account
        wanted: list[tuple[SearchAttributeKey, object]] = [
            (names.SA_STAGE, s.stage.value),
            (names.SA_HEALTH, s.health.value),
            (names.SA_SEGMENT, account.segment.value),
            (names.SA_MODEL, account.engagement_model.value),
            (names.SA_TA, account.ta),
            (names.SA_TIER, account.tier),
            (names.SA_RENEWAL, datetime(account.renewal.year, account.renewal.month, account.renewal.day, tzinfo=UTC)),
        ]
        # The SDK keeps the info's search attributes up to date with every upsert.
        current = workflow.info().typed_search_attributes
        updates: list[SearchAttributeUpdate] = [
            key.value_set(value)  # type: ignore[arg-type]
            for key, value in wanted
            if current.get(key) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)

    def _details(self) -> str:
        status = self.engine.status(self.today())
        lines = [
            f"## {status.name} (`{status.account}`)",
            f"**Stage** {status.stage.value} · **Health** {status.health.value}"
            + (f" ({status.health_reason})" if status.health_reason else ""),
            f"**Segment** {status.segment.value} · tier {status.tier} · {status.engagement_model.value} · "
            f"TA {status.ta} · AE {status.ae}",
            f"**Seats** {status.seats} · **ARR** {status.arr:,.0f} · **Renewal** {status.renewal_date} (term {status.term})",
        ]
        if status.adoption_deadline:
            result = f" — {status.adoption_result}" if status.adoption_result else ""
            lines.append(f"**Adoption deadline** {status.adoption_deadline}{result}")
        if status.remediation:
            lines.append(f"**Red-account remediation** `{status.remediation}`")
        if status.open_tasks:
            lines.append("")
            lines.append("| open task | owner | due |")
            lines.append("|---|---|---|")
            lines.extend(f"| {t.touchpoint} | {t.owner} | {t.due} |" for t in status.open_tasks[:10])
        if status.next_touchpoints:
            lines.append("")
            lines.append("Next: " + ", ".join(f"{t.touchpoint} {t.due}" for t in status.next_touchpoints))
        return "\n".join(lines)
