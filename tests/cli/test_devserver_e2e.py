"""End to end through the command lines: a real embedded dev server, a `journey worker`
process, and `journey` / `temporal` CLI processes, as a TA or manager would run them.

The whole module shares one server and one import of the sample portfolio.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from journey.cli.servers import sample_portfolio
from journey.temporal.devserver import packaged_binary

# Real dev servers, workers and CLI processes: minutes, not seconds.
pytestmark = pytest.mark.slow

SAMPLE = sample_portfolio()
SAMPLE_ROWS = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
SAMPLE_IDS = sorted(row["id"] for row in SAMPLE_ROWS)
STRATEGIC_IDS = sorted(row["id"] for row in SAMPLE_ROWS if row["segment"] == "strategic")

STATUS_KEYS = {
    "account",
    "stage",
    "health",
    "segment",
    "tier",
    "engagement_model",
    "utilization",
    "consumption",
    "renewal_date",
    "adoption_deadline",
    "open_tasks",
    "next_touchpoints",
}

# What a process aborting at interpreter exit prints (sdk-python #300), and tracebacks.
CRASH_MARKERS = ("PyGILState_Release", "Fatal Python error", "Traceback (most recent call last)", "Segmentation fault")


def assert_clean_exit(done: Any, what: str) -> None:
    assert done.returncode == 0, f"{what}: exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    for marker in CRASH_MARKERS:
        assert marker not in done.stderr, f"{what}: {marker!r} on stderr:\n{done.stderr}"


def run_ids(stack: Any) -> dict[str, str]:
    """Workflow id -> run id of every journey, through the plain `temporal` CLI."""
    done = stack.temporal("workflow", "list", "--query", "WorkflowType='AccountJourney'", "--output", "json")
    assert done.returncode == 0, done.stderr
    return {row["execution"]["workflowId"]: row["execution"]["runId"] for row in json.loads(done.stdout or "[]")}


@pytest.fixture(scope="module")
def imported(stack: Any, poll: Callable[..., Any]) -> dict[str, Any]:
    """The sample portfolio imported twice: the outputs, and the run ids after each."""
    first = stack.journey("import", str(SAMPLE))
    assert_clean_exit(first, "first import")

    def all_visible() -> dict[str, str]:  # visibility is eventually consistent
        runs = run_ids(stack)
        assert len(runs) == len(SAMPLE_IDS), runs
        return runs

    runs_after_first = poll(all_visible)
    second = stack.journey("import", str(SAMPLE), "--json")
    assert_clean_exit(second, "second import")
    return {"first": first, "second": second, "runs_first": runs_after_first, "runs_second": run_ids(stack)}


def test_import_enrolls_the_sample_once(imported: dict[str, Any]) -> None:
    assert len(SAMPLE_IDS) == 8
    assert "8 enrolled, 0 already enrolled" in imported["first"].stdout
    again = json.loads(imported["second"].stdout)
    assert again["enrolled"] == []
    assert sorted(again["already_enrolled"]) == SAMPLE_IDS
    # Importing again started nothing: the same eight runs.
    assert sorted(imported["runs_first"]) == [f"journey-{a}" for a in SAMPLE_IDS]
    assert imported["runs_second"] == imported["runs_first"]


def test_import_again_in_text_says_nothing_enrolled(stack: Any, imported: dict[str, Any]) -> None:
    done = stack.journey("import", str(SAMPLE))
    assert_clean_exit(done, "third import")
    assert "0 enrolled, 8 already enrolled" in done.stdout
    assert run_ids(stack) == imported["runs_first"]


def test_the_worker_records_the_accounts(stack: Any, imported: dict[str, Any], poll: Callable[..., Any]) -> None:
    def timelines_written() -> None:
        store = stack.store()
        try:
            for account in SAMPLE_IDS:
                assert store.timeline(account), f"no timeline for {account} yet"
        finally:
            store.close()

    # The worker has written every journey's first effects batch (which carries `enroll`)...
    poll(timelines_written, timeout=15)
    store = stack.store()
    try:
        # ...so each account's row is there, mirroring its journey.
        assert store.account_ids() == set(SAMPLE_IDS)
        rows = {row.id: row for row in store.list_accounts()}
        assert rows["globex"].segment == "strategic"
    finally:
        store.close()


def test_list_all_and_by_segment(stack: Any, imported: dict[str, Any], poll: Callable[..., Any]) -> None:
    def listed_all() -> list[dict[str, Any]]:
        rows = stack.journey_json("list")
        assert sorted(r["account"] for r in rows) == SAMPLE_IDS
        return rows

    rows = poll(listed_all)
    assert {r["workflow_id"] for r in rows} == {f"journey-{a}" for a in SAMPLE_IDS}
    by_id = {r["account"]: r for r in rows}
    for row in SAMPLE_ROWS:
        listed = by_id[row["id"]]
        assert listed["segment"] == row["segment"]
        assert listed["tier"] == int(row["tier"])
        assert listed["ta"] == row["ta"]
        assert listed["renewal_date"] == row["renewal"]

    def listed_strategic() -> None:
        rows = stack.journey_json("list", "--segment", "strategic")
        assert sorted(r["account"] for r in rows) == STRATEGIC_IDS
        assert {r["segment"] for r in rows} == {"strategic"}

    poll(listed_strategic)


def test_plain_temporal_cli_filters_by_segment(stack: Any, imported: dict[str, Any], poll: Callable[..., Any]) -> None:
    def listed() -> None:
        done = stack.temporal("workflow", "list", "--query", "Segment='strategic'", "--output", "json")
        assert done.returncode == 0, done.stderr
        ids = sorted(row["execution"]["workflowId"] for row in json.loads(done.stdout or "[]"))
        assert ids == [f"journey-{a}" for a in STRATEGIC_IDS]

    poll(listed)


def update(stack: Any, name: str, payload: dict[str, Any], account: str = "globex") -> Any:
    return stack.temporal(
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        f"journey-{account}",
        "--name",
        name,
        "--input",
        json.dumps(payload),
    )


def test_temporal_cli_drives_a_journey(stack: Any, imported: dict[str, Any]) -> None:
    before = stack.journey_json("status", "globex")
    assert before["stage"] in ("kickoff", "onboarding"), before  # signed 2026-10-05, nothing else reported
    done = update(stack, "kickoff_held", {})
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    status = stack.journey_json("status", "globex")
    assert status["stage"] == "onboarding"
    missing = STATUS_KEYS - status.keys()
    assert not missing, f"status --json lacks {sorted(missing)}"
    assert status["account"] == "globex"
    assert status["segment"] == "strategic"
    assert status["tier"] == 1
    assert status["engagement_model"] == "enterprise"
    assert status["renewal_date"] == "2027-10-05"
    assert status["health"] == "green"
    assert isinstance(status["open_tasks"], list)
    assert isinstance(status["next_touchpoints"], list)
    for touchpoint in status["next_touchpoints"]:
        assert {"touchpoint", "due"} <= touchpoint.keys()


def test_temporal_cli_invalid_update_is_rejected_and_harmless(stack: Any, imported: dict[str, Any]) -> None:
    before = stack.journey_json("status", "globex")
    done = update(stack, "set_health", {"color": "purple", "reason": "x"})
    assert done.returncode != 0, done.stdout
    assert "color" in done.stdout + done.stderr
    after = stack.journey_json("status", "globex")
    assert after["stage"] == before["stage"]
    assert after["health"] == before["health"]
    # And it still takes valid updates.
    done = update(stack, "set_health", {"color": "yellow", "reason": "champion on leave"})
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert stack.journey_json("status", "globex")["health"] == "yellow"
    done = update(stack, "set_health", {"color": "green", "reason": "champion back"})
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def test_event_not_allowed_in_stage(stack: Any, imported: dict[str, Any]) -> None:
    stage = stack.journey_json("status", "globex")["stage"]
    assert stage in ("kickoff", "onboarding")
    done = stack.journey("event", "globex", "renewal-closed", "--data", '{"outcome":"renewed"}')
    assert done.returncode == 2, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    message = done.stderr
    assert f"stage '{stage}'" in message, message
    assert "allowed events" in message, message
    assert "set" in message and "health" in message, message
    for marker in CRASH_MARKERS:
        assert marker not in message
    assert stack.journey_json("status", "globex")["stage"] == stage


def test_journey_event_and_health_through_the_cli(stack: Any, imported: dict[str, Any]) -> None:
    done = stack.journey("health", "umbrella", "yellow", "--reason", "slow rollout", "--json")
    assert_clean_exit(done, "health")
    assert json.loads(done.stdout)["health"] == "yellow"
    done = stack.journey("health", "umbrella", "green", "--reason", "rollout back on track")
    assert_clean_exit(done, "health")
    assert "umbrella: health green" in done.stdout


def test_unknown_account_exits_2(stack: Any, imported: dict[str, Any]) -> None:
    done = stack.journey("status", "no-such-account")
    assert done.returncode == 2, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "no-such-account" in done.stderr
    done = stack.journey("event", "no-such-account", "kickoff-held")
    assert done.returncode == 2, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "no-such-account" in done.stderr


def test_cli_processes_that_talked_to_temporal_exit_cleanly(stack: Any, imported: dict[str, Any]) -> None:
    for attempt in range(10):
        done = stack.journey("status", "globex")
        assert_clean_exit(done, f"journey status globex (run {attempt + 1})")
        assert "Globex Corporation (globex)" in done.stdout


def test_unreachable_server_is_a_clear_failure(stack: Any) -> None:
    env = dict(stack.env, TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run(
        [packaged_binary("journey"), "status", "globex"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, f"{done.returncode}\n{done.stderr}"
    assert "cannot reach Temporal" in done.stderr
    for marker in CRASH_MARKERS:
        assert marker not in done.stderr
