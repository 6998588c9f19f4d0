"""Whether a journey accepts an event: its stage, its dates, and what the payload names.

Called by the update's validator (so a refused event never reaches the journey) and again
when the event is applied.
"""

from __future__ import annotations

from datetime import date

from journey.domain.bounds import MAX_DATE
from journey.domain.calendar import add_months
from journey.domain.engine.state import JourneyState
from journey.domain.engine.steps import ENGINE_TOUCHPOINTS
from journey.domain.enums import Stage
from journey.domain.errors import InvalidEvent, PayloadError
from journey.domain.events import (
    ContractChanged,
    EventPayload,
    RenewalClosed,
    TouchpointDone,
    event_name_for_cli,
    parse_event,
)
from journey.domain.machines import USER_EVENTS, Lifecycle
from journey.domain.models import JourneyStatus
from journey.domain.names import Update

# Events that happen once in a term: the journey keeps the date each was recorded on.
RECORDED_ON: dict[str, str] = {
    Update.KICKOFF_HELD: "kickoff_held",
    Update.PRODUCTION_READY: "production_ready",
    Update.ONBOARDING_COMPLETE: "onboarding_complete",
}
# Past these stages a kickoff not on file changes nothing (its touchpoints are over).
KICKOFF_MATTERS = (Stage.signed, Stage.kickoff, Stage.onboarding, Stage.adoption)


def recorded_on(s: JourneyState | JourneyStatus, event: str) -> date | None:
    """The date a once-only event was recorded on (None: not yet, or not such an event)."""
    field = RECORDED_ON.get(event)
    return getattr(s, field) if field is not None else None


def changes_something(s: JourneyState, lifecycle: Lifecycle, event: str) -> bool:
    """Whether `event` would change anything in the journey's stage and facts."""
    if s.stage is Stage.churned or not lifecycle.may(event):
        return False
    if event in RECORDED_ON and recorded_on(s, event) is not None:
        return False
    if event == Update.KICKOFF_HELD:
        return s.stage in KICKOFF_MATTERS
    return True


def allowed_events(s: JourneyState, lifecycle: Lifecycle) -> list[str]:
    """The events people may report that would change something now (update names)."""
    return [event for event in USER_EVENTS if changes_something(s, lifecycle, event)]


def repeat_of(s: JourneyState | JourneyStatus, event: str, payload: EventPayload, today: date) -> date | None:
    """The date already on file when `event` repeats on the very date it was recorded: a
    repeat changes nothing and is not recorded again."""
    recorded = recorded_on(s, event)
    return recorded if recorded is not None and (payload.on or today) == recorded else None


def check_event(
    s: JourneyState, lifecycle: Lifecycle, event: str, payload: EventPayload, today: date, strict: bool = True
) -> date:
    """Refuse an event the stage does not allow or whose data does not fit; returns its date.
    With `strict` (every journey but those that ran before it), an event that would change
    nothing is refused too, and a once-only event on another date than the one on file."""
    if s.stage is Stage.churned:
        raise InvalidEvent(f"the journey of {s.account.id} has ended ({s.stage.value}); no events are accepted")
    recorded = recorded_on(s, event) if strict else None
    if not lifecycle.may(event) or (strict and recorded is None and not changes_something(s, lifecycle, event)):
        allowed = ", ".join(event_name_for_cli(e) for e in allowed_events(s, lifecycle)) or "none"
        raise InvalidEvent(
            f"{event_name_for_cli(event)} is not allowed in stage {s.stage.value!r}; allowed events: {allowed}"
        )
    on = payload.on or today
    if on > today:
        raise InvalidEvent(f"field 'on': {on} is in the future (today is {today})")
    if on < s.account.signed:
        raise InvalidEvent(f"field 'on': {on} is before the contract was signed ({s.account.signed})")
    if recorded is not None and on != recorded:
        raise InvalidEvent(
            f"{event_name_for_cli(event)} was already recorded on {recorded}; it cannot be recorded again for {on}"
        )
    if isinstance(payload, TouchpointDone):
        known = {tp.id for tp in s.playbook.touchpoints} | {t.touchpoint for t in s.tasks}
        if payload.touchpoint not in known:
            raise InvalidEvent(
                f"field 'touchpoint': unknown touchpoint {payload.touchpoint!r} for the "
                f"{s.playbook.model.value} playbook; known: {', '.join(sorted(known))}"
            )
        if strict:
            completed = completed_event(s, lifecycle, payload)
            if completed is not None:
                check_event(s, lifecycle, completed[0], completed[1], today, strict)
            elif payload.data is not None:
                raise InvalidEvent(
                    f"field 'data': {payload.touchpoint} stands for no event that would change something now; "
                    "send it without data"
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
            raise InvalidEvent("contract-changed needs at least one of seats, arr, segment, tier, model, renewal")
        if payload.renewal is not None and payload.renewal <= on:
            raise InvalidEvent(f"field 'renewal': {payload.renewal} must be after {on}")
    return on


def completes(s: JourneyState, touchpoint: str) -> str | None:
    """The event a touchpoint's task stands for (its playbook's `completes`)."""
    tp = s.playbook.touchpoint(touchpoint) or ENGINE_TOUCHPOINTS.get(touchpoint)
    return tp.completes if tp is not None else None


def completed_event(s: JourneyState, lifecycle: Lifecycle, payload: TouchpointDone) -> tuple[str, EventPayload] | None:
    """The event that marking `payload.touchpoint` done reports, with its payload (the
    task's `data`, on the task's date), when it would change something; else None."""
    event = completes(s, payload.touchpoint)
    if event is None or not changes_something(s, lifecycle, event):
        return None
    data: dict[str, object] = dict(payload.data or {})
    if payload.on is not None:
        data["on"] = payload.on.isoformat()
    try:
        return event, parse_event(event, data)
    except PayloadError as err:
        raise InvalidEvent(f"field 'data': {err}") from None
