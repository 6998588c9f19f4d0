"""`HealthSweep`: every night, score every account and tell the journeys whose health changed.

Started by the Temporal Schedule `journey-health-sweep` (see `journey.temporal.schedules`). One
activity (`score_health`) scores every active account in a few SQL passes and returns
only the accounts whose color or adoption band changed; a second (`send_health_updates`)
sends those journeys the `metrics` update, so a journey turned red by its score starts
remediation and one that recovers is promoted. Accounts whose health did not change cost
nothing beyond their row in the scoring queries.
"""

from __future__ import annotations

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

# Journeys told per activity: a retry after a worker crash repeats at most this many.
BATCH = 200
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
        sent = 0
        for start in range(0, len(plan.changes), BATCH):
            batch = plan.changes[start : start + BATCH]
            try:
                result = await workflow.execute_activity_method(
                    HealthActivities.send_health_updates,
                    HealthUpdateBatch(changes=batch),
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
                    summary=f"tell {len(batch)} journeys their health",
                )
            except ActivityError as err:
                # Only when the last attempt itself broke off (its worker died): who was told
                # is unknown, so none counts as told. Tomorrow's sweep finds those not told
                # changed again and retries them.
                workflow.logger.warning("health updates failed for %d journeys: %s", len(batch), err.cause)
                report.failed += len(batch)
                continue
            sent += result.sent
            report.sent += result.sent
            report.skipped += len(result.skipped)
            report.failed += len(result.failed)
        return sent
