"""A move of open tasks by people (the `tasks_moved` update's payload): snoozed to a later
day, rescheduled by some days, handed to a colleague who covers for their owner. The
journey moves its own tasks (`journey.domain.engine.tasks`), a running red-account
remediation its own (`journey.domain.remediation`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from journey.domain.bounds import Day, Name, Reason, Reference
from journey.domain.errors import parse_payload
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
    return parse_payload(Update.TASKS_MOVED, _ADAPTER.validate_python, data)


def cover_of(change: Reassign) -> Cover:
    return Cover(owner=change.owner, cover=change.to, until=change.until)


def with_cover(covers: list[Cover], cover: Cover) -> list[Cover]:
    """The covers with `cover` in place of any earlier cover of the same owner."""
    return [c for c in covers if c.owner != cover.owner] + [cover]
