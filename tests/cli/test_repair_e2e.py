"""A journey whose workflow task keeps failing is found (`journey list --stuck`), explained
(`journey status`, `journey repair`) and reset to its last good point (`journey repair
--yes`), through the command line against a real dev server.

The journeys run the real `AccountJourney` on a worker of this test's own, whose
interceptor cannot process what carries `POISON`: a `set_health` with that reason, or an
account of that name. Either raises a plain exception in the workflow task, so the SDK
retries that task for ever, as it would for any payload the code cannot process. A reset
drops the update with the failed task; the account, in the journey's start, stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest
from temporalio import client as temporal_client
from temporalio import worker as temporal_worker
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from journey.domain import names
from journey.domain.models import JourneyStatus
from journey.temporal.converter import data_converter
from journey.temporal.devserver import packaged_binary
from journey.temporal.journeys import enroll_one, stuck_journeys, visibility_query
from tests.helpers.accounts import make_account
from tests.helpers.journeys import quiet_settings, status_of
from workflows.messages import JourneyInput
from workflows.worker import build_worker

pytestmark = pytest.mark.slow

POISON = "a reason this worker cannot process"
TASK_QUEUE = "journey-repair-test"
ACCOUNT = "mended"


# The runs this worker has met the poisoned update in, and what it said. The server may
# drop an update whose workflow task failed; the worker keeps failing that run, as a worker
# with a bug would, so the run cannot heal on its own while the test looks at it (a retry of
# the task between two checks did, on a loaded machine). Keyed by run: the run a reset
# starts is processed as usual.
_CANNOT_PROCESS: dict[str, str] = {}


class _Poisoned(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        journey = input.args[0] if input.args else None
        if isinstance(journey, JourneyInput) and journey.account.name == POISON:
            raise RuntimeError("cannot process this account: unexpected name")
        if workflow.info().run_id in _CANNOT_PROCESS:
            raise RuntimeError(_CANNOT_PROCESS[workflow.info().run_id])
        return await super().execute_workflow(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        payload = input.args[0] if input.args else None
        if isinstance(payload, dict) and payload.get("reason") == POISON:
            message = f"cannot process {input.update}: unexpected reason"
            _CANNOT_PROCESS[workflow.info().run_id] = message
            raise RuntimeError(message)
        return await super().handle_update_handler(input)


class PoisonInterceptor(temporal_client.Interceptor, temporal_worker.Interceptor):
    """On the client a worker is built from, the SDK uses it as the worker's interceptor."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Poisoned


def run_journey(stack: Any, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [packaged_binary("journey"), *args],
        env=stack.env, input=answer, capture_output=True, text=True, timeout=60, check=False,
    )


async def journey(stack: Any, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a thread: the test's worker runs on this event loop meanwhile."""
    return await asyncio.to_thread(run_journey, stack, *args, answer=answer)


async def journey_json(stack: Any, *args: str) -> Any:
    import json

    done = await journey(stack, *args, "--json")
    assert done.returncode == 0, f"journey {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


async def eventually(check: Callable[[], Any], timeout: float = 60, interval: float = 0.5) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)


async def answered(handle: WorkflowHandle) -> JourneyStatus:
    try:
        return await status_of(handle)
    except WorkflowQueryFailedError as err:  # still loading its playbook
        raise AssertionError(str(err)) from None


def stuck_row(rows: list[dict[str, Any]], account: str = ACCOUNT) -> dict[str, Any] | None:
    return next((row for row in rows if row["account"] == account), None)


async def listed_as_stuck(stack: Any, account: str) -> dict[str, Any]:
    """`list --stuck`'s row of the account, once the server has marked it."""

    async def listed() -> dict[str, Any]:
        row = stuck_row(await journey_json(stack, "list", "--stuck"), account)
        assert row is not None
        return row

    return await eventually(listed)


def assert_one_line_error(done: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert done.returncode == exit_code, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


async def current_run(handle: WorkflowHandle) -> str:
    return (await handle.describe()).run_id


@contextlib.asynccontextmanager
async def poisoned_worker(stack: Any) -> AsyncIterator[Client]:
    """This test's worker on its own task queue, and its client."""
    client = await Client.connect(stack.address, data_converter=data_converter, interceptors=[PoisonInterceptor()])
    store = stack.store()
    try:
        async with build_worker(client, store, task_queue=TASK_QUEUE, settings=quiet_settings()):
            yield client
    finally:
        store.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_stuck_journey_is_listed_explained_and_repaired(stack: Any) -> None:
    async with poisoned_worker(stack) as client:
        assert await enroll_one(client, make_account(ACCOUNT, renewal=date(2030, 1, 15)), task_queue=TASK_QUEUE)
        handle = client.get_workflow_handle(names.journey_workflow_id(ACCOUNT))
        before = await eventually(lambda: answered(handle))

        healthy = await journey(stack, "repair", ACCOUNT)
        assert healthy.returncode == 0, healthy.stderr
        assert "is healthy" in healthy.stdout
        assert stuck_row(await journey_json(stack, "list", "--stuck")) is None
        stuck_run = await current_run(handle)

        poisoned = asyncio.create_task(
            handle.execute_update(names.Update.SET_HEALTH, {"color": "red", "reason": POISON})
        )

        row = await listed_as_stuck(stack, ACCOUNT)
        assert row["attempts"] >= 2
        assert "cannot process set_health: unexpected reason" in row["failure"]
        assert row["run_id"] == stuck_run
        assert row["stage"] == before.stage.value
        # Looking at each journey (a server without reported problems) finds the same.
        scanned = stuck_row(await stuck_journeys(client, visibility_query(), scan=True))
        assert scanned is not None and scanned["run_id"] == stuck_run and scanned["attempts"] >= 2
        # The plain listing keeps it, with its columns.
        plain = stuck_row(await journey_json(stack, "list"))
        assert plain is not None and plain["status"] == "running" and "failure" not in plain

        for command in (["status", ACCOUNT], ["health", ACCOUNT, "yellow", "--reason", "champion on leave"]):
            line = assert_one_line_error(await journey(stack, *command), exit_code=1)
            assert "is stuck" in line and "cannot process set_health" in line, line
            assert f"journey repair {ACCOUNT}" in line

        declined = await journey(stack, "repair", ACCOUNT, answer="n\n")
        assert declined.returncode == 1
        assert "cannot process set_health" in declined.stdout and "last good point" in declined.stdout
        assert await current_run(handle) == stuck_run

        # The reset starts a run without the update, which the worker processes.
        repaired = await journey_json(stack, "repair", ACCOUNT, "--yes")
        assert repaired["stuck"] is True and repaired["run_id"] == stuck_run, repaired
        assert repaired["failure"]["attempts"] >= 2
        assert repaired["reset"]["outcome"] == "progressing"
        new_run = repaired["reset"]["run_id"]
        assert new_run != stuck_run
        assert await current_run(handle) == new_run

        # The journey answers under its workflow id, as it was before the bad update.
        after = await journey_json(stack, "status", ACCOUNT)
        assert after["stage"] == before.stage.value and after["health"] == "green"
        with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises: the update is gone
            await asyncio.wait_for(poisoned, timeout=30)

        async def no_longer_stuck() -> None:
            assert stuck_row(await journey_json(stack, "list", "--stuck")) is None

        await eventually(no_longer_stuck)
        again = await journey(stack, "repair", ACCOUNT)
        assert again.returncode == 0 and "is healthy" in again.stdout

        # And it takes events again.
        moved = await journey_json(stack, "health", ACCOUNT, "yellow", "--reason", "champion on leave")
        assert moved["health"] == "yellow"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_reset_that_fails_again_says_the_cause_is_not_fixed(stack: Any) -> None:
    """A start input the code cannot process is in the history for good: a reset runs into
    it again, and repair says so."""
    async with poisoned_worker(stack) as client:
        assert await enroll_one(client, make_account("unread", name=POISON), task_queue=TASK_QUEUE)
        handle = client.get_workflow_handle(names.journey_workflow_id("unread"))
        try:
            row = await listed_as_stuck(stack, "unread")
            assert "cannot process this account: unexpected name" in row["failure"]
            assert row["reset_point"] == "first-task"

            done = await journey(stack, "repair", "unread", "--yes")
            line = assert_one_line_error(done, exit_code=1)
            assert "fails again" in line and "The cause is not fixed yet" in line and "unexpected name" in line
            new_run = await current_run(handle)
            assert new_run != row["run_id"]
            # Repairing again goes back to the same point, not further each time.
            again = await journey_json(stack, "repair", "unread", "--yes", "--wait", "0")
            assert again["run_id"] == new_run and again["failure"]["reset_point"] == "earlier-reset"
        finally:
            await handle.terminate("test over")


def test_repair_of_an_unknown_account_exits_2(stack: Any) -> None:
    line = assert_one_line_error(run_journey(stack, "repair", "nobody-here", "--yes"), exit_code=2)
    assert "nobody-here" in line
