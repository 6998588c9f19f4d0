"""The lifecycle and health state machines, built with `transitions` from declarative tables.

These tables are the single source of truth for legal moves: the workflow asks the
machine whether an event may happen in the current stage before it applies it, and
`journey playbook diagram` draws the same tables with `transitions`' own Mermaid support.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from journey.domain.enums import Health, Stage
from journey.domain.names import EVENTS

ACTIVE = [s.value for s in Stage if s not in (Stage.renewed, Stage.churned)]
EARLY = ["signed", "kickoff", "onboarding"]


@dataclass(frozen=True)
class Move:
    trigger: str
    source: str | list[str]
    dest: str | None  # None: allowed here, but the stage does not change
    note: str = ""


# Events users send are update names; the rest are fired by the journey itself.
LIFECYCLE: list[Move] = [
    Move("begin", "signed", "kickoff", "journey enrolled: license key and kickoff"),
    Move("kickoff_held", ["signed", "kickoff"], "onboarding", "kickoff call held"),
    Move("kickoff_held", ["onboarding", "adoption", "steady", "renewal"], None),
    Move("production_ready", EARLY, "adoption", "production infrastructure established"),
    Move("production_ready", ["adoption", "steady", "renewal"], None),
    Move("onboarding_complete", ["kickoff", "onboarding", "adoption", "steady", "renewal"], None),
    Move("adoption_judged", "adoption", "steady", "60-day adoption window closed"),
    Move("open_renewal", ["kickoff", "onboarding", "adoption", "steady"], "renewal", "90 days before renewal"),
    Move("renewal_closed", ["steady", "renewal"], "renewed", "renewal closed: renewed"),
    Move("new_term", "renewed", "steady", "new term"),
    Move("churn", ["steady", "renewal"], "churned", "renewal closed: churned"),
    Move("offboard", ACTIVE, "churned", "offboarded"),
    Move("set_health", ACTIVE, None),
    Move("touchpoint_done", ACTIVE, None),
    Move("contract_changed", ACTIVE, None),
]

HEALTH: list[Move] = [
    Move(f"to_{color.value}", [c.value for c in Health if c is not color], color.value)
    for color in Health
]

# The updates people send, as named in the interface contract.
USER_EVENTS = list(EVENTS)


class _Model:
    """A bare object for `transitions` to attach its state to."""

    state: str


def _sources(move: Move) -> list[Any]:
    return [move.source] if isinstance(move.source, str) else list(move.source)


def _build(states: list[str], moves: list[Move], initial: str) -> Machine:
    machine = Machine(
        model=_Model(),
        states=states,
        initial=initial,
        auto_transitions=False,
        send_event=False,
        model_attribute="state",
    )
    for move in moves:
        machine.add_transition(move.trigger, _sources(move), move.dest)
    return machine


# One machine per table for the whole process: thousands of journeys share it and keep
# only their current state (a machine of their own cost ~50 KiB each in a worker).
_LIFECYCLE_MACHINE = _build([s.value for s in Stage], LIFECYCLE, Stage.signed.value)
_HEALTH_MACHINE = _build([c.value for c in Health], HEALTH, Health.green.value)


def _destination(machine: Machine, trigger: str, state: str) -> str:
    """Where `trigger` leads from `state` (the same state for an internal move)."""
    found = machine.get_transitions(trigger=trigger, source=state) if trigger in machine.events else []
    if not found:
        raise MachineError(f"{trigger!r} is not allowed from state {state!r}")
    return found[0].dest or state


class Lifecycle:
    """The stage of one journey, moved only as the lifecycle machine allows."""

    __slots__ = ("_state",)

    def __init__(self, stage: Stage = Stage.signed) -> None:
        self._state = stage.value

    @property
    def stage(self) -> Stage:
        return Stage(self._state)

    def may(self, trigger: str) -> bool:
        return trigger in _LIFECYCLE_MACHINE.events and bool(
            _LIFECYCLE_MACHINE.get_transitions(trigger=trigger, source=self._state)
        )

    def allowed(self) -> list[str]:
        return [event for event in USER_EVENTS if self.may(event)]

    def fire(self, trigger: str) -> Stage:
        """Apply a move. Raises `transitions.MachineError` if illegal: callers check `may` first."""
        self._state = _destination(_LIFECYCLE_MACHINE, trigger, self._state)
        return self.stage


class HealthMachine:
    __slots__ = ("_state",)

    def __init__(self, color: Health = Health.green) -> None:
        self._state = color.value

    @property
    def color(self) -> Health:
        return Health(self._state)

    def set(self, color: Health) -> bool:
        """Move to `color`; False when already there."""
        if color is self.color:
            return False
        self._state = _destination(_HEALTH_MACHINE, f"to_{color.value}", self._state)
        return True


def lowered(color: Health) -> Health:
    """One step worse: a missed adoption target moves green to yellow and yellow to red."""
    return {Health.green: Health.yellow, Health.yellow: Health.red, Health.red: Health.red}[color]


def _diagram(title: str, states: list[str], moves: list[Move], initial: str, final: str | None = None) -> str:
    """One machine as a Mermaid state diagram, drawn by `transitions` from the same table
    the journey uses. Moves that keep the state (events recorded without a stage change)
    are left out: the diagram shows where an account can go."""
    # Drawing needs the diagram extension; the journeys themselves never do.
    from transitions.extensions import HierarchicalGraphMachine

    graph = HierarchicalGraphMachine(
        model=_Model(),
        states=[{"name": state, "final": state == final} for state in states],
        initial=initial,
        auto_transitions=False,
        graph_engine="mermaid",
        title=title,
    )
    for move in moves:
        if move.dest is not None:
            graph.add_transition(move.trigger, _sources(move), move.dest)
    # A diagram of the machine, not of one account: the initial state is not "current".
    styles: dict[str, Any] = copy.deepcopy(graph.style_attributes)  # type: ignore[arg-type]
    styles["node"]["active"] = styles["node"]["default"]
    graph.style_attributes = styles
    return str(graph.get_graph().draw(None)) + "\n"


def mermaid_lifecycle() -> str:
    """The lifecycle machine as Mermaid: a diagram of its own, pasteable as it is."""
    return _diagram("Account lifecycle", [s.value for s in Stage], LIFECYCLE, Stage.signed.value, Stage.churned.value)


def mermaid_health() -> str:
    """The health machine as Mermaid: a diagram of its own, pasteable as it is."""
    return _diagram("Account health", [c.value for c in Health], HEALTH, Health.green.value)
