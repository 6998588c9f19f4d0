"""A dead receiver never blocks the team, a failed delivery never fails a journey.

Journeys run on the time-skipping server with a worker whose Slack webhook is a port
nobody listens on and whose SMTP server refuses the login (535), each delivery allowed two
attempts. Events, the `metrics` update, a playbook roll-out and the health sweep all
answer in seconds; the emails end `failed` at once with the server's words, the red-alert
post `failed` after its two attempts; the journeys run on, their stage unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.messages import MetricsUpdate
from journey.config import DeliverySettings, playbooks_dir
from journey.domain import names
from journey.domain.enums import EngagementModel
from journey.domain.playbook_files import load_playbooks
from journey.store import Store
from journey.store.records import OutboxRecord
from journey.temporal.converter import data_converter
from journey.temporal.devserver import free_port
from journey.temporal.journeys import enroll_one, send_event
from journey.temporal.playbooks import apply_playbook
from tests.helpers.journeys import quiet_settings, status_of
from tests.helpers.refusing_servers import LOGIN_REFUSED, RefusingSmtp
from tests.helpers.stores import add_usage
from tests.workflows.test_delivery import digital_account
from tests.workflows.test_health_sweep import START, make_account, sweep
from tests.workflows.test_lifecycle import SIGNED
from workflows.messages import JourneyOutcome
from workflows.worker import WORKFLOWS, build_worker, workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

T = TypeVar("T")

# What "returns at once" means here: far below any retry of a delivery.
PROMPT_S = 10.0
ATTEMPTS = 2


@pytest.fixture
def refusing_smtp() -> Iterator[RefusingSmtp]:
    with RefusingSmtp(free_port()) as server:
        yield server


def dead_receivers(smtp: RefusingSmtp) -> DeliverySettings:
    return replace(
        quiet_settings(),
        slack_webhook_url=f"http://127.0.0.1:{free_port()}/hook",
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_user="journey", smtp_password="expired",
        email_domain="example.com",
        delivery_attempts=ATTEMPTS,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def dead_worker(env: WorkflowEnvironment, store: Store, task_queue: str, refusing_smtp: RefusingSmtp) -> AsyncIterator[Worker]:
    async with build_worker(env.client, store, task_queue=task_queue, settings=dead_receivers(refusing_smtp)) as running:
        yield running


async def promptly(call: Awaitable[T]) -> T:
    """`call`'s result, asserting it came within PROMPT_S of wall-clock time."""
    started = time.monotonic()
    result = await asyncio.wait_for(call, PROMPT_S * 3)
    assert time.monotonic() - started < PROMPT_S, f"took {time.monotonic() - started:.1f} s"
    return result


async def settled(store: Store, account: str, done: Callable[[list[OutboxRecord]], bool], timeout: float = 60) -> list[OutboxRecord]:
    """The account's outbox rows once `done` holds for them (sends run after the updates)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = store.deliveries(account=account)
        if done(rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=data_converter, workflow_runner=workflow_runner())


def all_ended(rows: list[OutboxRecord]) -> bool:
    return bool(rows) and all(r.status not in ("pending", "sending", "confirming") for r in rows)


async def still_running(handle: WorkflowHandle, stage: str) -> None:
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await status_of(handle)).stage.value == stage


async def close(env: WorkflowEnvironment, account: str) -> None:
    """Promote (the remediation ends) and offboard, so no journey holds the test server's clock."""
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account))
    remediation = (await status_of(handle)).remediation
    await send_event(env.client, account, "set_health", {"color": "green", "reason": "test over"})
    await send_event(env.client, account, "offboard", {"reason": "test over"})
    with env.auto_time_skipping_disabled():
        await handle.result()
        if remediation is not None:
            await env.client.get_workflow_handle(remediation).result()


async def test_events_updates_and_apply_answer_while_every_delivery_fails(
    env: WorkflowEnvironment, store: Store, task_queue: str, dead_worker: Worker, refusing_smtp: RefusingSmtp
) -> None:
    account = digital_account("acct-dead-receivers")
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    # Enrollment queued the license-key email: the next event does not wait for the 535.
    status = await promptly(send_event(env.client, account.id, "kickoff_held", {}))
    assert status.stage.value == "onboarding"
    status = await promptly(send_event(env.client, account.id, "set_health", {"color": "red", "reason": "champion left"}))
    assert status.health.value == "red" and status.remediation is not None
    await promptly(handle.execute_update(names.Update.METRICS, MetricsUpdate(utilization=0.6), result_type=dict[str, Any]))

    digital = load_playbooks(playbooks_dir())[EngagementModel.digital]
    changed = digital.model_copy(update={"title": f"{digital.title} (edited)"})
    assert changed.version != digital.version
    report = await promptly(apply_playbook(env.client, changed, [account.id, "acct-nobody"]))
    assert report.applied == [account.id]
    assert [f["account"] for f in report.failed] == ["acct-nobody"]
    assert (await status_of(handle)).playbook_version == changed.version

    rows = await settled(store, account.id, all_ended)
    by_channel: dict[str, list[OutboxRecord]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    emails, posts = by_channel["email"], by_channel["slack"]
    # Login refused: failed at the first attempt, with the server's own words.
    assert {(r.status, r.attempts) for r in emails} == {("failed", 1)}
    assert all(LOGIN_REFUSED in str(r.last_error) for r in emails)
    # Nobody listening: retried, then failed with the reason once the attempts ran out.
    assert [(r.touchpoint, r.status, r.attempts) for r in posts] == [("red-alert", "failed", ATTEMPTS)]
    assert str(posts[0].last_error).startswith(f"gave up after {ATTEMPTS} attempts: ConnectionRefusedError")
    assert refusing_smtp.attempts > 0

    # The journey and its remediation run on.
    await still_running(handle, "onboarding")
    remediation = env.client.get_workflow_handle(str(status.remediation))
    assert (await remediation.describe()).status == WorkflowExecutionStatus.RUNNING
    await close(env, account.id)
    # Sends left running beside updates replay as they ran (the new commands are patched).
    for run in (handle, remediation):
        await replayer().replay_workflow(await run.fetch_history())


async def test_the_health_sweep_tells_every_journey_whatever_the_receivers_do(
    env: WorkflowEnvironment, store: Store, task_queue: str, dead_worker: Worker
) -> None:
    account = make_account("acct-dead-sweep")
    # Hardly used since February: the first score is red, and remediation posts to Slack.
    add_usage(store, [(account.id, START - timedelta(days=d), 10, 20) for d in range(60)])
    assert await enroll_one(env.client, account, today=START, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    await status_of(handle)

    report = await promptly(sweep(env, task_queue, START))
    assert (report.scored, report.changed, report.sent, report.skipped, report.failed) == (1, 1, 1, 0, 0)
    assert report.red == [account.id]
    status = await status_of(handle)
    assert status.health.value == "red" and status.remediation is not None

    rows = await settled(store, account.id, lambda rows: any(r.touchpoint == "red-alert" and r.status == "failed" for r in rows))
    [alert] = [r for r in rows if r.touchpoint == "red-alert"]
    assert (alert.status, alert.attempts) == ("failed", ATTEMPTS)
    await still_running(handle, "steady")
    await close(env, account.id)



@pytest.mark.slow  # three attempts of a send, 5 s and 10 s apart in real time
async def test_a_send_retrying_holds_no_update_and_the_end_waits_for_it(env: WorkflowEnvironment, store: Store, task_queue: str) -> None:
    """SMTP down: while the license-key email is retried (15 s), the events are answered at
    once; the journey's end waits for the send, which is then `failed`, not the journey."""
    down = replace(quiet_settings(), smtp_host="127.0.0.1", smtp_port=free_port(), delivery_attempts=3)
    async with build_worker(env.client, store, task_queue=task_queue, settings=down):
        account = digital_account("acct-smtp-down")
        assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
        handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
        await promptly(send_event(env.client, account.id, "kickoff_held", {}))
        rows = await settled(store, account.id, lambda rows: any(r.attempts >= 1 for r in rows), timeout=PROMPT_S)
        assert {r.status for r in rows if r.channel == "email"} <= {"pending", "sending"}
        await still_running(handle, "onboarding")
        await promptly(send_event(env.client, account.id, "offboard", {"reason": "test over"}))
        ended = await settled(store, account.id, all_ended)
        assert [(r.touchpoint, r.status, r.attempts) for r in ended] == [("license-key", "failed", 3)]
        assert str(ended[0].last_error).startswith("gave up after 3 attempts: ConnectionRefusedError")
        with env.auto_time_skipping_disabled():
            outcome = await env.client.get_workflow_handle(handle.id, result_type=JourneyOutcome).result()
        assert outcome.stage.value == "churned"


@pytest.mark.slow  # three attempts of a send, 5 s and 10 s apart in real time
async def test_a_new_term_waits_for_the_sends_but_not_the_updates(env: WorkflowEnvironment, store: Store, task_queue: str) -> None:
    """Renewed while its emails are retried: the run continues as new only once they are
    settled, and an update sent meanwhile is answered at once and carried into the new term."""
    down = replace(quiet_settings(), smtp_host="127.0.0.1", smtp_port=free_port(), delivery_attempts=3)
    async with build_worker(env.client, store, task_queue=task_queue, settings=down):
        account = digital_account("acct-renews-offline").model_copy(
            # Renewal due within 90 days: placed in `renewal` at once, the license key queued.
            update={"renewal": SIGNED + timedelta(days=60)}
        )
        assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
        handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
        first_run = (await handle.describe()).run_id
        assert (await status_of(handle)).stage.value == "renewal"
        assert await settled(store, account.id, lambda rows: any(r.attempts >= 1 for r in rows), timeout=PROMPT_S)
        renewed = await promptly(
            send_event(env.client, account.id, "renewal_closed", {"outcome": "renewed", "renewal_date": (SIGNED + timedelta(days=390)).isoformat()})
        )
        assert renewed.term == 2
        status = await promptly(send_event(env.client, account.id, "set_health", {"color": "yellow", "reason": "quiet after renewal"}))
        assert status.health.value == "yellow"
        assert (await handle.describe()).run_id == first_run  # sends still out: not continued yet
        ended = await settled(store, account.id, all_ended)
        assert ended and {r.status for r in ended if r.attempts == 3} == {"failed"}

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run

        deadline = time.monotonic() + PROMPT_S
        while not await continued() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await continued()
        status = await status_of(handle)
        assert (status.term, status.health.value) == (2, "yellow")
        await close(env, account.id)
        first = env.client.get_workflow_handle(handle.id, run_id=first_run)
        await replayer().replay_workflow(await first.fetch_history())
