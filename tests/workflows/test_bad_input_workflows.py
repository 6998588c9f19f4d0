"""Values past the bounds, sent straight to Temporal as the plain `temporal` CLI sends them.

JSON's `1e999` reaches the workflow as infinity, so these go out as raw JSON text rather
than through the pydantic converter (which would write `null`). Each is refused (an update
by its validator, a start input by failing the workflow at once, naming the field), and the
journey goes on answering `status` and taking valid events; no workflow task fails.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from journey.domain import names
from journey.domain.engine import Engine
from journey.domain.events import Offboard
from journey.domain.models import JourneyStatus
from journey.temporal.journeys import enroll_one
from tests.helpers.accounts import make_account
from tests.helpers.journeys import status_of
from tests.workflows.test_delivery import finish
from workflows.messages import JourneyInput

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENROLLED_ON = date(2025, 3, 3)


def raw_json(text: str) -> RawValue:
    """A payload holding exactly this JSON text, as `temporal ... --input TEXT` sends it."""
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=text.encode()))


@pytest_asyncio.fixture(loop_scope="session")
async def journey(env: WorkflowEnvironment, worker: Any, task_queue: str) -> AsyncIterator[WorkflowHandle[Any, Any]]:
    """A running journey, ended (offboarded) after the test while its worker still runs."""
    account = make_account(f"bad-{uuid.uuid4().hex[:8]}")
    assert await enroll_one(env.client, account, today=ENROLLED_ON, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    # The first step has run once an event is answered.
    await handle.execute_update(names.Update.ONBOARDING_COMPLETE, {}, result_type=JourneyStatus)
    yield handle
    await finish(env, handle)


async def refused(handle: WorkflowHandle[Any, Any], update: str, payload: str) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, raw_json(payload), result_type=JourneyStatus)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.message


async def assert_no_task_failed(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, failed[0].workflow_task_failed_event_attributes.failure.message


@pytest.mark.parametrize(
    ("update", "payload", "field", "detail"),
    [
        pytest.param("contract_changed", '{"arr": 1e999}', "arr", "finite", id="arr-1e999"),
        pytest.param("contract_changed", '{"arr": Infinity}', "arr", "", id="arr-Infinity-literal"),
        pytest.param("contract_changed", '{"seats": 99999999999999999999999}', "seats", "10000000", id="seats-huge"),
        pytest.param("renewal_closed", '{"outcome": "renewed", "arr": 1e13}', "arr", "1000000000000", id="arr-past-1e12"),
        pytest.param("production_ready", '{"on": "0001-01-01"}', "on", "2000-01-01", id="on-year-1"),
        pytest.param("contract_changed", '{"renewal": "9999-12-31"}', "renewal", "2100-12-31", id="renewal-year-9999"),
        pytest.param("set_health", '{"color": "red", "reason": "\\u001b[2J gone"}', "reason", "U+001B", id="reason-escape"),
        pytest.param("touchpoint_done", json.dumps({"touchpoint": "check-in", "notes": "n" * 10_001}), "notes", "10000", id="notes-too-long"),
    ],
)
async def test_an_update_past_the_bounds_is_refused_and_the_journey_answers(
    journey: WorkflowHandle[Any, Any], update: str, payload: str, field: str, detail: str
) -> None:
    handle = journey
    before = await status_of(handle)
    message = await refused(handle, update, payload)
    assert f"field '{field}'" in message, message
    assert detail in message, message
    assert await status_of(handle) == before
    # And it still takes events.
    after = await handle.execute_update(names.Update.SET_HEALTH, {"color": "yellow", "reason": "champion on leave"}, result_type=JourneyStatus)
    assert after.health.value == "yellow"
    await assert_no_task_failed(handle)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param('{"on": "2099-01-01", "utilization": -50, "color": "red"}', "utilization", id="issue-example"),
        pytest.param('{"utilization": 1e999}', "utilization", id="utilization-1e999"),
        pytest.param('{"color": "purple"}', "color", id="unknown-color"),
        pytest.param(json.dumps({"color": "red", "reason": "r" * 2001}), "reason", id="reason-too-long"),
        pytest.param('{"consumption": 0.5, "extra": 1}', "extra", id="unknown-field"),
    ],
)
async def test_a_bad_metrics_update_is_refused_and_the_journey_is_unharmed(
    journey: WorkflowHandle[Any, Any], store: Any, payload: str, field: str
) -> None:
    handle = journey
    before = await status_of(handle)
    message = await refused(handle, names.Update.METRICS, payload)
    assert f"field '{field}'" in message, message
    after = await status_of(handle)
    assert after == before
    assert after.health.value == "green" and after.remediation is None
    account = before.account
    assert [r for r in store.timeline(account) if r.at.year >= 2099] == []
    await assert_no_task_failed(handle)


async def test_a_metrics_update_dated_after_the_journeys_today_is_refused(
    journey: WorkflowHandle[Any, Any],
) -> None:
    handle = journey
    today = (await status_of(handle)).today
    message = await refused(handle, names.Update.METRICS, '{"on": "2099-01-01", "utilization": 0.5, "color": "red"}')
    assert "field 'on'" in message and "future" in message and str(today) in message, message
    # The same measures for today are taken.
    status = await handle.execute_update(
        names.Update.METRICS, {"on": today.isoformat(), "utilization": 0.5, "color": "yellow"}, result_type=JourneyStatus
    )
    assert status.utilization == 0.5 and status.health.value == "yellow"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"arr": "1e999"}, "account.arr", id="arr-1e999"),
        pytest.param({"seats": "99999999999999999999999"}, "account.seats", id="seats-huge"),
        pytest.param({"signed": '"0001-01-01"'}, "account.signed", id="signed-year-1"),
    ],
)
async def test_a_journey_started_past_the_bounds_fails_at_once_naming_the_field(
    env: WorkflowEnvironment, worker: Any, task_queue: str, change: dict[str, str], field: str
) -> None:
    account = make_account(f"start-{uuid.uuid4().hex[:8]}").model_dump(mode="json")
    text = json.dumps({"account": account})
    for key, value in change.items():
        text = text.replace(f'"{key}": {json.dumps(account[key])}', f'"{key}": {value}')
    assert text != json.dumps({"account": account})
    handle = await env.client.start_workflow(
        names.Workflow.ACCOUNT_JOURNEY, raw_json(text), id=names.journey_workflow_id(account["id"]), task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == "InvalidInput" and cause.non_retryable
    assert f"field '{field}'" in cause.message, cause.message
    await assert_no_task_failed(handle)


async def test_an_event_that_breaks_the_engine_fails_alone_and_changes_nothing(
    journey: WorkflowHandle[Any, Any], store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error the rules did not foresee, half-way through applying an event (here the
    offboarding closes the journey and then breaks): the update fails with its message,
    the journey is as it was, and the workflow task does not fail."""
    handle = journey
    before = await status_of(handle)
    keys_before = {r.key for r in store.timeline(before.account)}
    real = Engine._on_offboard

    def breaks_half_way(self: Engine, payload: Offboard, on: date) -> None:
        real(self, payload, on)
        raise RuntimeError("an unforeseen case")

    monkeypatch.setattr(Engine, "_on_offboard", breaks_half_way)
    message = await refused(handle, names.Update.OFFBOARD, '{"reason": "moved to a competitor"}')
    assert "offboard failed and was not applied" in message and "an unforeseen case" in message, message
    after = await status_of(handle)
    assert after == before
    assert after.stage.value != "churned" and after.open_tasks == before.open_tasks
    monkeypatch.undo()
    # Nothing of the failed update was written, and the journey takes the next event.
    status = await handle.execute_update(names.Update.SET_HEALTH, {"color": "yellow", "reason": "champion on leave"}, result_type=JourneyStatus)
    assert status.health.value == "yellow" and status.stage == before.stage
    kinds = [(r.kind, r.name) for r in store.timeline(before.account) if r.key not in keys_before]
    assert ("event", "offboard") not in kinds and ("event", "set_health") in kinds, kinds
    await assert_no_task_failed(handle)


async def test_a_start_input_built_by_a_client_is_refused_as_bad_input() -> None:
    """Built in Python (`journey simulate --start 2101-01-01`), the same refusal is pydantic's
    ValidationError, which the command line reports with exit 2; read from its payload, it is
    the ApplicationError that fails the workflow."""
    with pytest.raises(ValidationError, match="today"):
        JourneyInput(account=make_account(), today=date(2101, 1, 1))
    text = JourneyInput(account=make_account()).model_dump_json().replace('"today":null', '"today":"2101-01-01"')
    with pytest.raises(ApplicationError, match="field 'today'"):
        JourneyInput.model_validate_json(text)
