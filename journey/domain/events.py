"""Event payloads: one update per event, each taking one JSON object.

`on` is the business date the event happened (default: the journey's today). The CLI
spells event names with dashes (`production-ready`), Temporal with underscores.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from journey.domain.enums import EngagementModel, Health, Segment
from journey.domain.errors import PayloadError, describe_validation_error
from journey.domain.models import Strict


class EventPayload(BaseModel):
    model_config = Strict

    on: date | None = None


class KickoffHeld(EventPayload):
    check_in_cadence_days: int | None = Field(default=None, ge=1, le=365)


class ProductionReady(EventPayload):
    pass


class OnboardingComplete(EventPayload):
    pass


class SetHealth(EventPayload):
    color: Health
    reason: str = Field(min_length=1, max_length=2000)
    expires_days: int | None = Field(default=None, ge=1, le=365)


class TouchpointDone(EventPayload):
    touchpoint: str = Field(min_length=1)
    notes: str | None = None


class RenewalClosed(EventPayload):
    outcome: Literal["renewed", "churned"]
    renewal_date: date | None = None
    seats: int | None = Field(default=None, gt=0)
    arr: float | None = Field(default=None, ge=0)


class ContractChanged(EventPayload):
    seats: int | None = Field(default=None, gt=0)
    arr: float | None = Field(default=None, ge=0)
    segment: Segment | None = None
    tier: int | None = Field(default=None, ge=1, le=3)
    model: EngagementModel | None = None
    renewal: date | None = None


class Offboard(EventPayload):
    reason: str = Field(min_length=1, max_length=2000)


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
    if not isinstance(data, dict):
        raise PayloadError(f"{event}: the payload must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise PayloadError(f"{event}: {describe_validation_error(err)}") from None


class MetricsUpdate(BaseModel):
    """The `metrics` update, from the health sweep: the account's latest measures and, if
    the score says so, a color."""

    on: date | None = None
    utilization: float | None = None
    consumption: float | None = None
    color: Health | None = None
    reason: str | None = None
