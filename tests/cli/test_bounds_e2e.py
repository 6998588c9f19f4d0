"""Values past the bounds through the plain `temporal` CLI, against a real dev server and a
`journey worker` process: refused updates leave the journey answering `journey status` at
once; a journey started with them fails at once, visibly, naming the field."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from journey.domain.models import Account
from tests.cli.test_devserver_e2e import CRASH_MARKERS, assert_clean_exit
from tests.helpers.accounts import make_account

pytestmark = pytest.mark.slow


def enroll(stack: Any, account: Account) -> None:
    args = ["--id", account.id, "--name", account.name, "--segment", account.segment.value, "--tier", str(account.tier)]
    args += ["--seats", str(account.seats), "--arr", str(account.arr), "--signed", str(account.signed)]
    args += ["--renewal", str(account.renewal), "--ta", account.ta, "--ae", account.ae]
    assert_clean_exit(stack.journey("enroll", *args), "enroll")


def temporal_update(stack: Any, account: str, name: str, payload: str) -> Any:
    return stack.temporal("workflow", "update", "execute", "--workflow-id", f"journey-{account}", "--name", name, "--input", payload)


@pytest.fixture(scope="module")
def bounded(stack: Any) -> str:
    account = make_account("bounded", signed=make_account().signed.replace(year=2026), renewal=make_account().renewal.replace(year=2027))
    enroll(stack, account)
    return account.id


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        pytest.param("contract_changed", '{"arr": 1e999}', "arr", id="arr-1e999"),
        pytest.param("contract_changed", '{"seats": 99999999999999999999999}', "seats", id="seats-huge"),
        pytest.param("production_ready", '{"on": "0001-01-01"}', "on", id="on-year-1"),
        pytest.param("metrics", '{"on": "2099-01-01", "utilization": -50, "color": "red"}', "utilization", id="metrics-issue-example"),
    ],
)
def test_temporal_cli_update_past_the_bounds_is_refused(stack: Any, bounded: str, name: str, payload: str, field: str) -> None:
    before = stack.journey_json("status", bounded)
    done = temporal_update(stack, bounded, name, payload)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"field '{field}'" in output, output
    started = time.monotonic()
    after = stack.journey_json("status", bounded)
    assert time.monotonic() - started < 10
    for key in ("stage", "health", "seats", "arr", "remediation", "open_tasks"):
        assert after[key] == before[key], key


def test_temporal_cli_start_past_the_bounds_fails_the_journey_at_once(stack: Any, poll: Callable[..., Any]) -> None:
    account = make_account("started-bad").model_dump(mode="json")
    text = json.dumps({"account": account}).replace(f'"arr": {json.dumps(account["arr"])}', '"arr": 1e999')
    done = stack.temporal(
        "workflow", "start", "--type", "AccountJourney", "--task-queue", "journey",
        "--workflow-id", "journey-started-bad", "--input", text,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    def failed() -> dict[str, Any]:
        described = stack.temporal("workflow", "describe", "--workflow-id", "journey-started-bad", "--output", "json")
        assert described.returncode == 0, described.stderr
        document = json.loads(described.stdout)
        assert document["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_FAILED", document["workflowExecutionInfo"]["status"]
        return document

    poll(failed, timeout=10)
    shown = stack.temporal("workflow", "show", "--workflow-id", "journey-started-bad")
    assert "account.arr" in shown.stdout and "finite" in shown.stdout, shown.stdout
    assert "WorkflowTaskFailed" not in shown.stdout, shown.stdout

    def listed_as_failed() -> None:
        rows = [r for r in stack.journey_json("list", "--all") if r["account"] == "started-bad"]
        assert [r["status"] for r in rows] == ["failed"], rows

    poll(listed_as_failed, timeout=10)
    for marker in CRASH_MARKERS:
        assert marker not in shown.stderr
