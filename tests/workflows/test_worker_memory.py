"""What a worker keeps per cached journey (bench/enroll.py measures the memory itself)."""

from __future__ import annotations

import gc
from datetime import date, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from journey.models import Account
from journey.operations import enroll_one, journey_input, static_details, static_summary
from tests.conftest import status_of
from workflows.messages import JourneyInput

SIGNED = date(2026, 1, 5)


def account(account_id: str = "acct-memory") -> Account:
    return Account(
        id=account_id, name="Memory Co", segment="strategic", tier=3, seats=50, arr=20_000.0,
        signed=SIGNED, renewal=SIGNED + timedelta(days=365), ta="ana", ae="sam",
    )


def test_start_input_is_compact_and_reads_back_whole() -> None:
    acct = account()
    for today in (None, SIGNED):
        data = journey_input(acct, today).payload.data
        assert JourneyInput.model_validate_json(data) == JourneyInput(account=acct, today=today)
        assert len(data) < len(JourneyInput(account=acct, today=today).model_dump_json()) - 80
    # The details leave out what the summary already says.
    assert acct.name in static_summary(acct) and acct.name not in static_details(acct)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_placed_journey_keeps_no_start_activation(env: WorkflowEnvironment, worker: Worker, task_queue: str) -> None:
    """The SDK would keep each run's decoded first activation (start input, search
    attributes) alive through a few sub-messages; `JourneyWorkflowRunner` gives those their
    own copies. An SDK upgrade that keeps the activation another way fails here."""
    acct = account()
    assert await enroll_one(env.client, acct, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(f"journey-{acct.id}")
    try:
        assert (await status_of(handle)).stage.value == "kickoff"
        gc.collect()
        kept = [
            obj for obj in gc.get_objects()
            if type(obj).__name__ == "InitializeWorkflow" and getattr(obj, "workflow_id", None) == handle.id
        ]
        assert kept == []
    finally:
        # A journey left sleeping on the shared time-skipping server, with no worker for
        # its queue, would hold up the time skipping of later tests.
        await handle.terminate("test done")
