"""Automated touches held for a person's review before they are sent.

A playbook (or one touchpoint) with `review = true` writes its automated touches `held`
in the outbox, fully rendered; the journey keeps each in its state until a person
approves or drops it (`journey deliveries approve|skip`, the `deliveries_reviewed`
update). One left unreviewed for the playbook's `review_days` becomes a task for the
account's TA, and stays held. An approved touch goes out in its send window, exactly
once like any other; one whose moment passed more than the late grace ago goes only
when the approval says `late`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from journey.domain.bounds import Name, Reason, Reference
from journey.domain.engine.state import LATE_GRACE_DAYS, HeldTouch, JourneyState
from journey.domain.errors import InvalidEvent, parse_payload
from journey.domain.models import Strict
from journey.domain.names import Update

# The TA's task for a touch left unreviewed too long (one per held touch, keyed by it).
REVIEW_TASK = "review-delivery"
REVIEW_TASK_SUFFIX = "/review"
# The timeline row of a touch approved or dropped: `<delivery key>/reviewed`.
REVIEWED_SUFFIX = "/reviewed"
# How many touches one approval or skip may name.
MAX_REVIEWED = 500


class DeliveriesReviewed(BaseModel):
    """Held touches of this journey (outbox keys) approved, or dropped with a reason."""

    model_config = Strict

    action: Literal["approve", "skip"]
    keys: Annotated[list[Reference], Field(min_length=1, max_length=MAX_REVIEWED)]
    by: Name
    reason: Reason | None = None
    late: bool = False

    @model_validator(mode="after")
    def _skip_says_why(self) -> DeliveriesReviewed:
        if self.action == "skip" and self.reason is None:
            raise ValueError("reason: say why the touch is dropped (it goes on the timeline)")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys: names a delivery twice")
        return self


_ADAPTER: TypeAdapter[DeliveriesReviewed] = TypeAdapter(DeliveriesReviewed)


def parse_deliveries_reviewed(data: object) -> DeliveriesReviewed:
    """The payload, checked as `journey.domain.events.parse_event` checks an event's."""
    return parse_payload(Update.DELIVERIES_REVIEWED, _ADAPTER.validate_python, data)


def late_by(held: HeldTouch, today: date) -> int:
    """Days the touch's moment has passed by; over LATE_GRACE_DAYS it goes only when late."""
    return (today - held.due).days


def plan_review(s: JourneyState, change: DeliveriesReviewed, today: date) -> list[HeldTouch]:
    """The held touches `change` names, in its order; `InvalidEvent` naming the field and
    the key when one is not held by this journey, or is too late to approve without
    `late`. Nothing is changed here."""
    held = {h.key: h for h in s.held}
    found = []
    for key in change.keys:
        touch = held.get(key)
        if touch is None:
            raise InvalidEvent(
                f"field 'keys': {key} is not held for review in the journey of {s.account.id} "
                "(approved or skipped already, or not a held touch)"
            )
        if change.action == "approve" and not change.late and late_by(touch, today) > LATE_GRACE_DAYS:
            raise InvalidEvent(
                f"field 'late': {key} fell due on {touch.due}, more than {LATE_GRACE_DAYS} days ago: "
                "approve it as late to send it anyway"
            )
        found.append(touch)
    return found


def review_task_due(s: JourneyState, held: HeldTouch) -> date:
    """The day an unreviewed touch becomes the TA's task."""
    return held.held_on + timedelta(days=s.playbook.review_days)


def approved_send_after(held: HeldTouch, earliest: datetime) -> datetime:
    """When an approved touch may go: its own send window, and not before the approval's
    first moment in a window (`earliest`)."""
    return earliest if held.send_after is None or held.send_after < earliest else held.send_after
