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

from journey.domain.engine.state import JourneyState, TrackedTask
from journey.domain.errors import InvalidEvent
from journey.domain.task_moves import Reassign, Reschedule, Snooze
from journey.domain.touches import RED_TOUCHPOINTS


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
        if not matching and change.touchpoint in RED_TOUCHPOINTS and s.remediation_id is not None:
            return []  # a task of the running remediation: it moves its own
        if not matching:
            raise InvalidEvent(f"field 'touchpoint': {who} has no open task {change.touchpoint!r}")
        task = matching[0]
        return [Move(task, due=change.until)] if task.due != change.until else []
    if isinstance(change, Reschedule):
        if not s.tasks and s.remediation_id is None:
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
