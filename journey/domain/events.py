"""Event payloads: one update per event, each taking one JSON object.

`on` is the business date the event happened (default: the journey's today). The CLI
spells event names with dashes (`production-ready`), Temporal with underscores.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel

from journey.domain.bounds import Day, DayCount, Money, Notes, Ratio, Reason, Reference, Seats, Tier
from journey.domain.enums import EngagementModel, Health, Segment
from journey.domain.errors import PayloadError, parse_payload
from journey.domain.models import Strict


class EventPayload(BaseModel):
    model_config = Strict

    on: Day | None = None


class KickoffHeld(EventPayload):
    check_in_cadence_days: DayCount | None = None


class ProductionReady(EventPayload):
    pass


class OnboardingComplete(EventPayload):
    pass


class SetHealth(EventPayload):
    color: Health
    reason: Reason
    expires_days: DayCount | None = None


class TouchpointDone(EventPayload):
    touchpoint: Reference
    notes: Notes | None = None
    # The payload of the event the touchpoint stands for (its `completes`), checked as that event's.
    data: dict[str, object] | None = None


class RenewalClosed(EventPayload):
    outcome: Literal["renewed", "churned"]
    renewal_date: Day | None = None
    seats: Seats | None = None
    arr: Money | None = None


class ContractChanged(EventPayload):
    seats: Seats | None = None
    arr: Money | None = None
    segment: Segment | None = None
    tier: Tier | None = None
    model: EngagementModel | None = None
    renewal: Day | None = None


class Offboard(EventPayload):
    reason: Reason


EVENT_PAYLOADS: dict[str, type[EventPayload]] = {
    "kickoff_held": KickoffHeld,
    "production_ready": ProductionReady,
    "onboarding_complete": OnboardingComplete,
    "set_health": SetHealth,
    "touchpoint_done": TouchpointDone,
    "renewal_closed": RenewalClosed,
    "contract_changed": ContractChanged,
    "offboard": Offboard,
}


def event_name_from_cli(name: str) -> str:
    """CLI event names use dashes (`production-ready`), update names underscores."""
    return name.replace("-", "_")


def event_name_for_cli(name: str) -> str:
    return name.replace("_", "-")


def parse_event(event: str, data: object) -> EventPayload:
    model = EVENT_PAYLOADS.get(event)
    if model is None:
        known = ", ".join(event_name_for_cli(name) for name in EVENT_PAYLOADS)
        raise PayloadError(f"unknown event {event_name_for_cli(event)!r}; known events: {known}")
    return _validated(event_name_for_cli(event), model, data)


M = TypeVar("M", bound=BaseModel)


def _validated(name: str, model: type[M], data: object) -> M:
    return parse_payload(name, model.model_validate, data)


class MetricsUpdate(BaseModel):
    """The `metrics` update, from the health sweep: the account's latest measures and, if
    the score says so, a color. Bounded like the event payloads; the journey's validator
    checks `on` against its today."""

    model_config = Strict

    on: Day | None = None
    utilization: Ratio | None = None
    consumption: Ratio | None = None
    color: Health | None = None
    reason: Reason | None = None


def parse_metrics(data: object) -> MetricsUpdate:
    """The `metrics` update's payload, checked as `parse_event` checks an event's."""
    return _validated("metrics", MetricsUpdate, data)
