"""Open tasks moved by people: snoozed to a later day, rescheduled by some days, handed to
a colleague who covers for their owner (the `tasks_moved` update).

The command line checks a move against the store before sending it, and the journey
checks it again against its own open tasks (`check_moves`) and decides (`plan_moves`):
what moves, and to what. A reassignment also tells the journey the cover, kept in its
state, so the tasks it opens later for the owner go to the cover while it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from journey.domain.bounds import Day, Name, Reason, Reference
from journey.domain.engine.state import JourneyState, TrackedTask
from journey.domain.errors import InvalidEvent, PayloadError, describe_validation_error
from journey.domain.models import Strict
from journey.domain.names import Update
from journey.domain.touches import Cover

# How far one reschedule may move tasks, either way.
MAX_SHIFT_DAYS = 3650
# The `status` of the timeline row (kind `task`) each move writes.
MOVE_STATUS = {"snooze": "snoozed", "reschedule": "rescheduled", "reassign": "reassigned"}


class Snooze(BaseModel):
    """The open task of `touchpoint` (the one due first) is due `until` instead."""

    model_config = Strict

    kind: Literal["snooze"]
    touchpoint: Reference
    until: Day
    reason: Reason | None = None


class Reschedule(BaseModel):
    """Every open task of the journey moves by `days` (earlier when negative)."""

    model_config = Strict

    kind: Literal["reschedule"]
    days: Annotated[int, Field(ge=-MAX_SHIFT_DAYS, le=MAX_SHIFT_DAYS)]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _moves(self) -> Reschedule:
        if self.days == 0:
            raise ValueError("days: 0 moves nothing")
        return self


class Reassign(BaseModel):
    """`owner`'s open tasks go to `to`, and so do the tasks opened for `owner` on or
    before `until` (all of them without `until`)."""

    model_config = Strict

    kind: Literal["reassign"]
    owner: Name
    to: Name
    until: Day | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _someone_else(self) -> Reassign:
        if self.owner == self.to:
            raise ValueError(f"to: {self.to!r} is the owner already")
        return self


TasksMoved = Annotated[Snooze | Reschedule | Reassign, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Snooze | Reschedule | Reassign] = TypeAdapter(TasksMoved)


def parse_tasks_moved(data: object) -> Snooze | Reschedule | Reassign:
    """The payload, checked as `journey.domain.events.parse_event` checks an event's."""
    if not isinstance(data, dict):
        raise PayloadError(f"{Update.TASKS_MOVED}: the payload must be a JSON object, not {type(data).__name__}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        raise PayloadError(f"{Update.TASKS_MOVED}: {describe_validation_error(err)}") from None


@dataclass(frozen=True, slots=True)
class Move:
    """One open task and what it becomes (None: unchanged)."""

    task: TrackedTask
    due: date | None = None
    owner: str | None = None


def plan_moves(s: JourneyState, change: Snooze | Reschedule | Reassign, today: date) -> list[Move]:
    """What `change` does to the journey's open tasks on `today`; `InvalidEvent` naming the
    field and the task when it cannot be done. Nothing is changed here."""
    who = s.account.id
    if isinstance(change, Snooze):
        if change.until < today:
            raise InvalidEvent(f"field 'until': {change.until} is before today ({today})")
        matching = sorted((t for t in s.tasks if t.touchpoint == change.touchpoint), key=lambda t: t.due)
        if not matching:
            raise InvalidEvent(f"field 'touchpoint': {who} has no open task {change.touchpoint!r}")
        task = matching[0]
        return [Move(task, due=change.until)] if task.due != change.until else []
    if isinstance(change, Reschedule):
        if not s.tasks:
            raise InvalidEvent(f"{who} has no open tasks to reschedule")
        moves = []
        for task in sorted(s.tasks, key=lambda t: (t.due, t.key)):
            due = date.fromordinal(task.due.toordinal() + change.days)
            if due < today:
                raise InvalidEvent(
                    f"field 'days': task {task.touchpoint} ({task.key}) would be due {due}, before today ({today})"
                )
            moves.append(Move(task, due=due))
        return moves
    return [Move(task, owner=change.to) for task in s.tasks if task.owner == change.owner]


def cover_of(change: Reassign) -> Cover:
    return Cover(owner=change.owner, cover=change.to, until=change.until)


def with_cover(covers: list[Cover], cover: Cover) -> list[Cover]:
    """The journey's covers with `cover` in place of any earlier cover of the same owner."""
    return [c for c in covers if c.owner != cover.owner] + [cover]
