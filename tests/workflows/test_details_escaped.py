"""What the Web UI shows of a journey (its summary, static and current details, and its
remediation's summary) is markdown in which data shows as text: an account named like an
HTML tag or a markdown link renders as that text, never as an element or a link."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journey.domain.models import JourneyStatus
from journey.domain.names import journey_workflow_id, remediation_workflow_id
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.accounts import make_account
from tests.helpers.journeys import status_of
from tests.helpers.markdown import IMG, LINK, assert_shows_as_text

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNED = date(2026, 1, 5)


async def _current_details(handle: WorkflowHandle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_the_web_ui_shows_hostile_names_as_text(
    env: WorkflowEnvironment, worker: object, task_queue: str
) -> None:
    account = make_account("hostile", name=IMG, ta=LINK, ae="<script>alert(2)</script>")
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(journey_workflow_id(account.id))
    await status_of(handle)

    details = await _current_details(handle)
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in details
    assert_shows_as_text(details, IMG, LINK, "<script>alert(2)</script>")

    description = await handle.describe()
    summary, static = await description.static_summary(), await description.static_details()
    assert summary is not None and static is not None
    assert_shows_as_text(summary, IMG)
    assert_shows_as_text(static, LINK, "<script>alert(2)</script>")

    reason = "[refund](javascript:alert(3)) <b>now</b>"
    await send_event(env.client, account.id, "set_health", {"color": "red", "reason": reason})
    status: JourneyStatus = await status_of(handle)
    assert status.remediation == remediation_workflow_id(account.id, 1)
    assert_shows_as_text(await _current_details(handle), reason)
    child = await env.client.get_workflow_handle(status.remediation).describe()
    child_summary = await child.static_summary()
    assert child_summary is not None
    assert_shows_as_text(child_summary, IMG, reason)

    # End both cleanly: a journey or remediation left sleeping holds the shared
    # time-skipping server's clock and makes later tests' sleeps time out. (Offboarding
    # while red does so too on the test server, also before this change: promote first.)
    await send_event(env.client, account.id, "set_health", {"color": "green", "reason": "test done"})
    await env.client.get_workflow_handle(status.remediation).result()
    await send_event(env.client, account.id, "offboard", {"reason": "test done"})
    await handle.result()
