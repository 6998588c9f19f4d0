"""Events through the command line against a real dev server and worker: what they change
is what they say, in the CLI's spelling (events with dashes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.slow

TODAY = date.today()
SIGNED = TODAY - timedelta(days=30)


def enroll(stack: Any, account: str, *extra: str) -> None:
    done = stack.journey(
        "enroll", "--id", account, "--name", f"{account.title()} Co", "--segment", "strategic", "--tier", "1",
        "--seats", "100", "--arr", "50000", "--signed", SIGNED.isoformat(),
        "--renewal", (SIGNED + timedelta(days=365)).isoformat(), "--ta", "ana", "--ae", "sam", *extra,
    )
    assert done.returncode == 0, done.stderr


def event_rows(stack: Any, account: str) -> list[dict[str, Any]]:
    return [r for r in stack.journey_json("timeline", account) if r["kind"] == "event"]


@pytest.fixture(scope="module")
def kicked_off(stack: Any, poll: Callable[..., Any]) -> str:
    enroll(stack, "repeater")
    poll(lambda: stack.journey_json("status", "repeater"))
    held = SIGNED + timedelta(days=10)
    done = stack.journey("event", "repeater", "kickoff-held", "--on", held.isoformat())
    assert done.returncode == 0, done.stderr
    assert "repeater: kickoff-held recorded" in done.stdout
    return held.isoformat()


def test_a_repeat_on_the_same_date_is_a_no_op(stack: Any, kicked_off: str) -> None:
    before = event_rows(stack, "repeater")
    done = stack.journey("event", "repeater", "kickoff-held", "--on", kicked_off)
    assert done.returncode == 0, done.stderr
    assert f"repeater: kickoff-held was already recorded on {kicked_off}; nothing changed" in done.stdout
    assert event_rows(stack, "repeater") == before


def test_the_same_event_on_another_date_is_refused(stack: Any, kicked_off: str) -> None:
    before = event_rows(stack, "repeater")
    other = (date.fromisoformat(kicked_off) + timedelta(days=1)).isoformat()
    done = stack.journey("event", "repeater", "kickoff-held", "--on", other)
    assert done.returncode == 2, f"{done.stdout}\n{done.stderr}"
    assert f"kickoff-held was already recorded on {kicked_off}" in done.stderr
    assert event_rows(stack, "repeater") == before


def test_a_rejection_lists_only_events_that_change_something(stack: Any, kicked_off: str) -> None:
    done = stack.journey("event", "repeater", "renewal-closed", "--data", '{"outcome": "renewed"}')
    assert done.returncode == 2
    allowed = done.stderr.split("allowed events: ")[1].split()
    allowed = [e.strip(",") for e in allowed]
    assert "kickoff-held" not in allowed and "production-ready" in allowed
    assert all("_" not in e for e in allowed)


def test_the_timeline_table_spells_events_with_dashes(stack: Any, kicked_off: str) -> None:
    done = stack.journey("timeline", "repeater")
    assert done.returncode == 0, done.stderr
    kickoff = [line for line in done.stdout.splitlines() if line.startswith(kicked_off)]
    assert any(" kickoff-held " in line for line in kickoff), done.stdout
    assert any("trigger=kickoff-held" in line for line in kickoff), done.stdout
    assert "kickoff_held" not in done.stdout
    # JSON keeps the update names.
    assert "kickoff_held" in [r["name"] for r in event_rows(stack, "repeater")]


def test_status_shows_red_account_tasks_and_churned_journeys_are_listed(
    stack: Any, kicked_off: str, poll: Callable[..., Any]
) -> None:
    done = stack.journey("health", "repeater", "red", "--reason", "champion left")
    assert done.returncode == 0, done.stderr

    def red_tasks() -> list[str]:
        tasks = [t["touchpoint"] for t in stack.journey_json("tasks", "--account", "repeater")]
        assert "red-action-plan" in tasks, tasks
        return tasks

    tasks = poll(red_tasks)
    status = stack.journey_json("status", "repeater")
    assert sorted(t["touchpoint"] for t in status["open_tasks"]) == sorted(tasks)
    assert "red-action-plan" in stack.journey("status", "repeater").stdout

    done = stack.journey("event", "repeater", "offboard", "--data", '{"reason": "moved to a competitor"}')
    assert done.returncode == 0, done.stderr

    def churned() -> list[dict[str, Any]]:
        rows = stack.journey_json("list", "--stage", "churned")
        assert [r["account"] for r in rows] == ["repeater"], rows
        return rows

    poll(churned)
    table = stack.journey("list", "--stage", "churned").stdout.splitlines()
    (row,) = [line for line in table if line.startswith("repeater")]
    assert row.split()[1:3] == ["churned", "-"], table
    status_line = stack.journey("status", "repeater").stdout.splitlines()[0]
    assert "health - (the journey has ended)" in status_line and "red" not in status_line


def test_marking_the_kickoff_call_done_moves_the_journey(stack: Any, poll: Callable[..., Any]) -> None:
    enroll(stack, "closer")
    poll(lambda: stack.journey_json("status", "closer"))
    held = (SIGNED + timedelta(days=8)).isoformat()
    done = stack.journey("done", "closer", "kickoff-call", "--on", held, "--data", '{"check_in_cadence_days": 7}', "--json")
    assert done.returncode == 0, done.stderr
    status = stack.journey_json("status", "closer")
    assert status["stage"] == "onboarding" and status["kickoff_held"] == held
    assert "kickoff-call" not in [t["touchpoint"] for t in status["open_tasks"]]
    events = [r["name"] for r in event_rows(stack, "closer") if r["at"] == held]
    assert events == ["touchpoint_done", "kickoff_held"]
    # Data for a task that stands for nothing it could still change is refused.
    done = stack.journey("done", "closer", "kickoff-call", "--data", '{"check_in_cadence_days": 7}')
    assert done.returncode == 2 and "field 'data'" in done.stderr, done.stderr
