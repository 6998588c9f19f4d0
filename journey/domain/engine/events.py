"""Whether a journey accepts an event: its stage, its dates, and what the payload names.

Called by the update's validator (so a refused event never reaches the journey) and again
when the event is applied.
"""

from __future__ import annotations

from datetime import date

from journey.domain.bounds import MAX_DATE
from journey.domain.calendar import add_months
from journey.domain.engine.state import JourneyState
from journey.domain.enums import Stage
from journey.domain.errors import InvalidEvent
from journey.domain.events import ContractChanged, EventPayload, RenewalClosed, TouchpointDone
from journey.domain.machines import Lifecycle


def check_event(s: JourneyState, lifecycle: Lifecycle, event: str, payload: EventPayload, today: date) -> date:
    """Refuse an event the stage does not allow or whose data does not fit; returns its date."""
    if s.stage is Stage.churned:
        raise InvalidEvent(f"the journey of {s.account.id} has ended ({s.stage.value}); no events are accepted")
    if not lifecycle.may(event):
        allowed = ", ".join(lifecycle.allowed()) or "none"
        raise InvalidEvent(f"{event} is not allowed in stage {s.stage.value!r}; allowed events: {allowed}")
    on = payload.on or today
    if on > today:
        raise InvalidEvent(f"field 'on': {on} is in the future (today is {today})")
    if on < s.account.signed:
        raise InvalidEvent(f"field 'on': {on} is before the contract was signed ({s.account.signed})")
    if isinstance(payload, TouchpointDone):
        known = {tp.id for tp in s.playbook.touchpoints} | {t.touchpoint for t in s.tasks}
        if payload.touchpoint not in known:
            raise InvalidEvent(
                f"field 'touchpoint': unknown touchpoint {payload.touchpoint!r} for the "
                f"{s.playbook.model.value} playbook; known: {', '.join(sorted(known))}"
            )
    if isinstance(payload, RenewalClosed) and payload.renewal_date is not None:
        if payload.renewal_date <= s.account.renewal:
            raise InvalidEvent(
                f"field 'renewal_date': {payload.renewal_date} must be after the current renewal date {s.account.renewal}"
            )
    if isinstance(payload, RenewalClosed) and payload.outcome == "renewed" and payload.renewal_date is None:
        # The next term's input must fit the account's bounds as this one's did.
        if add_months(s.account.renewal, 12) > MAX_DATE:
            raise InvalidEvent(f"field 'renewal_date': required, as a year after {s.account.renewal} is after {MAX_DATE}")
    if isinstance(payload, ContractChanged):
        if payload.model_dump(exclude={"on"}, exclude_none=True) == {}:
            raise InvalidEvent("contract_changed needs at least one of seats, arr, segment, tier, model, renewal")
        if payload.renewal is not None and payload.renewal <= on:
            raise InvalidEvent(f"field 'renewal': {payload.renewal} must be after {on}")
    return on
