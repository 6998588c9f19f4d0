"""Shared fixtures: one time-skipping Temporal server for the session, a fresh store and
task queue per test, and helpers to move a journey's business calendar forward."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from journey.config import DeliverySettings
from journey.constants import SEARCH_ATTRIBUTES
from journey.devserver import packaged_binary
from journey.models import JourneyStatus
from journey.store import Store
from workflows.worker import build_worker


async def register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in SEARCH_ATTRIBUTES},
        )
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=packaged_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'journey.db'}")
    yield opened
    opened.close()


POSTGRES_URL = os.environ.get("JOURNEY_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def postgres_store() -> Iterator[Store]:
    """A migrated store in a fresh schema of the test PostgreSQL database, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError:
        admin.dispose()
        url = sa.make_url(POSTGRES_URL)
        pytest.skip(f"PostgreSQL at {url.host}:{url.port or 5432} not reachable")
    schema = f"t_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    # Only this schema on the search path: tables and Alembic's version table land in it.
    pg_store = Store(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        pg_store.migrate()
        yield pg_store
    finally:
        pg_store.close()
        with admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()



@pytest.fixture
def pg_store() -> Iterator[Store]:
    yield from postgres_store()


@pytest.fixture
def task_queue() -> str:
    return f"journey-test-{uuid.uuid4().hex[:8]}"


def quiet_settings() -> DeliverySettings:
    """No Slack or SMTP configured: automated touches are recorded as not configured."""
    return DeliverySettings.unconfigured()


@pytest_asyncio.fixture(loop_scope="session")
async def worker(env: WorkflowEnvironment, store: Store, task_queue: str) -> AsyncIterator[Worker]:
    running = build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings())
    async with running:
        yield running


async def status_of(handle: WorkflowHandle) -> JourneyStatus:
    return await handle.query("status", result_type=JourneyStatus)


async def advance_to(env: WorkflowEnvironment, handle: WorkflowHandle, day: date) -> JourneyStatus:
    """Skip server time until the journey's business date is `day` (plus a little, so its
    wake-up at the start of that day has run)."""
    status = await status_of(handle)
    now = await env.get_current_time()
    # Not `status.today`: a query answers from the journey's last wake-up, which may be days old.
    business_now = now + timedelta(days=status.calendar_offset_days)
    target = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    if target > business_now:
        await env.sleep(target - business_now)
    return await status_of(handle)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
