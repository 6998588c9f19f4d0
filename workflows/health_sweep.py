"""`HealthSweep`: every night, score every account and tell the journeys whose health changed.

Started by the Temporal Schedule `journey-health-sweep` (see `journey.temporal.schedules`). One
activity (`score_health`) scores every active account in a few SQL passes and returns
only the accounts whose color or adoption band changed; a second (`send_health_updates`)
sends those journeys the `metrics` update, so a journey turned red by its score starts
remediation and one that recovers is promoted. Accounts whose health did not change cost
nothing beyond their row in the scoring queries.

The changes are told in batches of BATCH, PARALLEL_BATCHES of them at once, so the
batches spread over every worker polling and a slow journey holds up only its own batch;
each worker bounds the updates it has in flight (activities.health). Sweeps that began
before that told one batch at a time (patch `health-sweep-parallel-batches`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.health import HealthActivities
    from activities.messages import HealthPlan, HealthSweepInput, HealthUpdateBatch
    from journey.domain import names
    from journey.domain.enums import Health
    from journey.telemetry.metrics import record_health_sweep
    from workflows.messages import HealthSweepReport

# Journeys told per activity: a retry after a worker crash asks at most this many again
# (the update ids make the repeats no-ops).
BATCH = 100
# Batches told at once: enough to keep three or four workers' updates in flight.
PARALLEL_BATCHES = 8
# One batch at a time, 200 each: sweeps that began before the patch.
SEQUENTIAL_BATCH = 200
PARALLEL_PATCH = "health-sweep-parallel-batches"
# Rounds of "score, then tell": more than one only when a plan was cut at its size limit.
MAX_ROUNDS = 20


# Minutes long: finishes on the build it started on (workflows.deployment).
@workflow.defn(name=names.Workflow.HEALTH_SWEEP, versioning_behavior=VersioningBehavior.PINNED)
class HealthSweep:
    @workflow.run
    async def run(self, request: HealthSweepInput) -> HealthSweepReport:
        today = request.today or workflow.now().date()
        report = HealthSweepReport(today=today)
        for _ in range(MAX_ROUNDS):
            plan: HealthPlan = await workflow.execute_activity_method(
                HealthActivities.score_health,
                HealthSweepInput(today=today),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=10),
                summary=f"score every account on {today}",
            )
            report.scored = plan.scored
            report.changed += len(plan.changes)
            report.red.extend(c.account for c in plan.changes if c.update.color is Health.red)
            sent = await self._tell(plan, report)
            if not plan.more or sent == 0:
                break
        # The workflow's meter records nothing while replaying: once per run, as it ends.
        record_health_sweep(workflow.metric_meter(), workflow.now() - workflow.info().start_time, report.changed)
        return report

    async def _tell(self, plan: HealthPlan, report: HealthSweepReport) -> int:
        if not workflow.patched(PARALLEL_PATCH):
            sent = 0
            for start in range(0, len(plan.changes), SEQUENTIAL_BATCH):
                sent += await self._tell_batch(
                    HealthUpdateBatch(changes=plan.changes[start : start + SEQUENTIAL_BATCH]), report
                )
            return sent
        # Update ids name this run: a sweep triggered again the same night tells again.
        sweep = f"{workflow.info().workflow_id}/{workflow.info().run_id}"
        batches = [
            HealthUpdateBatch(changes=plan.changes[start : start + BATCH], sweep=sweep)
            for start in range(0, len(plan.changes), BATCH)
        ]
        # The workflow's event loop is deterministic: waiters get the semaphore in order.
        slots = asyncio.Semaphore(PARALLEL_BATCHES)

        async def tell(batch: HealthUpdateBatch) -> int:
            async with slots:
                return await self._tell_batch(batch, report)

        return sum(await asyncio.gather(*(tell(b) for b in batches)))

    async def _tell_batch(self, batch: HealthUpdateBatch, report: HealthSweepReport) -> int:
        """Tell one batch; the journeys told. A batch whose last attempt broke off counts
        as failed whole."""
        try:
            result = await workflow.execute_activity_method(
                HealthActivities.send_health_updates,
                batch,
                start_to_close_timeout=timedelta(minutes=30),
                # A worker that dies mid-batch is noticed in seconds; the retry tells the rest.
                heartbeat_timeout=timedelta(seconds=30),
                # Three attempts of at most UPDATE_TIMEOUT each: a journey that does not
                # answer costs the sweep about two minutes, not the night.
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=10),
                    maximum_interval=timedelta(minutes=2),
                    maximum_attempts=3,
                ),
                summary=f"tell {len(batch.changes)} journeys their health",
            )
        except ActivityError as err:
            # Only when the last attempt itself broke off (its worker died): who was told
            # is unknown, so none counts as told. Tomorrow's sweep finds those not told
            # changed again and retries them.
            workflow.logger.warning("health updates failed for %d journeys: %s", len(batch.changes), err.cause)
            report.failed += len(batch.changes)
            return 0
        report.sent += result.sent
        report.skipped += len(result.skipped)
        report.failed += len(result.failed)
        return result.sent
