"""The engine's metrics, prefix `journey_`, on the Temporal SDK runtime's meter.

A worker started with a metrics port (`journey worker --metrics-port`) serves one
Prometheus endpoint, `/metrics`, through the SDK runtime's own exporter
(`journey.temporal.runtime`): the SDK's metrics (`temporal_`) and these. They are
recorded on the same runtime's meter (`Runtime.metric_meter`, public API), which the
exporter serves as they are named here, with no prefix added. One exporter, one port
and no second HTTP server or scraping of our own; without a metrics port the runtime's
meter is the SDK's no-op meter, and `EngineMetrics.enabled` is False so that callers
skip even the work of building label sets.

Every count is taken where the action happens once: the outbox sender when a delivery
ends (`journey.delivery.outbox`, through its `on_outcome` hook), the `apply_effects`
activity from the rows the store actually inserted (a retried step inserts nothing and
counts nothing), the reminder sweep's activity from what its one transaction wrote. The
health sweep's duration is recorded when its run ends, on the workflow's meter, which
records nothing while a workflow replays. Gauges (journeys by stage and health, open
red-account remediations, outbox rows by channel and status) are read from the store
(`refresh_portfolio`): the outbox gauge also sees what the command line sent, which no
worker counts.

Exposed names follow Prometheus conventions: the runtime's exporter appends `_total` to
counters and `_seconds` to duration histograms (`journey.temporal.runtime`), so a
counter is created here without its `_total` and `METRICS` lists the names as scraped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from temporalio.common import MetricMeter

from journey.domain.effects import DELIVERY_CHANNELS, DELIVERY_STATUSES, Effects, TimelineEntry
from journey.domain.enums import EngagementModel, Health, Stage, values
from journey.domain.playbook import Channel

if TYPE_CHECKING:
    from journey.store import Store
    from journey.store.store import Written

log = logging.getLogger(__name__)

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric as Prometheus scrapes it: its name, type, labels and help text."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str

    @property
    def created_as(self) -> str:
        """The name given to the meter: the exporter adds `_total` to counters and
        `_seconds` to duration histograms."""
        if self.kind == "counter":
            return self.name.removesuffix("_total")
        if self.kind == "histogram":
            return self.name.removesuffix("_seconds")
        return self.name


DELIVERIES = MetricSpec(
    "journey_deliveries_total",
    "counter",
    ("channel", "status"),
    "Automated touches that reached an outbox status: sent, failed, unknown (in doubt), skipped, held",
)
TOUCHPOINTS_FIRED = MetricSpec(
    "journey_touchpoints_fired_total",
    "counter",
    ("model", "kind"),
    "Touchpoints that fell due and fired: a task opened (kind task) or a message queued (kind email, slack)",
)
REMINDERS_SENT = MetricSpec(
    "journey_reminders_sent_total", "counter", (), "Overdue tasks reminded by the reminder sweep"
)
ESCALATIONS_SENT = MetricSpec(
    "journey_escalations_sent_total", "counter", (), "Overdue tasks escalated by the reminder sweep"
)
HEALTH_SWEEP_DURATION = MetricSpec(
    "journey_health_sweep_duration_seconds",
    "histogram",
    (),
    "Duration of a nightly health sweep, from its start to the last journey told",
)
HEALTH_SWEEP_CHANGED = MetricSpec(
    "journey_health_sweep_accounts_changed_total",
    "counter",
    (),
    "Accounts whose health color or adoption band a health sweep changed",
)
JOURNEYS = MetricSpec(
    "journey_journeys", "gauge", ("stage", "health"), "Journeys (accounts) by stage and health, from the store"
)
RED_REMEDIATIONS_OPEN = MetricSpec(
    "journey_red_remediations_open", "gauge", (), "Red Accounts Program episodes not closed yet"
)
OUTBOX_DELIVERIES = MetricSpec(
    "journey_outbox_deliveries",
    "gauge",
    ("channel", "status"),
    "Deliveries in the outbox by channel and status, from the store (every sender's, the command line's too)",
)

METRICS = (
    DELIVERIES,
    TOUCHPOINTS_FIRED,
    REMINDERS_SENT,
    ESCALATIONS_SENT,
    HEALTH_SWEEP_DURATION,
    HEALTH_SWEEP_CHANGED,
    JOURNEYS,
    RED_REMEDIATIONS_OPEN,
    OUTBOX_DELIVERIES,
)

# Outbox statuses a delivery is counted in when it reaches them (`journey_deliveries_total`):
# the sender's outcomes, and the statuses a touch can be written with instead of `pending`.
# `simulated` (dry runs) is counted too but not listed: a worker never simulates.
COUNTED_DELIVERY_STATUSES = tuple(
    status for status in ("sent", "failed", "unknown", "skipped", "held") if status in DELIVERY_STATUSES
)
# A touchpoint's timeline row that did not fire: fell due before enrollment or had no one
# to go to (`skipped`), or was recorded as done without a task (`done`).
NOT_FIRED = ("skipped", "done")
# The sweep can take from seconds to hours (100,000 accounts): the SDK's default buckets
# stop at 10 s.
HEALTH_SWEEP_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0)
# How often a worker serving metrics reads the portfolio gauges from the store.
PORTFOLIO_REFRESH = timedelta(seconds=60)


def histogram_buckets() -> dict[str, list[float]]:
    """Bucket bounds of the engine's histograms, for the runtime's Prometheus exporter."""
    return {HEALTH_SWEEP_DURATION.created_as: list(HEALTH_SWEEP_BUCKETS)}


class EngineMetrics:
    """The engine's instruments on one meter (the worker's runtime meter; the no-op meter
    when nothing is served). Thread-safe: the SDK's instruments are."""

    def __init__(self, meter: MetricMeter | None = None) -> None:
        self.meter = meter or MetricMeter.noop
        self.enabled = self.meter is not MetricMeter.noop
        self._deliveries = self.meter.create_counter(DELIVERIES.created_as, DELIVERIES.help)
        self._fired = self.meter.create_counter(TOUCHPOINTS_FIRED.created_as, TOUCHPOINTS_FIRED.help)
        self._reminders = self.meter.create_counter(REMINDERS_SENT.created_as, REMINDERS_SENT.help)
        self._escalations = self.meter.create_counter(ESCALATIONS_SENT.created_as, ESCALATIONS_SENT.help)
        self._journeys = self.meter.create_gauge(JOURNEYS.created_as, JOURNEYS.help)
        self._remediations = self.meter.create_gauge(RED_REMEDIATIONS_OPEN.created_as, RED_REMEDIATIONS_OPEN.help)
        self._outbox = self.meter.create_gauge(OUTBOX_DELIVERIES.created_as, OUTBOX_DELIVERIES.help)
        if self.enabled:
            self._start_at_zero()

    def _start_at_zero(self) -> None:
        """Every known label set at 0 from the start, so that `increase()` and `rate()`
        see the first event, and dashboards show a flat line instead of no data."""
        for channel in DELIVERY_CHANNELS:
            for status in COUNTED_DELIVERY_STATUSES:
                self._deliveries.add(0, {"channel": channel, "status": status})
        for model in values(EngagementModel):
            for kind in values(Channel):
                self._fired.add(0, {"model": model, "kind": kind})
        self._reminders.add(0)
        self._escalations.add(0)

    def delivered(self, channel: str, status: str) -> None:
        """A delivery reached `status` (the outbox sender's outcome)."""
        if self.enabled:
            self._deliveries.add(1, {"channel": channel, "status": status})

    def written(self, effects: Effects, written: Written, model: Callable[[], str | None]) -> None:
        """Count what a journey step wrote for the first time: the touchpoints it fired and
        the touches that reached a status other than `pending` (written `held` or
        `skipped`, or dropped in review: `skipped`).
        `model` gives the account's engagement model when the step does not say it."""
        if not self.enabled:
            return
        fired = [kind for entry in effects.timeline if entry.key in written.timeline and (kind := fired_kind(entry))]
        if fired:
            label = effects.snapshot.model.value if effects.snapshot is not None else model() or "unknown"
            for kind in fired:
                self._fired.add(1, {"model": label, "kind": kind})
        for channel, status in written.outbox.values():
            if status != "pending":
                self._deliveries.add(1, {"channel": channel, "status": status})

    def reminded(self, reminders: int, escalations: int) -> None:
        if self.enabled:
            self._reminders.add(reminders)
            self._escalations.add(escalations)

    def portfolio(
        self,
        journeys: Mapping[tuple[str, str], int],
        open_remediations: int,
        outbox: Mapping[tuple[str, str], int],
    ) -> None:
        """Set the gauges; every (stage, health) and every (channel, status) of the outbox
        is set, 0 where none is."""
        if not self.enabled:
            return
        for stage in values(Stage):
            for health in values(Health):
                self._journeys.set(journeys.get((stage, health), 0), {"stage": stage, "health": health})
        self._remediations.set(open_remediations)
        for channel in DELIVERY_CHANNELS:
            for status in DELIVERY_STATUSES:
                self._outbox.set(outbox.get((channel, status), 0), {"channel": channel, "status": status})


def fired_kind(entry: TimelineEntry) -> str | None:
    """`task`, `email` or `slack` for a touchpoint's timeline row that fired; else None."""
    if entry.kind != "touchpoint" or entry.detail.get("status") in NOT_FIRED:
        return None
    channel = entry.detail.get("channel")
    return str(channel) if channel in values(Channel) else None


def record_health_sweep(meter: MetricMeter, duration: timedelta, changed: int) -> None:
    """One finished health sweep. Called by the sweep's workflow at its end with
    `workflow.metric_meter()`, which records nothing while the workflow replays, so each
    run is recorded once, when it ends; its labels add `namespace`, `task_queue` and
    `workflow_type`."""
    meter.create_histogram_timedelta(HEALTH_SWEEP_DURATION.created_as, HEALTH_SWEEP_DURATION.help, "duration").record(
        duration
    )
    meter.create_counter(HEALTH_SWEEP_CHANGED.created_as, HEALTH_SWEEP_CHANGED.help).add(changed)


async def refresh_portfolio(store: Store, metrics: EngineMetrics, every: timedelta = PORTFOLIO_REFRESH) -> None:
    """Keep the portfolio gauges current until cancelled: read them from the store now and
    every `every`. Every worker serving metrics reads the same figures (aggregate them
    with `max`), so none goes stale when another worker ran last night's sweep."""
    while True:
        try:
            journeys = await asyncio.to_thread(store.journeys_by_stage_and_health)
            remediations = await asyncio.to_thread(store.open_remediations)
            outbox = await asyncio.to_thread(store.deliveries_by_channel_and_status)
        except Exception as err:  # noqa: BLE001 (a database away for a while: the gauges wait for it)
            log.warning("portfolio gauges not refreshed: %s", err)
        else:
            metrics.portfolio(journeys, remediations, outbox)
        await asyncio.sleep(every.total_seconds())
