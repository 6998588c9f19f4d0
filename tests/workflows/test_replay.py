"""Replay recorded journey histories with the current workflow code.

The histories under tests/histories/ were recorded from the two-term lifecycle tests
(`JOURNEY_RECORD_HISTORIES=1 pytest tests/workflows/test_lifecycle.py`). A change to
workflow code that would break a running journey fails here; intended changes go behind
`workflow.patched`, and the histories are re-recorded only alongside such a patch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from journey.temporal.converter import data_converter
from workflows.worker import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    names = {path.name for path in HISTORIES}
    for model in ("enterprise", "scaled", "pooled", "digital"):
        for part in ("term1", "term2", "remediation"):
            assert f"acct-{model}-{part}.json" in names


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    text = path.read_text()
    workflow_id = _workflow_id(text)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, text), raise_on_replay_failure=True)
    assert result.replay_failure is None


def _workflow_id(text: str) -> str:
    events = json.loads(text)["events"]
    attrs = events[0]["workflowExecutionStartedEventAttributes"]
    parent = attrs.get("parentWorkflowExecution")
    kind = attrs["workflowType"]["name"]
    return f"{kind}:{parent['workflowId'] if parent else ''}"
