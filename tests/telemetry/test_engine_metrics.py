"""The engine's metrics (journey/telemetry/metrics.py), served by a real SDK runtime's
Prometheus exporter configured as a worker configures it, and counted where the action
happens: once per delivery outcome, once per touchpoint fired however often a step is
applied, once per reminder sweep's writes; gauges read from a real store."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.runtime import Runtime
from temporalio.testing import ActivityEnvironment

from activities.messages import ReminderSweepInput
from activities.reminders import ReminderActivities
from activities.store import StoreActivities
from journey.delivery.outbox import OutboxSender
from journey.domain.effects import (
    DELIVERY_STATUSES,
    Delivery,
    DeliveryChange,
    Effects,
    RedTrackerRow,
    TaskOpen,
    TimelineEntry,
)
from journey.domain.enums import EngagementModel, Stage
from journey.domain.playbook_files import load_playbooks
from journey.domain.touches import Touch
from journey.store import Store
from journey.store.schema import accounts
from journey.telemetry.metrics import (
    COUNTED_DELIVERY_STATUSES,
    METRICS,
    EngineMetrics,
    record_health_sweep,
    refresh_portfolio,
)
from journey.temporal.devserver import free_port
from journey.temporal.runtime import MetricsEndpoint, telemetry_config
from playbooks import DEFAULT_DIR
from tests.helpers.accounts import make_account
from tests.helpers.journeys import quiet_settings
from tests.helpers.prometheus import Scrape, scrape

DAY = date(2026, 3, 2)


class Served:
    """A runtime serving /metrics on a free port, as `journey worker --metrics-port` does."""

    def __init__(self) -> None:
        self.endpoint = MetricsEndpoint("127.0.0.1", free_port(), "--metrics-port")
        self.runtime = Runtime(telemetry=telemetry_config(self.endpoint))
        self.metrics = EngineMetrics(self.runtime.metric_meter)

    def scrape(self) -> Scrape:
        return scrape(self.endpoint.url)


@pytest.fixture
def served() -> Served:
    return Served()


@pytest.fixture
def digital_store(store: Store) -> Iterator[Store]:
    store.upsert_accounts([make_account("acme", segment="commercial", tier=3)])
    yield store


def test_every_engine_metric_is_served_under_its_prometheus_name(served: Served) -> None:
    record_health_sweep(served.runtime.metric_meter, timedelta(seconds=42), 3)
    served.metrics.portfolio({}, 0, {})
    page = served.scrape()
    for spec in METRICS:
        assert page.types.get(spec.name) == spec.kind, spec.name
    # Known label sets start at 0, so the first event is an increase Prometheus sees.
    for channel in ("email", "slack"):
        for status in COUNTED_DELIVERY_STATUSES:
            assert page.value("journey_deliveries_total", channel=channel, status=status) == 0
    assert page.value("journey_touchpoints_fired_total", model="digital", kind="task") == 0
    assert page.value("journey_reminders_sent_total") == 0
    # The sweep's duration in seconds, with buckets that reach past the SDK's 10 s.
    assert page.value("journey_health_sweep_duration_seconds_bucket", le="30") == 0
    assert page.value("journey_health_sweep_duration_seconds_bucket", le="60") == 1
    assert page.value("journey_health_sweep_duration_seconds_sum") == 42
    assert page.value("journey_health_sweep_accounts_changed_total") == 3
    assert not any(labels.get("service_name") for _, labels, _ in page.samples)


def test_the_sender_counts_each_outcome_by_channel(digital_store: Store, served: Served, tmp_path: Path) -> None:
    keys = ["acme/license-key/2026-03-02", "acme/red-1/red-alert", "acme/nurture-email/2026-03-02"]
    digital_store.apply_effects(
        Effects(account="acme", deliveries=[delivery(keys[0]), delivery(keys[1], "slack"), delivery(keys[2])])
    )
    # The third was handed over by a sender that died before the answer: in doubt.
    claimed = digital_store.claim_delivery(keys[2])
    assert claimed is not None and digital_store.hand_over(keys[2], str(claimed.claim))
    files = dataclasses.replace(quiet_settings(), outbox_dir=tmp_path / "outbox")
    sender = OutboxSender(digital_store, files, on_outcome=served.metrics.delivered)
    ActivityEnvironment().run(sender.deliver, [keys[0], keys[2]])
    ActivityEnvironment().run(sender.deliver, [keys[0], keys[2]])  # nothing new: nothing counted
    unconfigured = OutboxSender(digital_store, quiet_settings(), on_outcome=served.metrics.delivered)
    ActivityEnvironment().run(unconfigured.deliver, [keys[1]])

    page = served.scrape()
    assert page.value("journey_deliveries_total", channel="email", status="sent") == 1
    assert page.value("journey_deliveries_total", channel="email", status="unknown") == 1
    assert page.value("journey_deliveries_total", channel="slack", status="failed") == 1
    assert page.value("journey_deliveries_total") == 3


def test_touchpoints_fired_are_counted_once_however_often_a_step_is_applied(digital_store: Store, served: Served) -> None:
    effects = fired_step()
    activities = StoreActivities(digital_store, metrics=served.metrics)
    for _ in range(3):  # a retried local activity, a re-run after a lost workflow task
        activities.apply_effects(effects)

    page = served.scrape()
    fired = {(labels["model"], labels["kind"]): value for name, labels, value in page.samples
             if name == "journey_touchpoints_fired_total" and value}
    assert fired == {("digital", "task"): 1, ("digital", "email"): 1, ("digital", "slack"): 1}
    # A customer email with no one to go to is written `skipped`: counted as such, once.
    assert page.value("journey_deliveries_total", channel="email", status="skipped") == 1
    assert page.value("journey_deliveries_total", status="sent") == 0


def test_held_touches_and_those_dropped_in_review_are_counted_once(digital_store: Store, served: Served) -> None:
    held = delivery("acme/nurture-email/2026-03-02").model_copy(update={"held": True})
    kept = delivery("acme/license-key/2026-03-02").model_copy(update={"held": True})
    activities = StoreActivities(digital_store, metrics=served.metrics)
    activities.apply_effects(Effects(account="acme", deliveries=[held, kept]))
    dropped = DeliveryChange(key=held.key, touchpoint="nurture-email", status="skipped", reviewed_by="tara", reason="wrong")
    approved = DeliveryChange(key=kept.key, touchpoint="license-key", status="pending", reviewed_by="tara")
    for _ in range(2):
        activities.apply_effects(Effects(account="acme", delivery_changes=[dropped, approved]))

    page = served.scrape()
    assert page.value("journey_deliveries_total", channel="email", status="held") == 2
    assert page.value("journey_deliveries_total", channel="email", status="skipped") == 1
    assert {row.key: row.status for row in digital_store.deliveries(keys=[held.key, kept.key])} == {
        held.key: "skipped", kept.key: "pending",
    }


def test_reminders_and_escalations_are_counted_from_what_the_sweep_wrote(
    digital_store: Store, served: Served, tmp_path: Path
) -> None:
    overdue = TaskOpen(key="acme/kickoff/2026-02-01", account="acme", touchpoint="kickoff", title="Kickoff",
                       owner_role="ta", owner="tara", due=DAY - timedelta(days=30))
    digital_store.apply_effects(Effects(account="acme", open_tasks=[overdue]))
    files = dataclasses.replace(quiet_settings(), outbox_dir=tmp_path / "outbox")
    sender = OutboxSender(digital_store, files, on_outcome=served.metrics.delivered)
    sweep = ReminderActivities(digital_store, sender, metrics=served.metrics).remind_tasks
    for _ in range(2):  # the second run (a retry, the next day's schedule) finds it done
        ActivityEnvironment().run(sweep, ReminderSweepInput(today=DAY))

    page = served.scrape()
    assert page.value("journey_reminders_sent_total") == 1
    assert page.value("journey_escalations_sent_total") == 1
    assert page.value("journey_deliveries_total", channel="email", status="sent") == 2


def test_portfolio_gauges_follow_the_store(store: Store, served: Served) -> None:
    store.upsert_accounts([make_account(name) for name in ("a", "b", "c")])
    with store.engine.begin() as conn:
        conn.execute(accounts.update().where(accounts.c.id == "c").values(stage="onboarding", health="red"))
    store.apply_effects(Effects(account="c", red_rows=[
        RedTrackerRow(key="c/red-1", account="c", episode=1, opened_on=DAY, reason="usage"),
        RedTrackerRow(key="c/red-0", account="c", episode=0, opened_on=DAY, reason="old", closed_on=DAY),
    ]))

    page = refreshed(store, served, lambda page: page.value("journey_red_remediations_open") == 1)
    assert page.value("journey_journeys", stage="signed", health="green") == 2
    assert page.value("journey_journeys", stage="onboarding", health="red") == 1
    # Every stage and health is there, 0 where no journey is, so a pair that empties drops to 0.
    assert page.value("journey_journeys", stage="renewal", health="yellow") == 0
    assert len([1 for name, _, _ in page.samples if name == "journey_journeys"]) == len(Stage) * 3


def refreshed(store: Store, served: Served, ready: Callable[[Scrape], bool]) -> Scrape:
    """The page once `refresh_portfolio` has read the store and `ready` holds for it."""

    async def scraped() -> Scrape:
        task = asyncio.create_task(refresh_portfolio(store, served.metrics, every=timedelta(seconds=0.05)))
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                page = served.scrape()
                if ready(page):
                    return page
            raise AssertionError("the gauges were not refreshed")
        finally:
            task.cancel()

    return asyncio.run(scraped())


def test_the_outbox_gauge_counts_what_the_store_holds_whoever_sent_it(
    digital_store: Store, served: Served, tmp_path: Path
) -> None:
    digital_store.apply_effects(fired_step())
    page = refreshed(digital_store, served, lambda page: page.value("journey_outbox_deliveries", channel="email", status="pending") == 1)
    assert page.value("journey_outbox_deliveries", channel="slack", status="pending") == 1
    assert page.value("journey_outbox_deliveries", channel="email", status="skipped") == 1
    # Every channel and status is there, 0 where no row is.
    assert page.value("journey_outbox_deliveries", channel="email", status="sent") == 0
    assert len([1 for name, _, _ in page.samples if name == "journey_outbox_deliveries"]) == 2 * len(DELIVERY_STATUSES)

    # Sent by the command line (`deliveries resend`, `broadcast`): a sender without the
    # worker's counter. No worker counted it; the gauge shows it.
    files = dataclasses.replace(quiet_settings(), outbox_dir=tmp_path / "outbox")
    assert OutboxSender(digital_store, files).deliver(["acme/nurture-email/2026-03-02"]).sent == 1
    page = refreshed(digital_store, served, lambda page: page.value("journey_outbox_deliveries", channel="email", status="sent") == 1)
    assert page.value("journey_outbox_deliveries", channel="email", status="pending") == 0
    assert page.value("journey_deliveries_total", channel="email", status="sent") == 0


def test_without_a_metrics_port_nothing_is_counted_or_looked_up(digital_store: Store) -> None:
    metrics = EngineMetrics()
    assert not metrics.enabled

    def model() -> str:
        raise AssertionError("the account's model was read with metrics off")

    effects = fired_step()
    metrics.written(effects, digital_store.apply_effects(effects), model)
    StoreActivities(digital_store).apply_effects(effects)


# ----- helpers -----


def delivery(key: str, channel: str = "email", skipped: str | None = None) -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel=channel,  # type: ignore[arg-type]
        recipient="" if skipped else ("#red-accounts" if channel == "slack" else "chris@customer.example"),
        subject=f"Subject of {key}", body="Body", due=DAY, skipped=skipped,
    )


def fired_step() -> Effects:
    """One journey step as the engine writes it: a task opened, an email and a Slack post
    queued, an email with no address skipped, one touchpoint skipped before enrollment,
    and a stage change."""
    books = load_playbooks(DEFAULT_DIR)
    digital = {tp.id: tp for tp in books[EngagementModel.digital].touchpoints}
    task = next(tp for tp in books[EngagementModel.enterprise].touchpoints if not tp.automated)
    account = make_account("acme", segment="commercial", tier=3)

    def touch(tp_id: str, key: str) -> Touch:
        tp = task if tp_id == task.id else digital[tp_id]
        return Touch(touchpoint=tp, key=key, account=account, due=DAY, stage=Stage.onboarding, playbook_version="v1")

    return Effects(
        account="acme",
        timeline=[
            touch(task.id, f"acme/{task.id}/2026-03-02").timeline(),
            touch("nurture-email", "acme/nurture-email/2026-03-02").timeline(),
            touch("red-alert", "acme/red-1/red-alert").timeline(),
            touch("enablement", "acme/enablement/2026-03-02").timeline(status="skipped", reason="no address"),
            touch("announcement", "acme/announcement/2026-01-02").timeline(status="skipped"),
            TimelineEntry(key="acme/1/1", account="acme", at=DAY, kind="stage", name="onboarding"),
        ],
        deliveries=[
            delivery("acme/nurture-email/2026-03-02"),
            delivery("acme/red-1/red-alert", "slack"),
            delivery("acme/enablement/2026-03-02", skipped="no customer contact with an email address"),
        ],
    )


def test_the_store_says_what_a_step_wrote_new_on_each_database(any_store: Store) -> None:
    any_store.upsert_accounts([make_account("acme", segment="commercial", tier=3)])
    effects = fired_step()
    first, again = any_store.apply_effects(effects, track_new=True), any_store.apply_effects(effects, track_new=True)
    assert any_store.apply_effects(fired_step()).timeline == frozenset()  # not asked: not tracked
    assert first.timeline == {entry.key for entry in effects.timeline}
    assert first.outbox == {
        "acme/nurture-email/2026-03-02": ("email", "pending"),
        "acme/red-1/red-alert": ("slack", "pending"),
        "acme/enablement/2026-03-02": ("email", "skipped"),
    }
    assert (again.timeline, dict(again.outbox)) == (frozenset(), {})
    assert any_store.journeys_by_stage_and_health() == {("signed", "green"): 1}
    assert any_store.engagement_model("acme") == "digital" and any_store.open_remediations() == 0
    assert any_store.deliveries_by_channel_and_status() == {("email", "pending"): 1, ("slack", "pending"): 1, ("email", "skipped"): 1}
