"""What the engine asks its workflow to do next, beyond writing its effects.

`Engine.take_commands()` hands them over in the order they were decided. A `LoadPlaybook`
is carried out when the journey next steps, before its calendar moves on (the new
playbook decides what falls due); the others once the effects recorded before them are
written, so a remediation starts only after the health change that called for it is
stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from journey.domain.enums import EngagementModel


@dataclass(frozen=True, slots=True)
class LoadPlaybook:
    """The engagement model changed: load its playbook and give it to `Engine.use_playbook`."""

    model: EngagementModel


@dataclass(frozen=True, slots=True)
class StartRemediation:
    """Health turned red: start the Red Accounts Program for this episode."""

    episode: int
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class EndRemediation:
    """The account left red (or the journey ended): close the running remediation."""

    episode: int
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class ForwardTaskDone:
    """A red-account task was marked done on the journey: tell the remediation that owns it."""

    touchpoint: str
    on: date
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ForwardTasksMoved:
    """Open tasks were moved or handed to a cover on the journey: the running remediation
    moves its own tasks the same way (the `tasks_moved` payload, as checked)."""

    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class ContinueAsNew:
    """A new term began: start the next run with the state as it is."""


Command = LoadPlaybook | StartRemediation | EndRemediation | ForwardTaskDone | ForwardTasksMoved | ContinueAsNew
