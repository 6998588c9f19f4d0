"""Replay recorded journey histories with the current workflow code.

The histories under tests/histories/ were recorded from the two-term lifecycle tests
(`JOURNEY_RECORD_HISTORIES=1 pytest tests/workflows/test_lifecycle.py`). A change to
workflow code that would break a running journey fails here; intended changes go behind
`workflow.patched`, and the histories are re-recorded only alongside such a patch.

health-sweep-sequential.json is a HealthSweep that told one journey it turned red,
recorded before the sweep told its batches in parallel (patch
`health-sweep-parallel-batches`); health-sweep-parallel.json the same sweep after it
(`JOURNEY_RECORD_HISTORIES=1 pytest tests/workflows/test_health_sweep.py -k usage_drop`
records the latter).

tests/histories/encrypted/ holds a two-term journey and its remediation recorded with an
encryption key (the test key of tests/helpers/encryption.py; `JOURNEY_RECORD_HISTORIES=1
pytest tests/workflows/test_encrypted_journey.py`): they replay with the key, and without
it they fail naming the settings, as a worker without the key would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from journey.temporal.codec import key_id_of
from journey.temporal.converter import data_converter, journey_data_converter
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY, json_payloads, key, readable_text, ring
from workflows.worker import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))
ENCRYPTED = sorted((Path(__file__).parent.parent / "histories" / "encrypted").glob("*.json"))


def test_histories_are_recorded() -> None:
    names = {path.name for path in HISTORIES}
    for model in ("enterprise", "scaled", "pooled", "digital"):
        for part in ("term1", "term2", "remediation"):
            assert f"acct-{model}-{part}.json" in names
    assert {"health-sweep-sequential.json", "health-sweep-parallel.json"} <= names


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    text = path.read_text()
    workflow_id = _workflow_id(text)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, text), raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_encrypted_histories_are_recorded_and_hold_nothing_readable() -> None:
    assert {path.name for path in ENCRYPTED} == {f"acct-encrypted-{part}.json" for part in ("term1", "term2", "remediation")}
    for path in ENCRYPTED:
        document = json.loads(path.read_text())
        assert any(key_id_of(payload) == key(TEST_KEY).id for payload in json_payloads(document))
        assert b"Enterprise Co" not in readable_text(document)  # the account's name


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
async def test_replay_encrypted(path: Path) -> None:
    text = path.read_text()
    # The key list after a rotation: a new key first, the one these were written with after it.
    converter = journey_data_converter(ring(OTHER_TEST_KEY, TEST_KEY))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(WorkflowHistory.from_json(_workflow_id(text), text), raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.asyncio(loop_scope="session")
async def test_an_encrypted_history_without_its_key_fails_naming_the_settings() -> None:
    text = ENCRYPTED[0].read_text()
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(WorkflowHistory.from_json(_workflow_id(text), text), raise_on_replay_failure=False)
    assert "no key is set: set JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE" in str(result.replay_failure)


def _workflow_id(text: str) -> str:
    events = json.loads(text)["events"]
    attrs = events[0]["workflowExecutionStartedEventAttributes"]
    parent = attrs.get("parentWorkflowExecution")
    kind = attrs["workflowType"]["name"]
    return f"{kind}:{parent['workflowId'] if parent else ''}"
