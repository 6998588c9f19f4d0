"""Snoozing, rescheduling and handing on a journey's open tasks, in the engine alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from journey.domain.errors import InvalidEvent, PayloadError
from journey.domain.reminders import OpenTaskRow, reminder_effects
from journey.domain.task_moves import parse_tasks_moved
from tests.domain.test_engine import apply, enrolled

TODAY = date(2026, 1, 5)


def test_a_snooze_moves_the_task_records_it_and_wakes_the_journey_then() -> None:
    engine = enrolled(TODAY)
    engine.take_effects()
    task = next(t for t in engine.s.tasks if t.touchpoint == "kickoff-call")
    until = task.due + timedelta(days=3)
    wake_before, _ = engine.next_wake(TODAY)
    assert wake_before > until  # so the snoozed date is what wakes it next
    engine.move_tasks(parse_tasks_moved({"kind": "snooze", "touchpoint": "kickoff-call", "until": until.isoformat(),
                                         "reason": "customer away"}), TODAY)
    effects = engine.take_effects()
    assert [(c.key, c.due, c.owner) for c in effects.task_changes] == [(task.key, until, None)]
    row = effects.timeline[-1]
    assert (row.kind, row.name) == ("task", "kickoff-call")
    assert row.detail == {"status": "snoozed", "task": task.key, "owner": "ana", "from": "2026-01-12",
                          "to": until.isoformat(), "reason": "customer away"}
    assert engine.status(TODAY).open_tasks[[t.key for t in engine.status(TODAY).open_tasks].index(task.key)].due == until
    assert engine.next_wake_summary(TODAY) == (until, f"kickoff-call due {until}")
    # Reminders count from the new date (the sweep reads the store's due date).
    row_ = OpenTaskRow(key=task.key, account="acme", account_name="Acme", model="digital", ta="ana", ae="sam",
                       touchpoint="kickoff-call", title="Kickoff", owner_role="ta", owner="ana", due=until)
    assert reminder_effects([row_], {}, until + timedelta(days=2)) == []
    reminded = reminder_effects([row_], {}, until + timedelta(days=3))
    assert [c.reminded_on for c in reminded[0].task_changes] == [until + timedelta(days=3)]


def test_refusals_name_the_field_and_the_task() -> None:
    engine = enrolled(TODAY)
    with pytest.raises(InvalidEvent, match="field 'until': 2026-01-04 is before today"):
        engine.check_moves(parse_tasks_moved({"kind": "snooze", "touchpoint": "kickoff-call", "until": "2026-01-04"}), TODAY)
    with pytest.raises(InvalidEvent, match="field 'touchpoint': acme has no open task 'qbr'"):
        engine.check_moves(parse_tasks_moved({"kind": "snooze", "touchpoint": "qbr", "until": "2026-02-01"}), TODAY)
    with pytest.raises(InvalidEvent, match=r"field 'days': task license-key \(acme/license-key/2026-01-05\) would be due"):
        engine.check_moves(parse_tasks_moved({"kind": "reschedule", "days": -1}), TODAY)
    with pytest.raises(PayloadError, match="kind"):
        parse_tasks_moved({"kind": "later"})


def test_reschedule_moves_every_open_task() -> None:
    engine = enrolled(TODAY)
    before = {t.key: t.due for t in engine.s.tasks}
    engine.move_tasks(parse_tasks_moved({"kind": "reschedule", "days": 14}), TODAY)
    assert {t.key: t.due for t in engine.s.tasks} == {k: d + timedelta(days=14) for k, d in before.items()}


def test_a_cover_takes_open_and_new_tasks_until_its_last_day() -> None:
    engine = enrolled(TODAY)
    engine.take_effects()
    until = TODAY + timedelta(days=60)
    engine.move_tasks(parse_tasks_moved({"kind": "reassign", "owner": "ana", "to": "bo", "until": until.isoformat()}), TODAY)
    assert {t.owner for t in engine.s.tasks if t.owner_role == "ta"} == {"bo"}
    effects = engine.take_effects()
    assert all(c.owner == "bo" for c in effects.task_changes)
    assert effects.timeline[-1].detail["status"] == "reassigned"
    # Tasks opened while the cover holds go to the cover, those opened after it to the TA.
    apply(engine, "kickoff_held", TODAY, check_in_cadence_days=14)
    during, after = [], []
    for day in range(1, 180):
        engine.advance(TODAY + timedelta(days=day))
        opened = [t for t in engine.take_effects().open_tasks if t.owner_role == "ta"]
        (during if day <= 60 else after).extend(opened)
    assert during and {t.owner for t in during} == {"bo"}
    assert after and {t.owner for t in after} == {"ana"}


def test_without_a_cover_owners_are_as_before() -> None:
    engine = enrolled(TODAY)
    assert engine.s.covers == []
    assert {t.owner for t in engine.s.tasks if t.owner_role == "ta"} == {"ana"}
