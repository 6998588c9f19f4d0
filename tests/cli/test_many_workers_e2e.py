"""Many workers, one database: three `journey worker` processes share one dev server and
one PostgreSQL store. One is SIGKILLed while a portfolio is being enrolled, another while
the health sweep is telling journeys they turned red; once the survivor has finished what
they left, every journey was placed once, every timeline row and task written once, every
automated touch reached its receiver once, and every red account has one remediation.

Deliveries go to local Slack and SMTP receivers that record every message by its outbox
key. The portfolio is enrolled as `journey import` does it (`enroll_many`), with each
account's contacts, as `journey up --sample` does, so that the emails due at once have
someone to go to.
"""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle

from journey.config import team_from_env
from journey.delivery.smtp import message_id
from journey.domain import names
from journey.files import read_accounts, read_usage
from journey.store import Store
from journey.temporal.contacts import read_contacts
from journey.temporal.converter import data_converter
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server
from journey.temporal.journeys import enroll_many
from tests.cli.conftest import _subprocess_env
from tests.helpers.local_servers import SlackRecorder, SmtpRecorder
from tests.helpers.playbooks import always_open_playbooks
from tests.helpers.stores import postgres_schema
from tests.helpers.workers import READY, WorkerProcess

pytestmark = pytest.mark.slow

TODAY = datetime.now(UTC).date()
SEGMENTS = ["strategic", "large-enterprise", "small-enterprise", "commercial"]
# Recently signed accounts: each segment, and digital ones (commercial) whose license key
# and first best-practices email are due at once.
NEW = 24
# Steady accounts, a year into their contract; half of them far under their seats.
STEADY = 36
SEATS = 100
# A killed worker's sends, sweep and journeys are taken over after their timeouts (the
# sweep's heartbeat is 30 s): well within this on a busy machine.
SETTLE_S = 150.0


def recent_workday(today: date) -> date:
    """A Monday to Thursday at least two days back, so its day and the next are workdays
    before today whatever today is: touches due on both are due now."""
    day = today - timedelta(days=2)
    while day.weekday() > 3:
        day -= timedelta(days=1)
    return day


@dataclass
class Portfolio:
    accounts: Path
    contacts: Path
    usage: Path
    ids: list[str]
    red: set[str]


def write_portfolio(directory: Path) -> Portfolio:
    signed_new = recent_workday(TODAY)
    signed_old = TODAY - timedelta(days=300)
    accounts, contacts, usage, red = [], [], [], set()
    for i in range(NEW):
        segment = "commercial" if i % 2 else SEGMENTS[(i // 2) % 3]
        accounts.append([f"new-{i}", f"New {i}", segment, 1 + i % 3, SEATS, 20_000, signed_new, signed_new + timedelta(days=365), f"ta{i % 3}", "sam", "", "", ""])
    for i in range(STEADY):
        account = f"steady-{i}"
        accounts.append([
            account, f"Steady {i}", SEGMENTS[i % 4], 1 + i % 3, SEATS, 80_000, signed_old, TODAY + timedelta(days=200),
            f"ta{i % 3}", "sam", "", signed_old + timedelta(days=30), signed_old + timedelta(days=60),
        ])
        low = i % 2 == 0
        if low:
            red.add(account)
        mau = SEATS * 30 // 100 if low else SEATS * 90 // 100
        usage += [[account, TODAY - timedelta(days=d), mau // 2, mau] for d in range(1, 36)]
    for row in accounts:
        contacts.append([row[0], f"Champion of {row[1]}", f"champion@{row[0]}.example", "champion"])
    paths = {name: directory / f"{name}.csv" for name in ("accounts", "contacts", "usage")}
    headers = {
        "accounts": "id,name,segment,tier,seats,arr,signed,renewal,ta,ae,model,production_ready,onboarding_complete",
        "contacts": "account,name,email,role",
        "usage": "account,date,dau,mau",
    }
    for name, rows in (("accounts", accounts), ("contacts", contacts), ("usage", usage)):
        with paths[name].open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(headers[name].split(","))
            writer.writerows(rows)
    return Portfolio(paths["accounts"], paths["contacts"], paths["usage"], [str(row[0]) for row in accounts], red)


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    store: Store
    workers: list[WorkerProcess]
    slack: SlackRecorder
    smtp: SmtpRecorder

    def journey(self, *args: str) -> str:
        done = subprocess.run([packaged_binary("journey"), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"journey {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def worker_of(self, identity: str) -> WorkerProcess | None:
        pid = identity.split("@", 1)[0]
        return next((w for w in self.workers if str(w.pid) == pid and w.process and w.process.poll() is None), None)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with postgres_schema() as (database_url, store), SlackRecorder() as slack, SmtpRecorder(free_port()) as smtp:
        port = free_port()
        server = start_server(tmp_path / "temporal", ip="127.0.0.1", port=port, headless=True)
        env = _subprocess_env(tmp_path / "home", f"127.0.0.1:{port}") | {
            "JOURNEY_DATABASE_URL": database_url,
            "JOURNEY_SLACK_WEBHOOK_URL": slack.url,
            "JOURNEY_SMTP_HOST": "127.0.0.1",
            "JOURNEY_SMTP_PORT": str(smtp.port),
            # Touches due now go at once, whatever the hour and weekday the test runs.
            "JOURNEY_PLAYBOOKS_DIR": str(always_open_playbooks(tmp_path / "playbooks")),
        }
        workers = [WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in range(3)]
        try:
            for worker in workers:
                worker.launch()
            for worker in workers:
                worker.wait_for(READY)
            yield Cluster(f"127.0.0.1:{port}", env, store, workers, slack, smtp)
        finally:
            for worker in workers:
                worker.stop()
            stop_server(server)


async def until(check: Callable[[], Any], what: str, timeout: float = SETTLE_S, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await asyncio.to_thread(check)):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        await asyncio.sleep(every)
    return result


def placed(store: Store) -> int:
    """Journeys that have written their first effects (the account row comes with them)."""
    return len(store.account_ids())


async def enroll_and_kill(client: Client, cluster: Cluster, portfolio: Portfolio) -> tuple[int, int]:
    """Enroll the portfolio as `journey import` does; SIGKILL a worker once the first
    emails have arrived, while journeys are still being placed and their emails sent.
    Returns how many journeys were placed and emails received at the kill."""
    accounts = read_accounts(portfolio.accounts)
    contacts = read_contacts(portfolio.contacts, known_accounts={a.id for a in accounts})
    accounts = [a.model_copy(update={"contacts": [c.contact() for c in contacts if c.account == a.id]}) for a in accounts]
    enrolling = asyncio.create_task(enroll_many(client, accounts, team=team_from_env()))
    await until(lambda: len(cluster.smtp) > 0, "the first emails sent", every=0.02)
    at_kill = placed(cluster.store), len(cluster.smtp)
    cluster.workers[0].kill()
    report = await enrolling
    assert sorted(report.started) == sorted(portfolio.ids)
    return at_kill


async def sweep_and_kill(client: Client, cluster: Cluster, portfolio: Portfolio) -> tuple[WorkflowHandle[Any, Any], int]:
    """Trigger the health sweep; SIGKILL the worker that is telling the journeys once some
    turned red and before all have. Returns the sweep and how many were red at the kill."""
    started = json.loads(cluster.journey("schedule", "trigger", "health", "--no-wait", "--json"))
    sweep = client.get_workflow_handle(started["workflow_id"])

    async def teller() -> WorkerProcess | None:
        pending = (await sweep.describe()).raw_description.pending_activities
        for activity in pending:
            if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED and cluster.store.red_rows():
                return cluster.worker_of(activity.last_worker_identity)
        return None

    deadline = time.monotonic() + 60
    while (target := await teller()) is None:
        assert time.monotonic() < deadline, "the sweep never started telling the journeys"
        await asyncio.sleep(0.05)
    red_at_kill = len(cluster.store.red_rows())
    target.kill()
    return sweep, red_at_kill


def settled(store: Store, red: set[str]) -> bool:
    rows = store.deliveries()
    return (
        {r.account_id for r in store.red_rows()} == red
        and all(r.status not in ("pending", "sending", "confirming") for r in rows)
        and {r.account_id for r in rows if r.touchpoint == "red-alert"} == red
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_three_workers_two_killed_nothing_lost_nothing_twice(cluster: Cluster, tmp_path: Path) -> None:
    portfolio = write_portfolio(tmp_path)
    client = await Client.connect(cluster.address, data_converter=data_converter)
    store = cluster.store
    started = time.monotonic()

    placed_at_kill, emails_at_kill = await enroll_and_kill(client, cluster, portfolio)
    assert placed_at_kill < len(portfolio.ids), "the portfolio was placed before the kill"
    await until(lambda: placed(store) == len(portfolio.ids), "every journey placed by the surviving workers")
    # As `journey usage import` records it.
    store.write_usage(read_usage(portfolio.usage, known_accounts=set(portfolio.ids)))

    sweep, red_at_kill = await sweep_and_kill(client, cluster, portfolio)
    assert red_at_kill < len(portfolio.red), "the sweep was over before the kill"
    report = await asyncio.wait_for(sweep.result(), SETTLE_S)
    await until(lambda: settled(store, portfolio.red), "remediations started and every delivery settled")
    took = time.monotonic() - started

    # Every journey placed once: one run each, one `enrolled` row, each stage entered once.
    runs = [w async for w in client.list_workflows(f"WorkflowType='{names.Workflow.ACCOUNT_JOURNEY}'")]
    assert sorted(w.id for w in runs) == sorted(names.journey_workflow_id(a) for a in portfolio.ids)
    timeline = {a: store.timeline(a) for a in portfolio.ids}
    for account, rows in timeline.items():
        entries = Counter((r.kind, r.name) for r in rows if r.kind in ("event", "stage"))
        assert entries[("event", "enrolled")] == 1, (account, entries)
        assert all(n == 1 for (kind, _), n in entries.items() if kind == "stage"), (account, entries)
        # Every row once: no two rows say the same thing under different keys.
        same = Counter((r.kind, r.name, r.at, json.dumps(r.detail, sort_keys=True, default=str)) for r in rows)
        assert max(same.values()) == 1, (account, [k for k, n in same.items() if n > 1])
    tasks = Counter((t.account_id, t.touchpoint, t.due) for t in store.tasks(status=None))
    assert max(tasks.values()) == 1, [k for k, n in tasks.items() if n > 1]

    # Every red account has one remediation (one tracker row, one workflow); no other has any.
    remediations = [w async for w in client.list_workflows(f"WorkflowType='{names.Workflow.RED_ACCOUNT_REMEDIATION}'")]
    assert sorted(w.id for w in remediations) == sorted(names.remediation_workflow_id(a, 1) for a in portfolio.red)
    assert Counter(r.account_id for r in store.red_rows()) == Counter(portfolio.red)
    assert set(report["red"]) == portfolio.red, report
    # Each red journey accepted one `metrics` update from this sweep, under the sweep's id
    # for it, whichever attempt of its batch sent it.
    sweep_run = (await sweep.describe()).run_id
    for account in sorted(portfolio.red):
        history = await client.get_workflow_handle(names.journey_workflow_id(account)).fetch_history()
        accepted = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert [u for u in accepted if u.startswith(f"{sweep.id}/")] == [f"{sweep.id}/{sweep_run}/{account}"], account

    # Every delivery once. A row is `unknown` only when its worker died after the receiver
    # had the whole message and before its answer was recorded: it reached the receiver at
    # most once, and never more rows than the killed workers were sending at that moment.
    deliveries = store.deliveries()
    received = cluster.slack.keys() + Counter({key: n for key, n in cluster.smtp.keys().items()})
    arrivals = {r.key: received[r.key if r.channel == "slack" else message_id(r.key)] for r in deliveries}
    statuses = Counter(r.status for r in deliveries)
    assert set(statuses) <= {"sent", "skipped", "unknown"}, statuses
    assert {r.key for r in deliveries if r.status == "sent" and arrivals[r.key] != 1} == set()
    assert {r.key for r in deliveries if r.status == "skipped" and arrivals[r.key]} == set()
    assert all(arrivals[r.key] <= 1 for r in deliveries if r.status == "unknown")
    assert statuses["unknown"] <= 2 * 8, statuses  # eight sends at a time per worker
    assert sum(received.values()) == sum(arrivals.values()), "a message the outbox does not know arrived"
    assert statuses["sent"] >= NEW // 2 * 2 + len(portfolio.red), statuses  # the digital welcome emails and red alerts
    print(
        f"\nat the first kill: {placed_at_kill}/{len(portfolio.ids)} placed, {emails_at_kill} emails received; red at the second {red_at_kill}/"
        f"{len(portfolio.red)}; deliveries {dict(statuses)}; {took:.1f} s from the first enrollment"
    )
