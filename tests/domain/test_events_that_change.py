"""Events that change nothing say so: repeats, other dates, and the allowed events of a stage."""

from __future__ import annotations

from datetime import date

import pytest

from journey.domain.errors import InvalidEvent
from journey.domain.events import parse_event
from tests.domain.test_engine import apply, enrolled

SIGNED = date(2026, 1, 5)


def rows(engine, kind: str = "event") -> list[str]:
    return [r.name for r in engine.take_effects().timeline if r.kind == kind]


def test_a_repeat_on_the_recorded_date_changes_nothing() -> None:
    engine = enrolled(SIGNED)
    apply(engine, "kickoff_held", date(2026, 1, 12), on=date(2026, 1, 12))
    engine.take_effects()
    payload = parse_event("kickoff_held", {"on": "2026-01-12"})
    assert engine.repeat_of("kickoff_held", payload, date(2026, 1, 20)) == date(2026, 1, 12)
    engine.apply("kickoff_held", payload, date(2026, 1, 20))
    assert not engine.has_effects()
    assert engine.s.kickoff_held == date(2026, 1, 12)


def test_the_same_event_on_another_date_is_refused_naming_the_recorded_date() -> None:
    engine = enrolled(SIGNED)
    apply(engine, "kickoff_held", date(2026, 1, 12))
    with pytest.raises(InvalidEvent, match="kickoff-held was already recorded on 2026-01-12"):
        engine.validate("kickoff_held", parse_event("kickoff_held", {}), date(2026, 1, 20))
    apply(engine, "production_ready", date(2026, 2, 2))
    with pytest.raises(InvalidEvent, match="production-ready was already recorded on 2026-02-02"):
        engine.validate("production_ready", parse_event("production_ready", {"on": "2026-02-03"}), date(2026, 2, 9))


def test_allowed_events_are_those_that_would_change_something() -> None:
    engine = enrolled(SIGNED)
    assert "kickoff_held" in engine.status(SIGNED).allowed_events
    apply(engine, "kickoff_held", date(2026, 1, 12))
    allowed = engine.status(date(2026, 1, 12)).allowed_events
    assert "kickoff_held" not in allowed and "production_ready" in allowed
    apply(engine, "onboarding_complete", date(2026, 1, 30))
    assert "onboarding_complete" not in engine.status(date(2026, 1, 30)).allowed_events


def test_kickoff_held_in_renewal_is_refused_or_a_repeat() -> None:
    today = date(2026, 11, 2)
    # Nothing on file about the kickoff: in renewal it would change nothing.
    unknown = enrolled(today)
    assert unknown.s.stage.value == "renewal" and unknown.s.kickoff_held is None
    with pytest.raises(InvalidEvent) as err:
        unknown.validate("kickoff_held", parse_event("kickoff_held", {}), today)
    message = str(err.value)
    assert message.startswith("kickoff-held is not allowed in stage 'renewal'; allowed events: ")
    assert "kickoff-held" not in message.split("allowed events: ")[1]
    assert "renewal-closed" in message and "_" not in message
    # Production ready on file: the kickoff is assumed held at signature.
    placed = enrolled(today, production_ready=date(2026, 2, 2))
    placed.take_effects()
    payload = parse_event("kickoff_held", {"on": SIGNED.isoformat()})
    placed.apply("kickoff_held", payload, today)
    assert not placed.has_effects()
    with pytest.raises(InvalidEvent, match=f"already recorded on {SIGNED}"):
        placed.validate("kickoff_held", parse_event("kickoff_held", {}), today)


def test_journeys_from_before_keep_recording_repeats() -> None:
    engine = enrolled(SIGNED)
    apply(engine, "kickoff_held", date(2026, 1, 12))
    engine.take_effects()
    engine.apply("kickoff_held", parse_event("kickoff_held", {}), date(2026, 1, 20), strict=False)
    assert rows(engine) == ["kickoff_held"]


def test_marking_the_kickoff_call_done_reports_the_kickoff() -> None:
    engine = enrolled(SIGNED)
    assert "kickoff-call" in [t.touchpoint for t in engine.s.tasks]
    engine.take_effects()
    apply(engine, "touchpoint_done", date(2026, 1, 12), touchpoint="kickoff-call", data={"check_in_cadence_days": 7})
    assert engine.s.stage.value == "onboarding" and engine.s.kickoff_held == date(2026, 1, 12)
    assert engine.s.check_in_cadence_days == 7
    assert "kickoff-call" not in [t.touchpoint for t in engine.s.tasks]
    assert rows(engine) == ["touchpoint_done", "kickoff_held"]


def test_the_data_of_a_task_is_checked_as_its_events() -> None:
    engine = enrolled(SIGNED)
    with pytest.raises(InvalidEvent, match="field 'data': kickoff-held: .*check_in_cadence_days"):
        engine.validate(
            "touchpoint_done",
            parse_event("touchpoint_done", {"touchpoint": "kickoff-call", "data": {"check_in_cadence_days": "often"}}),
            date(2026, 1, 12),
        )
    with pytest.raises(InvalidEvent, match="field 'data': qbr stands for no event"):
        engine.validate("touchpoint_done", parse_event("touchpoint_done", {"touchpoint": "qbr", "data": {}}), date(2026, 1, 12))


def test_onboarding_plan_done_completes_onboarding() -> None:
    engine = enrolled(SIGNED)
    apply(engine, "kickoff_held", date(2026, 1, 12))
    engine.advance(date(2026, 1, 12))
    assert "onboarding-plan" in [t.touchpoint for t in engine.s.tasks]
    apply(engine, "touchpoint_done", date(2026, 1, 20), touchpoint="onboarding-plan")
    assert engine.s.onboarding_complete == date(2026, 1, 20)


def test_a_stage_with_nothing_open_or_ahead_gets_its_next_step() -> None:
    engine = enrolled(SIGNED)
    assert not engine.needs_next_step(SIGNED)  # the kickoff call is open
    # A journey from before tasks stood for events: the call was closed, the kickoff not reported.
    for touchpoint in ("license-key", "kickoff-call"):
        payload = parse_event("touchpoint_done", {"touchpoint": touchpoint})
        engine.apply("touchpoint_done", payload, date(2026, 1, 7), strict=False)
    assert engine.s.stage.value == "kickoff" and engine.s.tasks == []
    assert engine.needs_next_step(date(2026, 1, 7))
    engine.open_next_step(date(2026, 1, 7))
    ((task,),) = [engine.s.tasks]
    assert (task.touchpoint, task.owner, task.due) == ("report-kickoff", "ana", date(2026, 1, 14))
    assert not engine.needs_next_step(date(2026, 1, 8))
    apply(engine, "touchpoint_done", date(2026, 1, 9), touchpoint="report-kickoff")
    assert engine.s.stage.value == "onboarding" and engine.s.kickoff_held == date(2026, 1, 9)
    assert "report-kickoff" not in [t.touchpoint for t in engine.s.tasks]


def test_a_journey_of_automated_touches_alone_is_never_given_tasks() -> None:
    engine = enrolled(SIGNED, segment="commercial", tier=3)
    engine.s.tasks.clear()
    assert engine.s.stage.value == "kickoff" and not engine.needs_next_step(SIGNED)
