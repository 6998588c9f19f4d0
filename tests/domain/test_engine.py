"""The journey engine as plain Python: placement, events, touchpoints, no Temporal."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from journey.config import playbooks_dir
from journey.domain.engine import ContinueAsNew, EndRemediation, Engine, StartRemediation
from journey.domain.enums import EngagementModel, Health, Stage
from journey.domain.errors import InvalidEvent
from journey.domain.events import parse_event
from journey.domain.machines import Lifecycle, mermaid_health, mermaid_lifecycle
from journey.domain.models import Account
from journey.domain.playbook_files import load_playbooks

PLAYBOOKS = load_playbooks(playbooks_dir())


def account(**overrides: object) -> Account:
    data: dict[str, object] = {
        "id": "acme", "name": "Acme", "segment": "strategic", "tier": 1, "seats": 100, "arr": 1000.0,
        "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
    }
    data.update(overrides)
    return Account.model_validate(data)


def enrolled(today: date, **overrides: object) -> Engine:
    acct = account(**overrides)
    engine = Engine.enroll(acct, PLAYBOOKS[acct.engagement_model], today, chain="t")
    # As the workflow does on its first step: place, then bring the calendar up to today.
    engine.place(today)
    engine.advance(today)
    return engine


def apply(engine: Engine, event: str, today: date, **data: object) -> None:
    engine.apply(event, parse_event(event, {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}), today)


def remediation_commands(engine: Engine) -> list[tuple[str, int]]:
    """The remediation starts and ends the engine asked for since last taken, as (action, episode)."""
    return [
        ("start" if isinstance(c, StartRemediation) else "end", c.episode)
        for c in engine.take_commands()
        if isinstance(c, (StartRemediation, EndRemediation))
    ]


def test_new_account_starts_in_kickoff_with_license_key_and_kickoff_call() -> None:
    engine = enrolled(date(2026, 1, 5))
    effects = engine.take_effects()
    assert engine.s.stage is Stage.kickoff
    assert effects.enroll is not None and effects.enroll.id == "acme"
    # Tasks open two weeks ahead of their due date: the kickoff call (signed + 5, a Saturday → Monday).
    assert [(t.touchpoint, t.due) for t in effects.open_tasks] == [
        ("license-key", date(2026, 1, 5)),
        ("kickoff-call", date(2026, 1, 12)),
    ]


def test_mid_life_account_is_placed_in_renewal_and_old_touchpoints_are_skipped() -> None:
    today = date(2026, 11, 6)
    engine = enrolled(
        today, signed=date(2025, 11, 5), renewal=today + timedelta(days=60),
        production_ready=date(2025, 12, 1), onboarding_complete=date(2026, 1, 15),
    )
    assert engine.s.stage is Stage.renewal
    effects = engine.take_effects()
    stages = [(row.name, row.at) for row in effects.timeline if row.kind == "stage"]
    assert stages == [
        ("kickoff", date(2025, 11, 5)),
        ("onboarding", date(2025, 11, 5)),
        ("adoption", date(2025, 12, 1)),
        ("steady", date(2026, 1, 30)),
        ("renewal", today + timedelta(days=60) - timedelta(days=90)),
    ]
    skipped = {row.name for row in effects.timeline if row.kind == "touchpoint" and row.detail["status"] == "skipped"}
    assert {"license-key", "kickoff-call", "training-101", "value-review"} <= skipped
    # Nothing that fell due long ago becomes a task or a delivery.
    assert all(t.due >= today - timedelta(days=7) for t in effects.open_tasks)
    assert not effects.deliveries


def test_event_not_allowed_in_stage_names_stage_and_allowed_events() -> None:
    engine = enrolled(date(2026, 1, 5))
    with pytest.raises(InvalidEvent) as err:
        engine.validate("renewal_closed", parse_event("renewal_closed", {"outcome": "renewed"}), date(2026, 1, 6))
    message = str(err.value)
    assert "stage 'kickoff'" in message and "allowed events:" in message and "kickoff-held" in message


def test_event_dates_must_be_between_signature_and_today() -> None:
    engine = enrolled(date(2026, 1, 5))
    with pytest.raises(InvalidEvent, match="field 'on'.*future"):
        engine.validate("kickoff_held", parse_event("kickoff_held", {"on": "2026-02-01"}), date(2026, 1, 10))
    with pytest.raises(InvalidEvent, match="field 'on'.*before the contract was signed"):
        engine.validate("kickoff_held", parse_event("kickoff_held", {"on": "2025-12-01"}), date(2026, 1, 10))


def test_unknown_touchpoint_is_refused_with_the_known_ones() -> None:
    engine = enrolled(date(2026, 1, 5))
    with pytest.raises(InvalidEvent, match="field 'touchpoint': unknown touchpoint 'qbrr'"):
        engine.validate("touchpoint_done", parse_event("touchpoint_done", {"touchpoint": "qbrr"}), date(2026, 1, 6))


def test_production_ready_starts_the_sixty_day_window_and_a_miss_lowers_health() -> None:
    engine = enrolled(date(2026, 1, 5))
    apply(engine, "kickoff_held", date(2026, 1, 12))
    apply(engine, "production_ready", date(2026, 2, 2))
    assert engine.s.stage is Stage.adoption
    assert engine.s.adoption_deadline == date(2026, 4, 3)
    assert engine.adoption_due(date(2026, 4, 2)) is None
    assert engine.adoption_due(date(2026, 4, 3)) == date(2026, 4, 3)
    engine.judge_adoption(0.5)
    assert engine.s.stage is Stage.steady and engine.s.adoption_result == "missed"
    assert engine.s.health is Health.yellow


def test_adoption_met_at_exactly_the_target() -> None:
    engine = enrolled(date(2026, 1, 5), production_ready=date(2026, 1, 10))
    engine.judge_adoption(0.8)
    assert engine.s.adoption_result == "met" and engine.s.health is Health.green


def test_red_starts_remediation_and_promotion_ends_it() -> None:
    engine = enrolled(date(2026, 1, 5))
    apply(engine, "set_health", date(2026, 1, 6), color="red", reason="champion left")
    assert remediation_commands(engine) == [("start", 1)]
    apply(engine, "set_health", date(2026, 1, 20), color="yellow", reason="plan agreed")
    assert remediation_commands(engine) == [("end", 1)]


def test_renewal_starts_a_new_term_with_a_new_renewal_date() -> None:
    engine = enrolled(date(2026, 11, 1), production_ready=date(2026, 1, 20), signed=date(2026, 1, 5))
    assert engine.s.stage is Stage.renewal
    apply(engine, "renewal_closed", date(2026, 12, 1), outcome="renewed", seats=150)
    assert engine.s.stage is Stage.steady and engine.s.term == 2
    assert ContinueAsNew() in engine.take_commands()
    assert engine.s.account.renewal == date(2028, 1, 5) and engine.s.account.seats == 150


def test_churn_cancels_open_tasks_and_ends_the_journey() -> None:
    engine = enrolled(date(2026, 11, 1), production_ready=date(2026, 1, 20), signed=date(2026, 1, 5))
    engine.advance(date(2026, 11, 1))
    engine.take_effects()
    assert engine.s.tasks
    apply(engine, "renewal_closed", date(2026, 12, 1), outcome="churned")
    effects = engine.take_effects()
    assert engine.terminal and not engine.s.tasks
    assert {c.status for c in effects.task_changes} == {"cancelled"}
    with pytest.raises(InvalidEvent, match="has ended"):
        engine.validate("set_health", parse_event("set_health", {"color": "red", "reason": "x"}), date(2026, 12, 2))


def test_done_closes_the_earliest_open_task_of_that_touchpoint() -> None:
    engine = enrolled(date(2026, 1, 5))
    engine.take_effects()
    apply(engine, "touchpoint_done", date(2026, 1, 6), touchpoint="license-key", notes="sent")
    effects = engine.take_effects()
    assert [(c.status, c.notes) for c in effects.task_changes] == [("done", "sent")]
    assert all(t.touchpoint != "license-key" for t in engine.s.tasks)


def test_weekends_move_to_monday_and_the_weekly_cap_holds() -> None:
    engine = enrolled(date(2026, 1, 5))
    apply(engine, "kickoff_held", date(2026, 1, 7), check_in_cadence_days=1)
    engine.take_effects()
    engine.advance(date(2026, 2, 1))
    effects = engine.take_effects()
    checkins = [t.due for t in effects.open_tasks if t.touchpoint == "check-in"]
    assert all(day.weekday() < 5 for day in checkins)
    per_week: dict[date, int] = {}
    for task in effects.open_tasks:
        tp = engine.s.playbook.touchpoint(task.touchpoint)
        if tp is not None and tp.customer_facing:
            monday = task.due - timedelta(days=task.due.weekday())
            per_week[monday] = per_week.get(monday, 0) + 1
    assert max(per_week.values()) <= engine.s.playbook.max_customer_touches_per_week


def customer_facing_calendar(extra_wakes: set[date]) -> list[tuple[str, date]]:
    """The customer-facing tasks a tier-2 journey with check-ins every 4 days opens over its
    first 100 days, waking when it asks to, on its event days and on `extra_wakes` (as an
    update, e.g. the health sweep's, wakes it)."""
    signed = date(2026, 3, 2)
    events = {signed + timedelta(days=7): "kickoff_held", signed + timedelta(days=21): "production_ready"}
    engine = enrolled(signed, segment="large-enterprise", tier=2)
    day, end = signed, signed + timedelta(days=100)
    while day <= end:
        if events.get(day) == "kickoff_held":
            apply(engine, "kickoff_held", day, check_in_cadence_days=4)
        elif events.get(day) == "production_ready":
            apply(engine, "production_ready", day)
        engine.advance(day)
        wake, _ = engine.next_wake(day)
        day = min([wake, *(d for d in (*events, *extra_wakes) if d > day)])
    playbook = engine.s.playbook
    return [
        (t.touchpoint, t.due)
        for t in engine.take_effects().open_tasks
        if (tp := playbook.touchpoint(t.touchpoint)) is not None and tp.customer_facing
    ]


def test_the_weekly_cap_places_touches_the_same_however_the_journey_wakes() -> None:
    asked = customer_facing_calendar(set())
    weeks = Counter(due - timedelta(days=due.weekday()) for _, due in asked)
    assert max(weeks.values()) == PLAYBOOKS[EngagementModel.enterprise].max_customer_touches_per_week  # it binds
    assert customer_facing_calendar({date(2026, 4, 2), date(2026, 4, 22)}) == asked
    daily = {date(2026, 3, 2) + timedelta(days=n) for n in range(101)}
    assert customer_facing_calendar(daily) == asked


def test_a_milestone_reached_on_a_weekend_goes_out_on_monday() -> None:
    signed = date(2026, 1, 5)
    engine = enrolled(signed, segment="commercial", tier=3, production_ready=signed)
    engine.take_effects()
    saturday = date(2026, 1, 17)
    engine.observe_metrics(0.55, None)  # past 25% and 50%, told on a Saturday
    engine.advance(saturday)
    assert [d for d in engine.take_effects().deliveries if d.touchpoint == "enablement"] == []
    assert engine.next_wake(saturday) == (date(2026, 1, 19), "enablement")
    monday = date(2026, 1, 19)
    engine.advance(monday)
    sent = [(d.key, d.due) for d in engine.take_effects().deliveries if d.touchpoint == "enablement"]
    assert sent == [("acme/enablement/2026-01-19@0.25", monday), ("acme/enablement/2026-01-19@0.5", monday)]
    assert "enablement" not in engine.s.deferred
    engine.advance(date(2026, 1, 20))
    assert [d for d in engine.take_effects().deliveries if d.touchpoint == "enablement"] == []


def test_status_lists_open_tasks_and_next_touchpoints() -> None:
    engine = enrolled(date(2026, 1, 5))
    status = engine.status(date(2026, 1, 5))
    assert [t.touchpoint for t in status.open_tasks] == ["license-key", "kickoff-call"]
    # Until the kickoff is held, only the renewal-anchored touches are on the calendar:
    # the value report two weeks before the value review at renewal - 90 days.
    assert [(t.touchpoint, t.due) for t in status.next_touchpoints] == [
        ("value-report", date(2026, 9, 23)),
        ("value-review", date(2026, 10, 7)),
    ]
    assert "kickoff_held" in status.allowed_events


def test_next_wake_is_never_today_or_earlier() -> None:
    engine = enrolled(date(2026, 1, 5))
    engine.advance(date(2026, 1, 5))
    wake, why = engine.next_wake(date(2026, 1, 5))
    assert wake > date(2026, 1, 5) and why


def test_lifecycle_machine_moves_and_diagrams() -> None:
    machine = Lifecycle()
    assert machine.allowed()[:2] == ["kickoff_held", "production_ready"]
    assert machine.fire("begin") is Stage.kickoff
    assert not machine.may("renewal_closed")
    assert "signed --> kickoff: begin" in mermaid_lifecycle()
    assert "churned --> [*]" in mermaid_lifecycle()
    assert "green --> red: to_red" in mermaid_health()


def test_no_usage_at_the_deadline_is_no_verdict_until_usage_is_reported() -> None:
    engine = enrolled(date(2026, 1, 5), production_ready=date(2026, 1, 10))
    deadline = engine.s.adoption_deadline
    assert deadline == date(2026, 3, 11)
    engine.judge_adoption(None, date(2026, 3, 12), needs_data=True)
    assert engine.s.stage is Stage.steady and engine.s.adoption_result == "no-data"
    assert engine.s.health is Health.green and engine.s.health_reason is None
    assert "report-usage" in [t.touchpoint for t in engine.s.tasks]
    assert engine.adoption_pending(deadline) is None
    assert engine.adoption_pending(date(2026, 3, 20)) == deadline
    engine.judge_late(0.6, date(2026, 3, 20))
    assert engine.s.adoption_result == "missed" and engine.s.health is Health.yellow
    assert "report-usage" not in [t.touchpoint for t in engine.s.tasks] and engine.adoption_pending(date(2026, 3, 21)) is None
    rows = [(r.at, r.name) for r in engine.take_effects().timeline if r.kind == "adoption"]
    assert rows == [(deadline, "no-data"), (date(2026, 3, 20), "missed")]


def test_no_usage_at_the_deadline_before_the_patch_is_a_miss() -> None:
    engine = enrolled(date(2026, 1, 5), production_ready=date(2026, 1, 10))
    engine.judge_adoption(None)
    assert engine.s.adoption_result == "missed" and engine.s.health is Health.yellow
