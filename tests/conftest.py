"""Shared fixtures: one time-skipping Temporal server for the session, a fresh store and
task queue per test, and a worker for them. Helpers are in tests/helpers/."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from journey.store import Store
from journey.temporal.converter import data_converter
from journey.temporal.devserver import packaged_binary
from tests.helpers.journeys import keep_in_business_hours, park_in_business_hours, quiet_settings
from tests.helpers.stores import postgres_store
from workflows.search_attributes import register_search_attributes
from workflows.worker import build_worker


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=packaged_binary("temporal-test-server"),
        data_converter=data_converter,
    )
    await register_search_attributes(environment.client)
    await park_in_business_hours(environment)
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def env(time_skipping_server: WorkflowEnvironment) -> WorkflowEnvironment:
    """The session's time-skipping server, its clock in business hours for this test."""
    await keep_in_business_hours(time_skipping_server)
    return time_skipping_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'journey.db'}")
    yield opened
    opened.close()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    yield from postgres_store()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on each database the project supports, in turn."""
    if request.param == "sqlite":
        # A directory that does not exist yet: the store must create it.
        with Store.open(f"sqlite:///{tmp_path / 'state' / 'journey.db'}") as sqlite_store:
            yield sqlite_store
    else:
        yield from postgres_store()


@pytest.fixture
def task_queue() -> str:
    return f"journey-test-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(loop_scope="session")
async def worker(env: WorkflowEnvironment, store: Store, task_queue: str) -> AsyncIterator[Worker]:
    running = build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings())
    async with running:
        yield running
