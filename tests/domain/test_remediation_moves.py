"""A red-account remediation's tasks moved as the journey's are: handed to a cover (and
its new tasks with them while the cover holds), snoozed, rescheduled."""

from __future__ import annotations

from datetime import date, timedelta

from journey.domain.engine.engine import Engine
from journey.domain.enums import Health
from journey.domain.events import parse_event
from journey.domain.remediation import Remediation
from journey.domain.task_moves import parse_tasks_moved
from journey.domain.touches import Cover
from tests.domain.test_engine import enrolled

TODAY = date(2026, 1, 5)


def red_remediation(engine: Engine) -> Remediation:
    engine.apply("set_health", parse_event("set_health", {"color": "red", "reason": "champion left"}), TODAY)
    assert engine.s.health is Health.red
    return Remediation(engine.red_episode(engine.s.red_episode, TODAY, "champion left"))


def test_a_cover_of_the_journey_takes_the_remediations_new_tasks() -> None:
    engine = enrolled(TODAY)
    engine.move_tasks(parse_tasks_moved({"kind": "reassign", "owner": "ana", "to": "bo", "until": "2026-02-01"}), TODAY)
    remediation = red_remediation(engine)
    assert remediation.episode.covers == [Cover(owner="ana", cover="bo", until=date(2026, 2, 1))]
    [plan] = remediation.open().open_tasks
    assert (plan.touchpoint, plan.owner) == ("red-action-plan", "bo")
    # After the cover ends, the owner's own again.
    effects = remediation.catch_up(date(2026, 2, 20), [], promoted=False)
    assert {t.owner for t in effects.open_tasks if t.touchpoint == "red-follow-up"} == {"ana"}


def test_moves_reach_the_remediations_open_tasks() -> None:
    engine = enrolled(TODAY)
    remediation = red_remediation(engine)
    remediation.open()
    [plan] = remediation.open_tasks
    reassign = parse_tasks_moved({"kind": "reassign", "owner": "ana", "to": "bo", "reason": "vacation"})
    effects = remediation.catch_up(TODAY, [], promoted=False, moves=[reassign])
    assert [(c.key, c.owner, c.due) for c in effects.task_changes] == [(plan.key, "bo", None)]
    [row] = [e for e in effects.timeline if e.kind == "task"]
    assert row.detail == {"status": "reassigned", "task": plan.key, "owner": "bo", "from": "ana", "to": "bo", "reason": "vacation"}
    later = TODAY + timedelta(days=10)
    snooze = parse_tasks_moved({"kind": "snooze", "touchpoint": "red-action-plan", "until": later.isoformat()})
    reschedule = parse_tasks_moved({"kind": "reschedule", "days": 2})
    effects = remediation.catch_up(TODAY, [], promoted=False, moves=[snooze, reschedule])
    assert [(c.key, c.due) for c in effects.task_changes] == [(plan.key, later), (plan.key, later + timedelta(days=2))]
    assert remediation.plan_due == later + timedelta(days=2)


def test_the_journey_forwards_its_moves_only_while_a_remediation_runs() -> None:
    from journey.domain.engine import ForwardTasksMoved

    engine = enrolled(TODAY)
    engine.move_tasks(parse_tasks_moved({"kind": "reschedule", "days": 1}), TODAY)
    assert not [c for c in engine.take_commands() if isinstance(c, ForwardTasksMoved)]
    red_remediation(engine)
    engine.take_commands()
    engine.remediation_started("red-acme-1")
    snooze = {"kind": "snooze", "touchpoint": "red-action-plan", "until": "2026-01-20"}
    assert engine.check_moves(parse_tasks_moved(snooze), TODAY) == []  # the remediation's task, not the journey's
    engine.move_tasks(parse_tasks_moved(snooze), TODAY)
    assert [c.payload for c in engine.take_commands() if isinstance(c, ForwardTasksMoved)] == [snooze]
