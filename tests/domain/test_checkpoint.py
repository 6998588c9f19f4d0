"""`Checkpoint`: an engine put back exactly as it was when a change fails half-way."""

from __future__ import annotations

from datetime import date

import pytest

from journey.domain.engine import Engine, StartRemediation
from journey.domain.engine.checkpoint import Checkpoint, copy_state
from journey.domain.enums import Health, Stage
from journey.domain.events import SetHealth, parse_event
from tests.domain.test_engine import enrolled

TODAY = date(2026, 2, 2)


def test_restore_undoes_a_change_that_broke_half_way(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = enrolled(TODAY)
    engine.take_effects()
    # An earlier update's effects, not written yet, and its command, already taken.
    engine.apply("kickoff_held", parse_event("kickoff_held", {}), TODAY)
    engine.take_commands()
    pending = engine.effects.model_copy(deep=True)
    before = engine.s.model_dump()
    playbook = engine.s.playbook

    checkpoint = Checkpoint(engine)
    real = Engine._on_set_health

    def breaks_after_the_change(self: Engine, payload: SetHealth, on: date) -> None:
        real(self, payload, on)
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(Engine, "_on_set_health", breaks_after_the_change)
    with pytest.raises(RuntimeError):
        engine.apply("set_health", parse_event("set_health", {"color": "red", "reason": "champion left"}), TODAY)
    assert engine.s.health is Health.red, "the change was half done"

    checkpoint.restore()

    assert engine.s.model_dump() == before
    assert engine.s.playbook is playbook, "the interned playbook is shared, not copied"
    assert engine.take_commands() == [], "the red episode decided by the failed change is dropped"
    assert engine.take_effects() == pending, "the earlier update's effects are kept"
    # The state machines follow the restored state: the same event goes through now.
    monkeypatch.undo()
    assert engine.lifecycle.may("onboarding_complete") and engine.s.stage is Stage.onboarding
    engine.apply("set_health", parse_event("set_health", {"color": "red", "reason": "champion left"}), TODAY)
    assert engine.s.health is Health.red
    assert [type(c) for c in engine.take_commands()] == [StartRemediation]


def test_restore_without_pending_effects_leaves_none() -> None:
    engine = enrolled(TODAY)
    engine.take_effects()
    checkpoint = Checkpoint(engine)
    engine.apply("kickoff_held", parse_event("kickoff_held", {}), TODAY)
    checkpoint.restore()
    assert not engine.has_effects()
    assert engine.s.stage is Stage.kickoff


def test_copy_state_is_deep_but_shares_the_playbook() -> None:
    state = enrolled(TODAY).s
    copied = copy_state(state)
    assert copied == state and copied is not state
    assert copied.playbook is state.playbook
    assert copied.account is not state.account and copied.tasks is not state.tasks
