"""The health sweep's activities: score every account, then tell the journeys that changed.

Workflows cannot send updates to other workflows, so the sending happens here, with the
worker's own Temporal client. The sweep runs several batches at once, on whichever workers
poll; each worker keeps at most `concurrency` updates in flight across all of its batches
(JOURNEY_SWEEP_CONCURRENCY), so more workers tell more journeys at once and one worker is
never flooded. A heartbeat records who has been told, so a retried attempt tells only the
rest; and every update carries an id made of the sweep run and the account, so a journey
told just before its worker died (too soon for the heartbeat) is not told twice: the
server answers a repeated id with the first answer. The last attempt reports the journeys
it could not tell instead of failing, so the sweep's counts say who was told and who was
not.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.messages import HealthChange, HealthPlan, HealthSweepInput, HealthUpdateBatch, HealthUpdateReport
from activities.retries import last_attempt
from journey.config import DEFAULT_SWEEP_CONCURRENCY, health_config_path
from journey.domain import names
from journey.domain.events import MetricsUpdate
from journey.domain.health import HealthConfig, ScoredAccount, is_change, load_health_config
from journey.domain.models import JourneyStatus
from journey.store import Store

log = logging.getLogger(__name__)

# Changes one plan carries (a workflow payload stays far below Temporal's 2 MB limit);
# the workflow scores again for the rest once these are told.
MAX_CHANGES_PER_PLAN = 2_000
# Reasons are for people; a long list is cut in the update (the score keeps them all).
MAX_REASON_CHARS = 300
# A journey answers its update in well under a second (it never waits for a receiver); one
# silent this long is stuck or its worker overloaded, and is retried or reported failed.
UPDATE_TIMEOUT = timedelta(seconds=30)
HEARTBEAT_EVERY = 5.0


class HealthActivities:
    """Bound to one store and one client, like the worker that runs them."""

    def __init__(
        self,
        store: Store,
        client: Client,
        health_config: str | Path | None = None,
        concurrency: int = DEFAULT_SWEEP_CONCURRENCY,
    ) -> None:
        self.store = store
        self.client = client
        self.health_config = Path(health_config) if health_config is not None else health_config_path()
        self.concurrency = concurrency
        # Shared by every batch this worker runs at once; made on the worker's event loop.
        self._in_flight: asyncio.Semaphore | None = None

    def in_flight(self) -> asyncio.Semaphore:
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self.concurrency)
        return self._in_flight

    def config(self) -> HealthConfig:
        # Read at every sweep, so an edited file takes effect the next night.
        return load_health_config(self.health_config)

    @activity.defn(name=names.Activity.SCORE_HEALTH)
    def score_health(self, request: HealthSweepInput) -> HealthPlan:
        """Score every active account; return the journeys whose color or band changed."""
        assert request.today is not None, "the workflow passes the day"
        scored = self.store.score_accounts(request.today, self.config())
        self.store.record_scores(scored)
        changes = [_change(s) for s in scored if is_change(s)]
        return HealthPlan(
            today=request.today,
            scored=len(scored),
            changes=changes[:MAX_CHANGES_PER_PLAN],
            more=len(changes) > MAX_CHANGES_PER_PLAN,
        )

    @activity.defn(name=names.Activity.SEND_HEALTH_UPDATES)
    async def send_health_updates(self, batch: HealthUpdateBatch) -> HealthUpdateReport:
        """Send each change as a `metrics` update, a few at a time; remember who was told."""
        details = activity.info().heartbeat_details
        told: set[str] = set(details[0]) if details else set()
        report = HealthUpdateReport(sent=len(told))
        errors: dict[str, str] = {}
        limit = self.in_flight()

        async def tell(change: HealthChange) -> None:
            async with limit:
                try:
                    await asyncio.wait_for(self._send(change, batch.sweep), UPDATE_TIMEOUT.total_seconds())
                except WorkflowUpdateFailedError as err:
                    # The journey refused (it has ended): nothing to tell it.
                    log.info("health update for %s refused: %s", change.account, err.cause)
                    report.skipped.append(change.account)
                    return
                except RPCError as err:
                    if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                        report.skipped.append(change.account)
                        return
                    errors[change.account] = str(err)
                    return
                except Exception as err:  # timeouts, a busy server: retried by Temporal
                    errors[change.account] = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                    return
            told.add(change.account)
            report.sent += 1
            activity.heartbeat(sorted(told))

        beating = asyncio.create_task(_heartbeat(told))
        try:
            await asyncio.gather(*(tell(c) for c in batch.changes if c.account not in told))
        finally:
            beating.cancel()
        activity.heartbeat(sorted(told))
        if errors:
            first = next(iter(errors.items()))
            if last_attempt() is None:
                raise ApplicationError(f"{len(errors)} health update(s) failed, e.g. {first[0]}: {first[1]}")
            for account, error in sorted(errors.items()):
                log.warning("health update for %s not delivered: %s", account, error)
            report.failed = sorted(errors)
        return report

    async def _send(self, change: HealthChange, sweep: str | None) -> None:
        handle = self.client.get_workflow_handle(names.journey_workflow_id(change.account))
        update_id = f"{sweep}/{change.account}" if sweep else None
        await handle.execute_update(names.Update.METRICS, change.update, id=update_id, result_type=JourneyStatus)
        await asyncio.to_thread(self.store.record_delivered, change.account, change.update.color, change.band)


async def _heartbeat(told: set[str]) -> None:
    """Keep the activity alive while updates wait on busy journeys."""
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY)
        activity.heartbeat(sorted(told))


def _change(scored: ScoredAccount) -> HealthChange:
    reason = scored.reason
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return HealthChange(
        account=scored.account,
        update=MetricsUpdate(
            on=scored.day,
            utilization=scored.measures.utilization,
            consumption=scored.measures.consumption,
            color=scored.color,
            reason=reason,
        ),
        band=scored.band,
    )
