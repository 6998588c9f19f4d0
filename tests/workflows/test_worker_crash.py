"""Killing the worker mid-journey loses nothing and writes no timeline row twice.

Journeys run on a real dev server with a `journey worker` process that is SIGKILLed
while it is busy (placing mid-life accounts, applying events, starting remediation),
then started again. Their timelines must equal those of the same journeys run on an
undisturbed worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from journey.domain.models import Account
from journey.store import Store
from journey.temporal.converter import data_converter
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server
from journey.temporal.journeys import enroll_many, send_event

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

TODAY = date.today()


def accounts(prefix: str) -> list[Account]:
    """Mid-life accounts: signed ~10 months ago, in production, some near renewal."""
    segments = ["strategic", "large-enterprise", "small-enterprise", "commercial"]
    signed = TODAY - timedelta(days=300)
    return [
        Account(
            id=f"{prefix}-{i}", name=f"Account {i}", segment=segments[i % 4], tier=1 + i % 3, seats=100, arr=50_000,
            signed=signed, renewal=signed + timedelta(days=365 + 20 * i), ta="ana", ae="sam",
            production_ready=signed + timedelta(days=30), onboarding_complete=signed + timedelta(days=60),
        )
        for i in range(6)
    ]


class WorkerProcess:
    def __init__(self, address: str, home: Path) -> None:
        self.env = {**os.environ, "JOURNEY_HOME": str(home), "TEMPORAL_ADDRESS": address, "PYTHONUNBUFFERED": "1"}
        self.log = home / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        marker = self.log.read_text() if self.log.exists() else ""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([packaged_binary("journey"), "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while self.log.read_text().count("worker polling") <= marker.count("worker polling"):
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = start_server(tmp_path / "temporal", port=port, headless=True)
    yield f"127.0.0.1:{port}"
    stop_server(server)


# A killed worker's journeys wait out their sticky and workflow task timeouts before the
# restarted one takes them: longer than a person at the CLI is asked to wait, on a busy machine.
ANSWER_S = 180.0


async def drive(client: Client, members: list[Account], task_queue: str, worker: WorkerProcess | None = None) -> None:
    enrolling = asyncio.create_task(enroll_many(client, members, today=TODAY, task_queue=task_queue))
    if worker is not None:
        await asyncio.sleep(0.4)
        worker.kill()
        worker.start()
    await enrolling
    print("enrolled", time.monotonic(), flush=True)
    await asyncio.gather(*(send_event(client, a.id, "set_health", {"color": "red", "reason": "champion left"}, timeout=ANSWER_S) for a in members))
    if worker is not None:
        # The red updates started remediation children that are now posting alerts and
        # writing tracker rows: kill the worker under them.
        worker.kill()
        worker.start()
    await asyncio.gather(*(send_event(client, a.id, "set_health", {"color": "yellow", "reason": "plan agreed"}, timeout=ANSWER_S) for a in members))


def comparable(store: Store, account_id: str) -> list[tuple[object, ...]]:
    """Timeline rows without ids, sorted: a journey and its remediation write concurrently."""
    rows = [
        (r.at, r.kind, r.name, sorted((r.detail or {}).items()))
        for r in store.timeline(account_id)
        # `journey worker` attaches value reports and plans (the reference worker has no reports dir).
        if (r.detail or {}).get("status") not in ("report attached", "plan attached")
    ]
    return sorted(rows, key=repr)


async def test_killed_worker_loses_nothing_and_duplicates_nothing(env, store, worker, task_queue, dev_server, tmp_path) -> None:
    reference = accounts("calm")
    await drive(env.client, reference, task_queue)
    # Journeys left running without a worker would hold the shared test server's clock.
    for account in reference:
        await env.client.get_workflow_handle(f"journey-{account.id}").terminate("test over")

    home = tmp_path / "home"
    home.mkdir()
    process = WorkerProcess(dev_server, home)
    process.start()
    crash_store = Store.open(f"sqlite:///{home / 'journey.db'}")
    try:
        client = await Client.connect(dev_server, data_converter=data_converter)
        crashed = [a.model_copy(update={"id": a.id.replace("calm", "crash")}) for a in reference]
        await drive(client, crashed, "journey", worker=process)
        # Remediation closes after the promotion, asynchronously: give the restarted
        # worker time to finish what the killed one left.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            len(comparable(crash_store, crash.id)) < len(comparable(store, calm.id))
            for calm, crash in zip(reference, crashed, strict=True)
        ):
            await asyncio.sleep(0.5)
        for calm, crash in zip(reference, crashed, strict=True):
            calm_rows = comparable(store, calm.id)
            assert len(calm_rows) > 8
            assert comparable(crash_store, crash.id) == calm_rows
            keys = [r.key for r in crash_store.timeline(crash.id)]
            assert len(keys) == len(set(keys))
        assert len(crash_store.red_rows()) == len(reference)
    finally:
        process.kill()
        crash_store.close()
