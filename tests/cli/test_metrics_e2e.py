"""Metrics and tracing through real processes: a dev server, `journey worker` with
JOURNEY_METRICS_PORT and an OTLP endpoint, and `journey` / `temporal` commands.

`/metrics` shows the SDK's `temporal_*` metrics and the engine's `journey_*` ones, and
`journey_deliveries_total{status="sent"}` moves when a journey's email goes out; a health
sweep and a failing workflow task show up where docs/operations.md says to alert on
them; the Grafana dashboard queries only metrics that exist; spans of the CLI and of the
worker reach a local OTLP/HTTP receiver.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from journey.telemetry.metrics import METRICS
from journey.temporal.devserver import free_port
from tests.cli.conftest import Stack, eventually, running_stack
from tests.helpers.dashboard import dashboard_metric_names
from tests.helpers.otlp import OtlpReceiver
from tests.helpers.playbooks import always_open_playbooks
from tests.helpers.prometheus import Scrape, scrape

pytestmark = pytest.mark.slow

# The latest weekday: automated touches fall due on business days, so a digital account
# signed then has its license-key email due now, whatever day the test runs.
LAST_BUSINESS_DAY = date.today() - timedelta(days=max(0, date.today().weekday() - 4))


class Observed:
    def __init__(self, stack: Stack, otlp: OtlpReceiver, metrics_url: str, outbox: Path) -> None:
        self.stack, self.otlp, self.metrics_url, self.outbox = stack, otlp, metrics_url, outbox

    def scrape(self) -> Scrape:
        return scrape(self.metrics_url)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    base = tmp_path_factory.mktemp("metrics")
    port = free_port()
    with OtlpReceiver() as otlp, running_stack(
        base,
        JOURNEY_METRICS_PORT=str(port),
        JOURNEY_OUTBOX_DIR=str(base / "outbox"),
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",  # ms: spans leave a running worker at once
        # Touches due now go at once, whatever the hour the test runs.
        JOURNEY_PLAYBOOKS_DIR=str(always_open_playbooks(base / "playbooks")),
    ) as stack:
        yield Observed(stack, otlp, f"http://127.0.0.1:{port}/metrics", base / "outbox")


def test_metrics_show_the_sdk_and_the_engine_and_move_when_a_delivery_is_sent(observed: Observed) -> None:
    before = observed.scrape()
    assert {name for name in before.names() if name.startswith("temporal_")}, "no SDK metrics"
    sent_before = before.value("journey_deliveries_total", channel="email", status="sent")
    assert sent_before == 0

    done = observed.stack.journey(
        "enroll", "--id", "metered", "--name", "Metered Ltd", "--segment", "commercial", "--tier", "3",
        "--seats", "40", "--arr", "12000", "--signed", LAST_BUSINESS_DAY.isoformat(),
        "--renewal", f"{date.today().year + 1}-12-01", "--ta", "tara", "--ae", "alex",
        "--contact", "champion:Chris Champion:chris@customer.example",
    )
    assert done.returncode == 0, done.stderr

    def sent() -> Scrape:
        page = observed.scrape()
        assert page.value("journey_deliveries_total", channel="email", status="sent") == 1
        return page

    after = eventually(sent, timeout=60)
    assert len(list(observed.outbox.glob("metered.license-key.*.eml"))) == 1
    assert (after.value("journey_touchpoints_fired_total", model="digital", kind="email") or 0) >= 1
    assert (after.value("temporal_workflow_task_execution_latency_seconds_count", workflow_type="AccountJourney") or 0) >= 1


def test_a_health_sweep_and_a_failing_workflow_task_show(observed: Observed) -> None:
    stack = observed.stack
    done = stack.journey("schedule", "trigger", "health")
    assert done.returncode == 0, done.stderr
    # A workflow task that fails: a workflow type no worker of this queue knows.
    broken = f"broken-{uuid.uuid4().hex[:6]}"
    done = stack.temporal("workflow", "start", "--type", "NoSuchWorkflow", "--task-queue", "journey", "--workflow-id", broken)
    assert done.returncode == 0, done.stderr

    def shown() -> Scrape:
        page = observed.scrape()
        assert (page.value("journey_health_sweep_duration_seconds_count", workflow_type="HealthSweep") or 0) >= 1
        assert (page.value("temporal_workflow_completed_total", workflow_type="HealthSweep") or 0) >= 1
        assert (page.value("temporal_workflow_task_execution_failed_total") or 0) >= 1
        return page

    try:
        page = eventually(shown, timeout=60)
    finally:
        stack.temporal("workflow", "terminate", "--workflow-id", broken, "--reason", "test")
    assert page.value("journey_health_sweep_accounts_changed_total") is not None
    assert_dashboard_reads_existing_metrics(page)


def test_spans_of_the_cli_and_the_worker_reach_the_collector(observed: Observed) -> None:
    done = observed.stack.journey(
        "enroll", "--id", "traced", "--name", "Traced Ltd", "--segment", "commercial", "--tier", "3",
        "--seats", "40", "--arr", "12000", "--signed", LAST_BUSINESS_DAY.isoformat(),
        "--renewal", f"{date.today().year + 1}-12-01", "--ta", "tara", "--ae", "alex",
    )
    assert done.returncode == 0, done.stderr

    def traced() -> None:
        spans = observed.otlp.spans()
        cli = [s for s in spans if s.service == "journey-cli" and "AccountJourney" in s.name]
        assert cli, f"no CLI span for the enrollment: {sorted({(s.service, s.name) for s in spans})}"
        trace = {s.trace_id for s in cli}
        worker = {s.name for s in spans if s.service == "journey-worker" and s.trace_id in trace}
        assert "RunWorkflow:AccountJourney" in worker, worker

    eventually(traced, timeout=30)


# ----- the dashboard -----

_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def assert_dashboard_reads_existing_metrics(page: Scrape) -> None:
    """Every metric the dashboard queries is one the code defines or this worker serves."""
    engine = {spec.name for spec in METRICS}
    served = page.names()
    used = dashboard_metric_names()
    assert {n for n in used if n.startswith("temporal_")}, "the dashboard shows no SDK metric"
    unknown = {n for n in used if n not in served and not _engine_histogram_part(n, engine)}
    unknown -= engine
    assert not unknown, f"the dashboard queries metrics nothing exports: {sorted(unknown)}"


def _engine_histogram_part(name: str, engine: set[str]) -> bool:
    return any(name.endswith(part) and name.removesuffix(part) in engine for part in _HISTOGRAM_PARTS)
