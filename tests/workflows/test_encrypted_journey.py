"""Journeys with an encryption key, on the time-skipping server: the server holds nothing
readable of an account (its name, contacts, a health reason) in any history, summary,
details or failure message, and the clients with the key read everything as before.

With JOURNEY_RECORD_HISTORIES=1 the two-term journey's histories are recorded into
tests/histories/encrypted/ (encrypted with the test key) for the replay tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from journey.domain import names
from journey.store import Store
from journey.temporal.codec import key_id_of
from journey.temporal.converter import journey_data_converter
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.accounts import make_account
from tests.helpers.encryption import TEST_KEY, key, ring
from tests.helpers.journeys import own_time_skipping_env, quiet_settings, status_of
from tests.workflows.test_lifecycle import run_two_terms
from workflows.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENCRYPTED_HISTORIES = Path(__file__).parent.parent / "histories" / "encrypted"
SIGNED = date(2026, 1, 5)
SECRETS = (b"Acme Secret Corp", b"chris@customer.example", b"Chris Champion", b"walked out")
KEY_ID = key(TEST_KEY).id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with own_time_skipping_env(journey_data_converter(ring(TEST_KEY))) as environment:
        yield environment


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path_factory.mktemp('encrypted') / 'journey.db'}")
    yield opened
    opened.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def worker(env: WorkflowEnvironment, store: Store) -> AsyncIterator[str]:
    async with build_worker(env.client, store, task_queue="encrypted", settings=quiet_settings()):
        yield "encrypted"


def without_codec(client: Client) -> Client:
    """The same server seen by a client without any codec: what the server holds."""
    return Client(client.service_client, namespace=client.namespace, data_converter=DataConverter.default)


async def raw_history(client: Client, workflow_id: str) -> History:
    return History(events=[event async for event in client.get_workflow_handle(workflow_id).fetch_history_events()])


def assert_nothing_readable(history: History, secrets: tuple[bytes, ...] = SECRETS) -> None:
    raw = history.SerializeToString()
    for secret in secrets:
        assert secret not in raw, f"{secret!r} in clear in the history"
    for event in history.events:
        # What the Web UI shows of timers, activities and children: encrypted as well.
        for field in ("summary", "details"):
            if event.user_metadata.HasField(field):
                assert key_id_of(getattr(event.user_metadata, field)) == KEY_ID, (event.event_type, field)


async def test_the_server_holds_nothing_readable_and_clients_with_the_key_read_it_all(
    env: WorkflowEnvironment, worker: str
) -> None:
    account = make_account(
        "acme", name="Acme Secret Corp", signed=SIGNED, renewal=SIGNED + timedelta(days=365),
        contacts=[{"name": "Chris Champion", "email": "chris@customer.example", "role": "champion"}],
    )
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=worker)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    status = await send_event(env.client, account.id, "set_health", {"color": "red", "reason": "Chris Champion walked out"})
    assert status.remediation is not None
    await env.sleep(timedelta(days=8))  # a follow-up falls due in the remediation
    await status_of(handle)

    for history in [await raw_history(env.client, wid) for wid in (handle.id, status.remediation)]:
        assert_nothing_readable(history)
        shown = {e.event_type for e in history.events if e.user_metadata.HasField("summary")}
        assert {EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventType.EVENT_TYPE_TIMER_STARTED} <= shown
    # What stays in clear for searching: the documented attributes (and the SDK's patch list).
    history = await raw_history(env.client, handle.id)
    attributes = {
        name
        for event in history.events
        for attrs in (event.workflow_execution_started_event_attributes, event.upsert_workflow_search_attributes_event_attributes)
        for name in attrs.search_attributes.indexed_fields
    }
    assert attributes == set(names.SEARCH_ATTRIBUTES) | {"TemporalChangeVersion"}

    # The Web UI's summary, static and current details: encrypted on the server...
    raw = without_codec(env.client).get_workflow_handle(handle.id)
    [metadata] = [await raw.query("__temporal_workflow_metadata", result_type=RawValue)]
    assert key_id_of(metadata.payload) == KEY_ID
    summary = (await raw.describe()).raw_description.execution_config.user_metadata.summary
    assert key_id_of(summary) == KEY_ID
    # ...and read as before by a client with the key.
    assert "Acme Secret Corp" in (await (await handle.describe()).static_summary() or "")
    details = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "walked out" in details.current_details

    await send_event(env.client, account.id, "set_health", {"color": "green", "reason": "new champion"})
    await env.client.get_workflow_handle(status.remediation).result()
    await send_event(env.client, account.id, "offboard", {"reason": "test done"})
    await handle.result()


async def test_a_failure_message_is_encrypted_on_the_server(env: WorkflowEnvironment, worker: str) -> None:
    # A start input past its bounds fails the journey at once, naming the field.
    bad = Payload(
        metadata={"encoding": b"json/plain"},
        data=b'{"account": {"id": "badseats", "name": "Acme Secret Corp", "segment": "strategic", "tier": 1, '
        b'"seats": -5, "arr": 1, "signed": "2026-01-05", "renewal": "2027-01-05", "ta": "ana", "ae": "sam"}}',
    )
    handle: WorkflowHandle = await env.client.start_workflow(
        names.Workflow.ACCOUNT_JOURNEY, RawValue(bad), id="journey-badseats", task_queue=worker
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert isinstance(caught.value.cause, ApplicationError) and "account.seats" in caught.value.cause.message
    history = await raw_history(env.client, handle.id)
    [failed] = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]
    failure = failed.workflow_execution_failed_event_attributes.failure
    assert failure.message == "Encoded failure" and key_id_of(failure.encoded_attributes) == KEY_ID
    assert b"account.seats" not in history.SerializeToString()
    assert_nothing_readable(history)


async def test_a_whole_two_term_journey_runs_encrypted(env: WorkflowEnvironment, store: Store, worker: str) -> None:
    handle = await run_two_terms(
        env, store, worker, "enterprise", usage_mau=None, account_id="acct-encrypted", histories=ENCRYPTED_HISTORIES
    )
    assert_nothing_readable(await raw_history(env.client, handle.id), (b"Enterprise Co",))
    assert_nothing_readable(await raw_history(env.client, "red-acct-encrypted-1"), (b"Enterprise Co", b"champion left"))
