"""What the timers' summaries say: what falls due, and when."""

from __future__ import annotations

from datetime import date, timedelta

from journey.domain.remediation import Remediation
from tests.domain.test_engine import apply, enrolled


def test_a_task_says_when_it_falls_due_and_when_it_opens() -> None:
    engine = enrolled(date(2026, 1, 5))
    apply(engine, "kickoff_held", date(2026, 1, 6))
    engine.advance(date(2026, 1, 6))
    wake, summary = engine.next_wake_summary(date(2026, 1, 6))
    assert engine.next_wake(date(2026, 1, 6))[0] == wake
    touchpoint, due = summary.split(" (")[0].split(" due ")
    assert summary == f"{touchpoint} due {due} (task opens {wake})"
    assert date.fromisoformat(due) - wake == timedelta(days=7)


def test_the_adoption_deadline_says_a_verdict_is_due() -> None:
    engine = enrolled(date(2026, 3, 2), production_ready=date(2026, 2, 2))
    engine.advance(date(2026, 4, 2))
    wake, summary = engine.next_wake_summary(date(2026, 4, 2))
    assert engine.s.adoption_deadline == date(2026, 4, 3)
    assert (wake, summary) == (date(2026, 4, 3), "adoption verdict due 2026-04-03")


def test_remediation_summaries_and_action_plan_status() -> None:
    engine = enrolled(date(2026, 1, 5))
    apply(engine, "set_health", date(2026, 1, 6), color="red", reason="champion left")
    remediation = Remediation(engine.red_episode(1, date(2026, 1, 6), "champion left"))
    remediation.open()
    assert remediation.plan_status().startswith("open, due ")
    assert remediation.next_wake_summary(date(2026, 1, 6)) == (date(2026, 1, 13), "red-follow-up 1 due 2026-01-13")
    remediation.catch_up(date(2026, 1, 8), [("red-action-plan", date(2026, 1, 8), None)], promoted=False)
    assert remediation.plan_status() == "done 2026-01-08"
