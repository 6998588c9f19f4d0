"""Rolling out new code with Worker Versioning, as an operator would (docs/operations.md).

A journey runs on the workers of build `a`; workers of build `b` start; the operator makes
`b` current with the plain `temporal` CLI and stops the `a` workers; the next event is
handled by `b` and nothing was lost or done twice on the way. Real `journey worker`
processes and CLIs against one dev server.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, VersioningBehavior
from temporalio.client import Client

from journey.store import Store
from journey.temporal.converter import data_converter
from journey.temporal.devserver import free_port, start_server, stop_server
from tests.cli.conftest import Stack, _subprocess_env
from tests.helpers.workers import WorkerProcess

pytestmark = pytest.mark.slow

TODAY = date.today()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A dev server of its own (its deployments are this module's) and a home, no worker."""
    base = tmp_path_factory.mktemp("rollout")
    port = free_port()
    address = f"127.0.0.1:{port}"
    server = start_server(base / "temporal", ip="127.0.0.1", port=port, headless=True)
    env = _subprocess_env(base / "home", address) | {"JOURNEY_OUTBOX_DIR": str(base / "outbox")}
    try:
        yield Stack(address=address, home=base / "home", env=env)
    finally:
        stop_server(server)


def run_ok(done: Any, what: str) -> Any:
    assert done.returncode == 0, f"{what}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


async def journey_history(address: str, workflow_id: str) -> tuple[list[tuple[str, int]], Any]:
    """The (build id, behaviour) of every completed workflow task, and the run's versioning info."""
    client = await Client.connect(address, data_converter=data_converter)
    handle = client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    tasks = [
        (e.workflow_task_completed_event_attributes.deployment_version.build_id, e.workflow_task_completed_event_attributes.versioning_behavior)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    return tasks, (await handle.describe()).raw_description.workflow_execution_info.versioning_info


def test_a_journey_moves_to_the_new_build_and_the_sweep_stays_pinned(stack: Stack, tmp_path: Path, poll: Callable[..., Any]) -> None:
    a = WorkerProcess(stack.env, tmp_path / "a.log", "--build-id", "a").start()
    b = WorkerProcess(stack.env, tmp_path / "b.log", "--build-id", "b")
    try:
        # A fresh deployment takes the first build that polls it.
        a.wait_for("version journey.a is now the current version of deployment journey")
        signed, renewal = TODAY.isoformat(), (TODAY + timedelta(days=365)).isoformat()
        run_ok(
            stack.journey(
                "enroll", "--id", "acme", "--name", "Acme", "--segment", "strategic", "--tier", "1", "--seats", "100",
                "--arr", "100000", "--signed", signed, "--renewal", renewal, "--ta", "ana", "--ae", "sam",
            ),
            "enroll",
        )
        before = stack.journey_json("status", "acme")
        assert before["stage"] == "kickoff" and "kickoff-call" in {t["touchpoint"] for t in before["open_tasks"]}, before
        sweep = json.loads(run_ok(stack.journey("schedule", "trigger", "health", "--json"), "health sweep").stdout)

        b.start()
        b.wait_for("version journey.b is not current (current: journey.a)")
        # The operator's switch; the server takes it once b's pollers have registered.
        switch = ("worker", "deployment", "set-current-version", "--deployment-name", "journey", "--build-id", "b", "--yes")
        poll(lambda: run_ok(stack.temporal(*switch), "set-current-version"), timeout=30)
        assert a.stop() == 0, a.text()

        run_ok(stack.journey("event", "acme", "kickoff-held"), "kickoff-held on build b")
        assert stack.journey_json("status", "acme")["stage"] == "onboarding"

        tasks, info = asyncio.run(journey_history(stack.address, "journey-acme"))
        builds = [build for build, _ in tasks]
        # Every task was done by a versioned worker: first a, then b only, from the switch on.
        assert builds[0] == "a" and builds[-1] == "b", builds
        assert builds == sorted(builds), builds
        assert {behavior for _, behavior in tasks} == {VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE}
        assert info.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
        assert info.deployment_version.build_id == "b"
        # The sweep ran on a and stays there: pinned.
        _, sweep_info = asyncio.run(journey_history(stack.address, sweep["workflow_id"]))
        assert sweep_info.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
        assert sweep_info.deployment_version.build_id == "a"
        assert "Traceback" not in b.text(), b.text()
    finally:
        a.stop()
        b.stop()

    with Store.open(f"sqlite:///{stack.home / 'journey.db'}") as store:
        timeline = store.timeline("acme")
        tasks_by_touchpoint = Counter(t.touchpoint for t in store.tasks(account="acme", status=None))
    # Nothing lost, nothing twice: enrolled once, each stage entered once, the kickoff task
    # closed once, the onboarding tasks opened once.
    entries = Counter((r.kind, r.name) for r in timeline)
    assert entries[("event", "enrolled")] == 1, timeline
    assert entries[("event", "kickoff_held")] == 1, timeline
    assert entries[("stage", "kickoff")] == 1 and entries[("stage", "onboarding")] == 1, timeline
    assert tasks_by_touchpoint["kickoff-call"] == 1 and tasks_by_touchpoint["onboarding-plan"] == 1, tasks_by_touchpoint
    assert all(count == 1 for count in tasks_by_touchpoint.values()), tasks_by_touchpoint
