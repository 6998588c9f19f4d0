"""`journey server`, `journey worker`, `journey up`: the embedded stack."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journey.cli.common import Failure, open_store, run
from journey.domain.names import TASK_QUEUE

if TYPE_CHECKING:
    from journey.config import DeliverySettings, WorkerVersion
    from journey.telemetry.metrics import EngineMetrics
    from journey.temporal.runtime import MetricsEndpoint
    from workflows.deployment import VersionState

# The worker assembly's default, spelled out so `journey --help` does not import it
# (a test keeps them equal).
DEFAULT_MAX_CACHED_WORKFLOWS = 1_000
# On SIGTERM or Ctrl-C, running activities get this long to finish before they are
# cancelled, and the worker leaves at the latest after SHUTDOWN_LIMIT_S. Leaving with an
# activity still running is safe: its task times out and is retried elsewhere, and a send
# cut off before its handover delivered nothing (see journey.delivery.outbox).
SHUTDOWN_GRACE_S = 3.0
SHUTDOWN_LIMIT_S = 8.0


def server_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--ui-port", default=8233, show_default=True, help="Port of the Web UI.")(func)
    func = click.option("--port", default=7233, show_default=True, help="gRPC port of the server.")(func)
    func = click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")(func)
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the server keeps its state (default: $JOURNEY_HOME/temporal).",
    )(func)
    return func


def metrics_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--metrics-ip",
        default=None,
        help="Address to serve /metrics on [default: JOURNEY_METRICS_IP, else 127.0.0.1]; 0.0.0.0 to let "
        "another host scrape it.",
    )(func)
    func = click.option(
        "--metrics-port",
        type=click.IntRange(1, 65_535),
        default=None,
        help="Serve Prometheus metrics (the SDK's temporal_* and the engine's journey_*) at "
        "http://IP:PORT/metrics [default: JOURNEY_METRICS_PORT, else none].",
    )(func)
    return func


def metrics_endpoint(port: int | None, ip: str | None) -> MetricsEndpoint | None:
    """Where to serve metrics: the options win over JOURNEY_METRICS_PORT / JOURNEY_METRICS_IP;
    None when no port is set either way."""
    from journey import config
    from journey.temporal.runtime import MetricsEndpoint

    setting = "--metrics-port"
    if port is None:
        port, setting = config.metrics_port_from_env(), config.METRICS_PORT_SETTING
    ip_setting: str | None
    if ip is not None:
        address, ip_setting = config.ip_address(ip, "--metrics-ip"), "--metrics-ip"
    elif config.setting(config.METRICS_IP_SETTING) is not None:
        address, ip_setting = config.metrics_ip_from_env(), config.METRICS_IP_SETTING
    else:
        address, ip_setting = config.DEFAULT_METRICS_IP, None
    return None if port is None else MetricsEndpoint(address, port, setting, ip_setting)


def start_telemetry(endpoint: MetricsEndpoint | None) -> EngineMetrics | None:
    """Before anything else starts: the process's SDK runtime, serving `endpoint` if given
    (a taken port is a bad setting, exit 2), and tracing if an OTLP endpoint is set (a bad
    setting too when its packages are missing). The engine's metrics, or None."""
    from journey.telemetry import tracing
    from journey.telemetry.metrics import EngineMetrics
    from journey.temporal.runtime import process_runtime

    tracing.interceptors(tracing.WORKER_SERVICE)
    runtime = process_runtime(endpoint)
    if endpoint is None:
        return None
    click.echo(f"metrics at {endpoint.url}")
    return EngineMetrics(runtime.metric_meter)


def _state_dir(state_dir: Path | None) -> Path:
    from journey.config import journey_home

    return state_dir or journey_home() / "temporal"


def _start_server(state_dir: Path | None, ip: str, port: int, ui_port: int) -> tuple[Any, Path]:
    from journey.temporal.devserver import start_server

    directory = _state_dir(state_dir)
    try:
        return start_server(directory, ip=ip, port=port, ui_port=ui_port), directory
    except RuntimeError as err:
        raise Failure(str(err)) from None


@click.command()
@server_options
def server(state_dir: Path | None, ip: str, port: int, ui_port: int) -> None:
    """Run the embedded Temporal dev server with its Web UI; state is kept on disk."""
    from journey.temporal.devserver import stop_server

    process, directory = _start_server(state_dir, ip, port, ui_port)
    click.echo(f"Temporal dev server on {ip}:{port}, Web UI http://{ip}:{ui_port}, state in {directory}")
    click.echo("Press Ctrl-C to stop.")
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(process)


async def _run_worker(
    stop: asyncio.Event,
    *,
    task_queue: str,
    version: WorkerVersion,
    take_over: bool = False,
    max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS,
    metrics: EngineMetrics | None = None,
) -> bool:
    """Run a worker as `version` until `stop` is set; False if it had to leave activities
    running. `take_over`: make its version current whatever the current one is. With
    `metrics` (see `start_telemetry`) its activities count what they do and the portfolio
    gauges are kept current from the store."""
    from datetime import timedelta

    from journey.config import DeliverySettings, reports_dir
    from journey.telemetry.metrics import refresh_portfolio
    from journey.telemetry.tracing import WORKER_SERVICE
    from journey.temporal.client import connect
    from journey.temporal.schedules import ensure_schedules
    from workflows.worker import build_worker

    # Failed sends are logged (journey.delivery.outbox) with their key and reason.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _note_delivery_channels(DeliverySettings.from_env())
    store = open_store()
    client = await connect(WORKER_SERVICE)
    worker = build_worker(
        client,
        store,
        task_queue=task_queue,
        reports_dir=reports_dir(),
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=SHUTDOWN_GRACE_S),
        version=version,
        take_over=take_over,
        on_version=_note_version,
        metrics=metrics,
    )
    # The nightly health sweep and the daily task reminders run wherever a worker does.
    created = await ensure_schedules(client, task_queue=task_queue)
    if created:
        click.echo(f"created schedules: {', '.join(created)}")
    gauges = asyncio.create_task(refresh_portfolio(store, metrics)) if metrics is not None else None
    click.echo(
        f"worker polling task queue {task_queue!r} as version {version}; "
        f"database {store.engine.url.render_as_string(hide_password=True)}"
    )
    try:
        finished = await _serve(worker, stop)
    finally:
        if gauges is not None:
            gauges.cancel()
    if finished:
        store.close()  # else activities may still use it in their threads
    return finished


def _note_delivery_channels(settings: DeliverySettings) -> None:
    """Say at start where automated touches go, and warn when some can go nowhere (they
    would be `failed` at their first attempt)."""
    channels, missing = settings.channels(), settings.missing_channels()
    if not channels:
        click.echo(
            "warning: no delivery channel is configured (JOURNEY_SLACK_WEBHOOK_URL, JOURNEY_SMTP_HOST or "
            "JOURNEY_OUTBOX_DIR): every automated touch will be marked failed",
            err=True,
        )
        return
    click.echo(f"automated touches go to: {', '.join(channels)}")
    if missing:
        click.echo(f"warning: not configured: {', '.join(missing)}; those touches will be marked failed", err=True)


def _note_version(state: VersionState) -> None:
    """Say once the worker runs whether its version gets new work (see workflows.deployment)."""
    current = state.is_current or not state.supported
    click.echo(state.describe() if current else f"warning: {state.describe()}", err=not current)


def _outbox_dir_if_unconfigured() -> Path | None:
    """For `up`: `$JOURNEY_HOME/outbox` when neither Slack, SMTP nor JOURNEY_OUTBOX_DIR is set."""
    from journey.config import DeliverySettings, journey_home

    settings = DeliverySettings.from_env()
    if settings.slack_webhook_url or settings.smtp_host or settings.outbox_dir is not None:
        return None
    return journey_home() / "outbox"


async def _serve(worker: Any, stop: asyncio.Event) -> bool:
    """Run `worker` until `stop` is set, then shut it down within SHUTDOWN_LIMIT_S; False
    if activities were still running then. A fatal error of the worker rises at once."""
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if running.done():
        running.result()
        return True
    try:
        await asyncio.wait_for(asyncio.shield(worker.shutdown()), SHUTDOWN_LIMIT_S)
    except TimeoutError:
        return False
    await running
    return True


def _leave_if_abandoned(finished: bool) -> None:
    """Leave without joining the activity threads still running after the shutdown limit:
    the interpreter would otherwise wait for them at exit, however long they take."""
    if not finished:
        from journey.telemetry import tracing

        click.echo("worker stopped; activities still running were left to be retried elsewhere", err=True)
        tracing.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@click.command()
@click.option("--task-queue", default=TASK_QUEUE, show_default=True, help="Task queue to poll.")
@click.option(
    "--max-cached-workflows",
    type=click.IntRange(0),
    default=DEFAULT_MAX_CACHED_WORKFLOWS,
    show_default=True,
    help="Journeys kept in memory between wake-ups (about 100 KiB each); others are replayed when they wake.",
)
@click.option(
    "--deployment",
    default=None,
    metavar="NAME",
    help="Temporal Worker Deployment this worker belongs to (default: JOURNEY_DEPLOYMENT, else journey).",
)
@click.option(
    "--build-id",
    default=None,
    metavar="ID",
    help="This build's id within the deployment, e.g. a release tag or commit (default: JOURNEY_BUILD_ID, else the package version).",
)
@metrics_options
def worker(
    task_queue: str, max_cached_workflows: int, deployment: str | None, build_id: str | None,
    metrics_port: int | None, metrics_ip: str | None,
) -> None:
    """Run a worker: executes journeys and writes the store. Run several to scale out.

    The worker runs as version NAME.ID of a Temporal Worker Deployment. New journeys and
    sweeps go to the deployment's current version; a deployment that never had one gets
    this worker's. Roll out a new build by starting its workers and making it current
    with `temporal worker deployment set-current-version` (docs/operations.md)."""
    from journey.config import worker_version

    version = worker_version(deployment, build_id)
    metrics = start_telemetry(metrics_endpoint(metrics_port, metrics_ip))

    async def body() -> bool:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        return await _run_worker(
            stop, task_queue=task_queue, version=version, max_cached_workflows=max_cached_workflows, metrics=metrics
        )

    try:
        finished = run(body())
    except RuntimeError as err:
        raise Failure(f"worker stopped: {err}") from None
    _leave_if_abandoned(finished)
    click.echo("worker stopped")


@click.command()
@server_options
@click.option("--sample", is_flag=True, help="Enroll the sample portfolio (one account per segment and more).")
@metrics_options
def up(
    state_dir: Path | None,
    ip: str,
    port: int,
    ui_port: int,
    sample: bool,
    metrics_port: int | None,
    metrics_ip: str | None,
) -> None:
    """Run the dev server and a worker together; Ctrl-C stops both. The worker's version
    (JOURNEY_DEPLOYMENT, JOURNEY_BUILD_ID) becomes the current one."""
    from journey.config import worker_version
    from journey.temporal.devserver import stop_server

    version = worker_version()
    metrics = start_telemetry(metrics_endpoint(metrics_port, metrics_ip))
    os.environ["TEMPORAL_ADDRESS"] = f"{ip}:{port}"
    outbox_dir = _outbox_dir_if_unconfigured()
    if outbox_dir is not None:
        # A first run has no Slack or SMTP: touches land as files to read, not as failures.
        os.environ["JOURNEY_OUTBOX_DIR"] = str(outbox_dir)
        click.echo(f"no Slack or SMTP configured: automated touches are written as files to {outbox_dir}")
    process, directory = _start_server(state_dir, ip, port, ui_port)
    click.echo(f"Temporal dev server on {ip}:{port} (state in {directory})")
    click.echo(f"Web UI: http://{ip}:{ui_port}/namespaces/default/workflows")

    async def body() -> bool:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        # The embedded server's only worker: a newer build takes over from the one before.
        worker_task = asyncio.create_task(
            _run_worker(stop, task_queue=TASK_QUEUE, version=version, take_over=True, metrics=metrics)
        )
        if sample:
            await _enroll_sample()
        click.echo("Press Ctrl-C to stop the worker and the server.")
        return await worker_task

    finished = True
    try:
        finished = run(body())
    finally:
        stop_server(process)
        click.echo("server stopped")
    _leave_if_abandoned(finished)


async def _enroll_sample() -> None:
    from journey.config import team_from_env
    from journey.files import read_accounts
    from journey.temporal.client import connect
    from journey.temporal.contacts import read_contacts, sample_contacts
    from journey.temporal.journeys import enroll_many

    accounts = read_accounts(sample_portfolio())
    # Enrolled with their account map, so the touches due on the first day have recipients.
    contacts = read_contacts(sample_contacts(), known_accounts={a.id for a in accounts})
    accounts = [
        a.model_copy(update={"contacts": [c.contact() for c in contacts if c.account == a.id]}) for a in accounts
    ]
    # Usage and NPS first, so the journeys judge their adoption deadlines with data on file.
    load_sample_measurements({a.id for a in accounts}, date.today())
    client = await connect()
    report = await enroll_many(client, accounts, team=team_from_env())
    click.echo(
        f"sample portfolio: {len(report.started)} enrolled, {len(report.existing)} already enrolled, "
        f"{len(contacts)} contacts"
    )


def sample_portfolio() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "sample_accounts.csv"


def load_sample_measurements(accounts: set[str], today: date) -> None:
    """The sample portfolio's usage and NPS (journey/data/), up to `today`, into the store:
    upserts, so loading them again changes nothing."""
    from journey.files import read_nps, read_usage

    data = sample_portfolio().parent
    usage = [r for r in read_usage(data / "sample_usage.csv", known_accounts=accounts) if r.date <= today]
    nps = [r for r in read_nps(data / "sample_nps.csv", known_accounts=accounts) if r.date <= today]
    with open_store() as store:
        store.write_usage(usage)
        store.write_nps(nps)
    click.echo(f"sample portfolio: {len(usage)} usage rows and {len(nps)} NPS answers on file")
