"""The Web UI says due dates: the journey's timer summary names what falls due and when,
and a red-account remediation's current details say how long the account has been red,
the next follow-up, the escalation date and where the action plan stands."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from journey.domain import names
from journey.domain.models import Account
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.journeys import advance_to

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNED = date(2026, 1, 5)


async def timer_summaries(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    summaries = []
    for event in history.events:
        if event.HasField("timer_started_event_attributes") and event.user_metadata.HasField("summary"):
            summaries.append(json.loads(event.user_metadata.summary.data))
    return summaries


async def current_details(handle: WorkflowHandle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_timer_summaries_and_remediation_details_say_due_dates(env, store, worker, task_queue) -> None:
    account = Account.model_validate(
        {
            "id": "dated", "name": "Dated Co", "segment": "strategic", "tier": 1, "seats": 100, "arr": 90_000,
            "signed": SIGNED, "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
            "contacts": [{"name": "Cleo", "email": "cleo@example.com", "role": "champion"}],
        }
    )
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    await advance_to(env, handle, SIGNED + timedelta(days=1))
    status = await send_event(env.client, account.id, "kickoff_held", {"check_in_cadence_days": 14})
    summaries = await timer_summaries(handle)
    # Each names what falls due and when; a task's says when it opens (a week ahead).
    shapes = [re.fullmatch(r"([a-z0-9-]+) due (\S+)(?: \(task opens (\S+)\))?", s) for s in summaries]
    assert all(shapes), summaries
    tasks = [(date.fromisoformat(m[2]), date.fromisoformat(m[3])) for m in shapes if m and m[3]]
    assert tasks and all(due - opens == timedelta(days=7) for due, opens in tasks), summaries
    first = status.next_touchpoints[0]
    assert f"{first.touchpoint} due {first.due}" in summaries[-1], (summaries, status.next_touchpoints)

    red_on = SIGNED + timedelta(days=3)
    await advance_to(env, handle, red_on)
    await send_event(env.client, account.id, "set_health", {"color": "red", "reason": "champion left"})
    child = env.client.get_workflow_handle(names.remediation_workflow_id(account.id, 1))
    await advance_to(env, handle, red_on + timedelta(days=8))
    details = await current_details(child)
    # As of the first follow-up, when the remediation last woke.
    assert "**Days red** 7 (since 2026-01-08, as of 2026-01-15)" in details, details
    assert "**Action plan** open, due 2026-01-12" in details
    assert "**Next follow-up** 2026-01-22 · **Follow-ups so far** 1" in details
    assert "**Escalation** due 2026-02-07" in details
    assert any(s == "red-follow-up 2 due 2026-01-22" for s in await timer_summaries(child))

    await send_event(env.client, account.id, "touchpoint_done", {"touchpoint": "red-action-plan"})
    await advance_to(env, handle, red_on + timedelta(days=15))
    details = await current_details(child)
    assert "**Action plan** done 2026-01-16" in details, details
    await handle.terminate("test over")
    await child.terminate("test over")
