"""Worker Versioning: which workflows move to new code, and when a worker makes its own
version current (workflows.deployment). The rollout itself, with `journey worker`
processes and the `temporal` CLI, is tests/cli/test_rollout_e2e.py."""

from __future__ import annotations

import ast
import asyncio
import inspect
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from journey.config import WorkerVersion
from journey.domain import names
from journey.store import Store
from journey.temporal.converter import data_converter
from journey.temporal.devserver import packaged_binary
from journey.temporal.schedules import SWEEPS
from tests.helpers.devserver import dev_server
from tests.helpers.journeys import quiet_settings
from workflows.deployment import VersionState, describe_deployment, ensure_current_version
from workflows.worker import WORKFLOWS, build_worker


def declared(cls: type) -> dict[str, str]:
    """The `name` and `versioning_behavior` a workflow class gives `@workflow.defn`, read
    from its source (the SDK keeps its definitions private)."""
    tree = ast.parse(inspect.getsource(cls))
    for decorator in tree.body[0].decorator_list:  # type: ignore[attr-defined]
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "workflow.defn":
            return {k.arg: ast.unparse(k.value) for k in decorator.keywords if k.arg}
    raise AssertionError(f"{cls.__name__} has no @workflow.defn(...)")


def test_journeys_move_to_new_code_and_sweeps_finish_on_theirs() -> None:
    behaviors = {}
    for cls in WORKFLOWS:
        given = declared(cls)
        assert given["name"].startswith("names.Workflow."), given
        behaviors[getattr(names.Workflow, given["name"].rsplit(".", 1)[1])] = given.get("versioning_behavior")
    assert behaviors.pop(names.Workflow.ACCOUNT_JOURNEY) == "VersioningBehavior.AUTO_UPGRADE"
    assert behaviors.pop(names.Workflow.RED_ACCOUNT_REMEDIATION) == "VersioningBehavior.AUTO_UPGRADE"
    # Everything else is a sweep a schedule starts, minutes long: pinned.
    assert set(behaviors) == {sweep.workflow for sweep in SWEEPS.values()}
    assert set(behaviors.values()) == {"VersioningBehavior.PINNED"}, behaviors


@pytest.mark.asyncio(loop_scope="session")
async def test_a_server_without_deployments_leaves_versioning_off(env: WorkflowEnvironment) -> None:
    state = await ensure_current_version(env.client, WorkerVersion("journey", "x"))
    assert not state.supported and not state.made_current
    assert "no Worker Deployments" in state.describe()


# ----- on the dev server -----


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


def fresh_deployment() -> str:
    return f"d-{uuid.uuid4().hex[:8]}"


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="session")
async def test_the_first_version_of_a_new_deployment_becomes_current_and_later_ones_wait(address: str) -> None:
    client = await Client.connect(address, data_converter=data_converter)
    deployment = fresh_deployment()
    first = await ensure_current_version(client, WorkerVersion(deployment, "1"))
    assert first.made_current and first.is_current, first
    assert first.current == f"{deployment}.1"

    second = await ensure_current_version(client, WorkerVersion(deployment, "2"))
    assert not second.made_current and not second.is_current and second.current == f"{deployment}.1"
    assert f"temporal worker deployment set-current-version --deployment-name {deployment} --build-id 2" in second.describe()
    again = await ensure_current_version(client, WorkerVersion(deployment, "1"))
    assert again.is_current and not again.made_current


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="session")
async def test_an_operators_choice_of_unversioned_workers_stands(address: str) -> None:
    client = await Client.connect(address, data_converter=data_converter)
    deployment = fresh_deployment()
    await ensure_current_version(client, WorkerVersion(deployment, "1"))
    unversioned = await asyncio.create_subprocess_exec(
        packaged_binary("temporal"), "worker", "deployment", "set-current-version", "--deployment-name", deployment,
        "--unversioned", "--yes", "--address", address,
    )
    assert await unversioned.wait() == 0
    state = await ensure_current_version(client, WorkerVersion(deployment, "2"))
    assert state.current is None and not state.made_current, state
    described = await describe_deployment(client, deployment)
    assert described is not None and not described.worker_deployment_info.routing_config.current_deployment_version.build_id


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="session")
async def test_a_worker_that_takes_over_becomes_current_once_it_polls(address: str, tmp_path: Path) -> None:
    client = await Client.connect(address, data_converter=data_converter)
    deployment = fresh_deployment()
    await ensure_current_version(client, WorkerVersion(deployment, "old"))
    reported: asyncio.Queue[VersionState] = asyncio.Queue()
    with Store.open(f"sqlite:///{tmp_path / 'journey.db'}") as store:
        worker = build_worker(
            client, store, task_queue=f"q-{deployment}", settings=quiet_settings(),
            version=WorkerVersion(deployment, "new"), take_over=True, on_version=reported.put_nowait,
        )
        async with worker:
            state = await asyncio.wait_for(reported.get(), 40)
    assert state.made_current and state.current == f"{deployment}.new", state
