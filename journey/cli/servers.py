"""`journey server`, `journey worker`, `journey up`: the embedded stack."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journey.cli.codec import DEFAULT_CODEC_PORT, describe_keys, open_codec_server
from journey.cli.common import Failure, open_store, run
from journey.domain.names import TASK_QUEUE

if TYPE_CHECKING:
    from journey.config import DeliverySettings, KeyRing, WorkerVersion
    from journey.telemetry.metrics import EngineMetrics
    from journey.temporal.keycheck import NewestJourney
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
    func = click.option(
        "--codec-port",
        type=click.IntRange(1, 65_535),
        default=DEFAULT_CODEC_PORT,
        show_default=True,
        help="With an encryption key set: port of the codec server the Web UI decodes payloads through.",
    )(func)
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


def _start_server(
    state_dir: Path | None, ip: str, port: int, ui_port: int, codec_endpoint: str | None = None
) -> tuple[Any, Path]:
    from journey.temporal.devserver import start_server

    directory = _state_dir(state_dir)
    try:
        return start_server(directory, ip=ip, port=port, ui_port=ui_port, codec_endpoint=codec_endpoint), directory
    except RuntimeError as err:
        raise Failure(str(err)) from None


def ui_origins(ip: str, ui_port: int) -> list[str]:
    """The origins a browser may show the Web UI under (the codec server allows them)."""
    origins = [f"http://{ip}:{ui_port}"]
    if ip == "127.0.0.1":
        origins.append(f"http://localhost:{ui_port}")
    return origins


@click.command()
@server_options
def server(state_dir: Path | None, ip: str, port: int, ui_port: int, codec_port: int) -> None:
    """Run the embedded Temporal dev server with its Web UI; state is kept on disk.

    With an encryption key set, the Web UI decodes payloads through a codec server on
    --codec-port: run `journey codec-server` beside it."""
    from journey.config import encryption_keys
    from journey.temporal.devserver import stop_server

    ring = encryption_keys()
    codec_endpoint = f"http://{ip}:{codec_port}" if ring.keys else None
    process, directory = _start_server(state_dir, ip, port, ui_port, codec_endpoint)
    click.echo(f"Temporal dev server on {ip}:{port}, Web UI http://{ip}:{ui_port}, state in {directory}")
    if codec_endpoint:
        origins = " ".join(f"--cors-origin {origin}" for origin in ui_origins(ip, ui_port))
        click.echo(
            f"payloads are encrypted: the Web UI decodes them through {codec_endpoint}; run "
            f"`journey codec-server --ip {ip} --port {codec_port} {origins}` beside it"
        )
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

    from journey.config import DeliverySettings, encryption_keys, reports_dir
    from journey.telemetry.metrics import refresh_portfolio
    from journey.temporal.schedules import ensure_schedules, reencrypt_schedules
    from workflows.worker import build_worker

    # Failed sends are logged (journey.delivery.outbox) with their key and reason.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _note_delivery_channels(DeliverySettings.from_env())
    ring = encryption_keys()
    store = open_store()
    client = await _connect_worker(ring, task_queue)
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
    reencrypted = await reencrypt_schedules(client)
    if reencrypted:
        click.echo(f"schedules' payloads re-encrypted with this worker's key: {', '.join(reencrypted)}")
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


async def _connect_worker(ring: KeyRing, task_queue: str) -> Any:
    """The worker's client. Its identity names the keys it reads (for the commands' check);
    a worker that cannot read the journeys would fail every task it takes, so it stops
    here (`journey.temporal.keycheck`)."""
    from journey.telemetry.tracing import WORKER_SERVICE
    from journey.temporal.client import connect
    from journey.temporal.keycheck import check_keys, worker_identity, workers_lacking

    client = await connect(ring, check=False, identity=worker_identity(ring), service=WORKER_SERVICE)
    _note_encryption(ring, await check_keys(client, ring))
    if ring.encrypting is not None:
        _note_workers_lacking(ring, task_queue, await workers_lacking(client, ring.encrypting.id, task_queue))
    return client


def _note_encryption(ring: KeyRing, newest: NewestJourney | None) -> None:
    """Say which key encrypts, and warn when the newest journey was written with another
    (a rotation's new key must be in every process's list before anyone encrypts with it)."""
    from journey.temporal.keycheck import encrypts_with_a_new_key

    if not ring.keys:
        return
    click.echo(f"payloads to Temporal are encrypted ({describe_keys(ring)})")
    if newest is not None and encrypts_with_a_new_key(newest, ring):
        click.echo(
            f"note: the newest journey, {newest.workflow_id}, was written with key id "
            f"{', '.join(sorted(newest.key_ids))}; this worker encrypts with {ring.ids[0]}: every worker and "
            f"client must have {ring.ids[0]} in its list ({ring.source}) before any of them encrypts with it",
            err=True,
        )


def _note_workers_lacking(ring: KeyRing, task_queue: str, lacking: list[str]) -> None:
    if lacking:
        click.echo(
            f"warning: this worker encrypts with key id {ring.ids[0]}, which worker(s) polling {task_queue!r} "
            f"cannot read: {'; '.join(lacking)}; journeys they take over from it fail until they have it",
            err=True,
        )


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
    from journey.config import sweep_concurrency, worker_version

    version = worker_version(deployment, build_id)
    sweep_concurrency()  # a bad JOURNEY_SWEEP_CONCURRENCY stops here, before anything starts
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
    codec_port: int,
    sample: bool,
    metrics_port: int | None,
    metrics_ip: str | None,
) -> None:
    """Run the dev server and a worker together; Ctrl-C stops both. The worker's version
    (JOURNEY_DEPLOYMENT, JOURNEY_BUILD_ID) becomes the current one.

    With an encryption key set, a codec server runs beside them on --codec-port, and the
    Web UI shows the payloads decoded through it."""
    from journey.config import encryption_keys, sweep_concurrency, worker_version
    from journey.temporal.devserver import stop_server

    version = worker_version()
    sweep_concurrency()  # a bad JOURNEY_SWEEP_CONCURRENCY stops here, before the server starts
    metrics = start_telemetry(metrics_endpoint(metrics_port, metrics_ip))
    ring = encryption_keys()
    codec = open_codec_server(ring, ip, codec_port, ui_origins(ip, ui_port), "--codec-port") if ring.keys else None
    os.environ["TEMPORAL_ADDRESS"] = f"{ip}:{port}"
    outbox_dir = _outbox_dir_if_unconfigured()
    if outbox_dir is not None:
        # A first run has no Slack or SMTP: touches land as files to read, not as failures.
        os.environ["JOURNEY_OUTBOX_DIR"] = str(outbox_dir)
        click.echo(f"no Slack or SMTP configured: automated touches are written as files to {outbox_dir}")
    try:
        process, directory = _start_server(state_dir, ip, port, ui_port, codec.url if codec else None)
    except BaseException:
        if codec is not None:
            codec.server_close()
        raise
    click.echo(f"Temporal dev server on {ip}:{port} (state in {directory})")
    click.echo(f"Web UI: http://{ip}:{ui_port}/namespaces/default/workflows")
    if codec is not None:
        codec.start()
        click.echo(f"codec server on {codec.url} for the Web UI ({describe_keys(ring)})")

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
        if codec is not None:
            codec.shutdown()
            codec.server_close()
        click.echo("server stopped")
    _leave_if_abandoned(finished)


async def _enroll_sample() -> None:
    from journey.config import team_from_env
    from journey.files import read_accounts
    from journey.temporal.client import connect
    from journey.temporal.contacts import read_contacts, sample_contacts
    from journey.temporal.journeys import enroll_many

    accounts = read_accounts(sample_portfolio())
    shift = sample_shift(accounts[0].id, accounts[0].signed, date.today())
    # Enrolled with their account map, so the touches due on the first day have recipients.
    contacts = read_contacts(sample_contacts(), known_accounts={a.id for a in accounts})
    accounts = [
        a.model_copy(update={
            "contacts": [c.contact() for c in contacts if c.account == a.id],
            **{name: getattr(a, name) + shift for name in SAMPLE_DATES if getattr(a, name) is not None},
        })
        for a in accounts
    ]
    # Usage and NPS first, so the journeys judge their adoption deadlines with data on file.
    load_sample_measurements({a.id for a in accounts}, date.today(), shift)
    client = await connect()
    report = await enroll_many(client, accounts, team=team_from_env())
    click.echo(
        f"sample portfolio: {len(report.started)} enrolled, {len(report.existing)} already enrolled, "
        f"{len(contacts)} contacts" + (f"; its dates moved {shift.days // 7} weeks on to today" if shift else "")
    )


def sample_portfolio() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "sample_accounts.csv"


# The day the sample's dates were written for, and the accounts' dates that move with it.
SAMPLE_WRITTEN_ON = date(2026, 12, 1)
SAMPLE_DATES = ("signed", "renewal", "production_ready", "onboarding_complete")


def sample_shift(first_account: str, first_signed: date, today: date) -> timedelta:
    """How far the sample moves so that it stands on `today` as it stood when written:
    whole weeks (weekdays stay), none before then. A sample enrolled before keeps the
    shift it was enrolled with, so `up --sample` again changes nothing."""
    with open_store() as store:
        enrolled = store.find_account(first_account)
    if enrolled is not None:
        return enrolled.signed - first_signed
    return timedelta(weeks=max(0, (today - SAMPLE_WRITTEN_ON).days // 7))


def load_sample_measurements(accounts: set[str], today: date, shift: timedelta = timedelta(0)) -> None:
    """The sample portfolio's usage and NPS (journey/data/), moved by `shift` and up to
    `today`, into the store: upserts, so loading them again changes nothing."""
    from journey.files import read_nps, read_usage

    data = sample_portfolio().parent
    usage = [r.model_copy(update={"date": r.date + shift}) for r in read_usage(data / "sample_usage.csv", known_accounts=accounts)]
    nps = [r.model_copy(update={"date": r.date + shift}) for r in read_nps(data / "sample_nps.csv", known_accounts=accounts)]
    usage = [r for r in usage if r.date <= today]
    nps = [r for r in nps if r.date <= today]
    with open_store() as store:
        store.write_usage(usage)
        store.write_nps(nps)
    click.echo(f"sample portfolio: {len(usage)} usage rows and {len(nps)} NPS answers on file")
