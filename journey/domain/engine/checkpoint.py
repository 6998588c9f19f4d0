"""An engine's state before a change, to put back when the change fails half-way.

A journey applies an update to its engine in place. Should the engine raise in the middle
(a bug, data the rules did not foresee), the state may be half-changed; the workflow puts
the checkpoint back and fails only that update, so the journey is exactly as it was.
"""

from __future__ import annotations

import copy

from journey.domain.effects import Effects
from journey.domain.engine.engine import Engine
from journey.domain.engine.state import JourneyState
from journey.domain.machines import HealthMachine, Lifecycle


class Checkpoint:
    """Take one before changing an engine; `restore()` undoes everything done since.

    Commands the engine decided before the checkpoint must have been taken already (the
    engine hands them out only once): those decided after it are dropped on restore."""

    __slots__ = ("_engine", "_state", "_effects")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._state = copy_state(engine.s)
        # Effects recorded and not written yet (another update's, waiting for the step).
        self._effects = engine.effects.model_copy(deep=True) if engine.has_effects() else None

    def restore(self) -> None:
        engine = self._engine
        engine.s = self._state
        engine.lifecycle = Lifecycle(engine.s.stage)
        engine.health_machine = HealthMachine(engine.s.health)
        engine.take_commands()
        engine.take_effects()
        if self._effects is not None:
            _put_back(engine.effects, self._effects)


def copy_state(state: JourneyState) -> JourneyState:
    """A deep copy that shares the playbook: playbooks are immutable and interned, one
    object for every journey on the worker that follows it."""
    return copy.deepcopy(state, {id(state.playbook): state.playbook})


def _put_back(effects: Effects, saved: Effects) -> None:
    for name in type(saved).model_fields:
        setattr(effects, name, getattr(saved, name))
