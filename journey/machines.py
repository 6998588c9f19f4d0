"""The lifecycle and health state machines, built with `transitions` from declarative tables.

These tables are the single source of truth for legal moves: the workflow asks the
machine whether an event may happen in the current stage before it applies it, and
`journey playbook diagram` renders the same tables as Mermaid.
"""

from __future__ import annotations

from dataclasses import dataclass

from transitions import Machine

from journey.models import Health, Stage

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
USER_EVENTS = [
    "kickoff_held",
    "production_ready",
    "onboarding_complete",
    "set_health",
    "touchpoint_done",
    "renewal_closed",
    "contract_changed",
    "offboard",
]


class _Model:
    """A bare object for `transitions` to attach its state to."""

    state: str


def _build(states: list[str], moves: list[Move], initial: str) -> Machine:
    model = _Model()
    machine = Machine(
        model=model,
        states=states,
        initial=initial,
        auto_transitions=False,
        send_event=False,
        model_attribute="state",
    )
    for move in moves:
        machine.add_transition(move.trigger, move.source, move.dest if move.dest is not None else None)
    return machine


class Lifecycle:
    """The stage machine of one journey."""

    def __init__(self, stage: Stage = Stage.signed) -> None:
        self._machine = _build([s.value for s in Stage], LIFECYCLE, stage.value)
        self._model: _Model = self._machine.models[0]

    @property
    def stage(self) -> Stage:
        return Stage(self._model.state)

    def may(self, trigger: str) -> bool:
        return self._machine.get_transitions(trigger=trigger, source=self._model.state) != []

    def allowed(self) -> list[str]:
        return [event for event in USER_EVENTS if self.may(event)]

    def fire(self, trigger: str) -> Stage:
        """Apply a move. Raises `transitions.MachineError` if illegal: callers check `may` first."""
        self._machine.events[trigger].trigger(self._model)
        return self.stage

    def moves_to(self, trigger: str) -> Stage | None:
        """The stage a trigger leads to from here (None: no stage change or not allowed)."""
        for transition in self._machine.get_transitions(trigger=trigger, source=self._model.state):
            return Stage(transition.dest) if transition.dest else None
        return None


class HealthMachine:
    def __init__(self, color: Health = Health.green) -> None:
        self._machine = _build([c.value for c in Health], HEALTH, color.value)
        self._model: _Model = self._machine.models[0]

    @property
    def color(self) -> Health:
        return Health(self._model.state)

    def set(self, color: Health) -> bool:
        """Move to `color`; False when already there."""
        if color is self.color:
            return False
        self._machine.events[f"to_{color.value}"].trigger(self._model)
        return True


def lowered(color: Health) -> Health:
    """One step worse: a missed adoption target moves green to yellow and yellow to red."""
    return {Health.green: Health.yellow, Health.yellow: Health.red, Health.red: Health.red}[color]


def _mermaid(moves: list[Move], initial: str, final: str | None = None) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {initial}"]
    for move in moves:
        if move.dest is None:
            continue
        sources = move.source if isinstance(move.source, list) else [move.source]
        lines.extend(f"    {source} --> {move.dest}: {move.trigger}" for source in sources)
    if final:
        lines.append(f"    {final} --> [*]")
    return "\n".join(lines) + "\n"


def mermaid_lifecycle() -> str:
    """The lifecycle machine as Mermaid, drawn from the same table the journey uses."""
    return _mermaid(LIFECYCLE, "signed", "churned")


def mermaid_health() -> str:
    return _mermaid(HEALTH, "green")
