"""`journey schedule` and `journey playbook apply` against a real dev server and worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journey.config import playbooks_dir
from journey.domain.enums import EngagementModel
from journey.domain.playbook_files import load_playbooks

# Real dev servers, workers and CLI processes: minutes, not seconds.
pytestmark = pytest.mark.slow

TODAY = date.today()


def ok(done: Any, what: str) -> Any:
    assert done.returncode == 0, f"{what}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def enroll(stack: Any, account_id: str, segment: str, signed: date, *extra: str) -> None:
    ok(
        stack.journey(
            "enroll", "--id", account_id, "--name", account_id.title(), "--segment", segment, "--tier", "1",
            "--seats", "100", "--arr", "50000", "--signed", signed.isoformat(),
            "--renewal", (signed + timedelta(days=365)).isoformat(), "--ta", "ana", "--ae", "sam", *extra,
        ),
        f"enroll {account_id}",
    )


@pytest.fixture(scope="module")
def enrolled(stack: Any) -> dict[str, str]:
    # Signed five days ago: the license-key task (due at signature) is at least three days late.
    accounts = {"overdue-corp": "strategic", "tips-co": "commercial"}
    for account_id, segment in accounts.items():
        enroll(stack, account_id, segment, TODAY - timedelta(days=5))
    return accounts


def test_schedules_are_created_once_and_can_be_moved(stack: Any) -> None:
    before = {row["name"]: row for row in stack.journey_json("schedule", "show")}
    assert before["reminders"]["schedule_id"] == "journey-task-reminders"

    created = ok(stack.journey("schedule", "ensure"), "ensure")
    # (A worker may have created it at start already.)
    assert ("journey-task-reminders" in created.stdout) is not before["reminders"]["exists"]
    again = ok(stack.journey("schedule", "ensure"), "ensure again")
    assert "nothing changed" in again.stdout

    shown = {row["name"]: row for row in stack.journey_json("schedule", "show")}["reminders"]
    assert (shown["exists"], shown["time"], shown["time_zone"], shown["paused"]) == (True, "08:00", "UTC", False)
    assert datetime.fromisoformat(shown["next_runs"][0]).strftime("%H:%M:%S") == "08:00:00"

    moved = stack.journey_json("schedule", "set", "reminders", "--hour", "6", "--minute", "30")
    assert moved["time"] == "06:30"
    assert all(datetime.fromisoformat(t).strftime("%H:%M") == "06:30" for t in moved["next_runs"])
    # ensure does not put it back
    ok(stack.journey("schedule", "ensure"), "ensure after set")
    assert {row["name"]: row for row in stack.journey_json("schedule", "show")}["reminders"]["time"] == "06:30"


def test_trigger_runs_the_reminder_sweep_now(stack: Any, enrolled: dict[str, str], poll: Callable[..., Any]) -> None:
    def license_task() -> dict[str, Any]:
        tasks = stack.journey_json("tasks", "--account", "overdue-corp")
        [task] = [t for t in tasks if t["touchpoint"] == "license-key"]
        return task

    task = poll(license_task)
    assert (TODAY - date.fromisoformat(task["due"])).days >= 3
    result = stack.journey_json("schedule", "trigger", "reminders")
    assert result["workflow_id"].startswith("journey-task-reminders")
    assert result["report"]["reminded"] >= 1 and result["report"]["today"] == datetime.now(UTC).date().isoformat()
    assert license_task()["reminded_on"] == result["report"]["today"]
    # No SMTP in this stack: the reminder is recorded as not sent, not retried forever.
    with stack.store() as store:
        rows = store.pending_deliveries(key_suffixes=("/reminder",), include_claimed=True)
    assert rows == []
    again = stack.journey_json("schedule", "trigger", "reminders")
    assert again["report"]["reminded"] == 0
    recent = {row["name"]: row for row in stack.journey_json("schedule", "show")}["reminders"]["recent_runs"]
    assert {r["workflow_id"] for r in recent} >= {result["workflow_id"], again["workflow_id"]}


def test_playbook_apply_finds_the_running_journeys(
    stack: Any, enrolled: dict[str, str], poll: Callable[..., Any], tmp_path: Path
) -> None:
    source = Path(__file__).resolve().parents[2] / "playbooks" / "digital.toml"
    changed = tmp_path / "digital.toml"
    changed.write_text(source.read_text().replace("count = 8", "count = 12"))
    version = load_playbooks(playbooks_dir())[EngagementModel.digital].version

    def visible() -> None:
        assert [r["account"] for r in stack.journey_json("list", "--model", "digital")] == ["tips-co"]

    poll(visible)
    applied = stack.journey_json("playbook", "apply", str(changed))
    assert applied["applied"] == ["tips-co"] and applied["failed"] == []
    [book] = applied["playbooks"]
    assert book["model"] == "digital" and book["journeys"] == 1 and book["version"] != version
    assert stack.journey_json("status", "tips-co")["playbook_version"] == book["version"]

    # By model name: the bundled playbook, for every running journey of each model.
    both = stack.journey_json("playbook", "apply", "digital", "enterprise")
    assert sorted(both["applied"]) == ["overdue-corp", "tips-co"]
    assert stack.journey_json("status", "tips-co")["playbook_version"] == version



# ----- bad input, in process: refused before any server is contacted -----


def test_bad_schedule_input_exits_2(invoke: Callable[..., Any]) -> None:
    bad = invoke("schedule", "set", "reminders", "--hour", "24")
    assert bad.exit_code == 2 and "--hour" in bad.output
    assert invoke("schedule", "trigger", "nonsense").exit_code == 2


def test_bad_playbook_apply_input_exits_2(invoke: Callable[..., Any], nothing_written: Callable[[], None], tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "playbooks" / "digital.toml"
    broken = tmp_path / "broken.toml"
    broken.write_text(source.read_text().replace('owner = "automated"', 'owner = "robot"', 1))
    refused = invoke("playbook", "apply", "enterprise", str(broken))
    assert refused.exit_code == 2 and "broken.toml" in refused.output and "owner" in refused.output
    twice = invoke("playbook", "apply", "digital", str(source))
    assert twice.exit_code == 2 and "one per model" in twice.output
    missing = invoke("playbook", "apply", "no-such-model")
    assert missing.exit_code == 2 and "no such playbook file" in missing.output
    assert invoke("playbook", "apply").exit_code == 2
    nothing_written()
