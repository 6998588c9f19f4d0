"""Pydantic models for every payload that crosses a boundary: files, updates, queries.

Field names here are the interface contract (PRODUCT.md): CSV columns, update payloads
and the `status --json` document use exactly these names.
"""

from __future__ import annotations

import enum
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Segment(str, enum.Enum):
    strategic = "strategic"
    large_enterprise = "large-enterprise"
    small_enterprise = "small-enterprise"
    commercial = "commercial"


class EngagementModel(str, enum.Enum):
    enterprise = "enterprise"
    scaled = "scaled"
    pooled = "pooled"
    digital = "digital"


DEFAULT_MODEL_BY_SEGMENT: dict[Segment, EngagementModel] = {
    Segment.strategic: EngagementModel.enterprise,
    Segment.large_enterprise: EngagementModel.enterprise,
    Segment.small_enterprise: EngagementModel.pooled,
    Segment.commercial: EngagementModel.digital,
}


class Stage(str, enum.Enum):
    signed = "signed"
    kickoff = "kickoff"
    onboarding = "onboarding"
    adoption = "adoption"
    steady = "steady"
    renewal = "renewal"
    renewed = "renewed"
    churned = "churned"


class Health(str, enum.Enum):
    green = "green"
    yellow = "yellow"
    red = "red"


class Deployment(str, enum.Enum):
    cloud = "cloud"
    self_hosted = "self-hosted"


class ContactRole(str, enum.Enum):
    champion = "champion"
    economic_buyer = "economic-buyer"
    tech_advocate = "tech-advocate"
    admin = "admin"


ACCOUNT_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

Strict = ConfigDict(extra="forbid", use_enum_values=False)


class Contact(BaseModel):
    model_config = Strict

    name: str = Field(min_length=1)
    email: str | None = None
    role: ContactRole


class Account(BaseModel):
    """One customer account, as enrolled (accounts CSV columns are these field names)."""

    model_config = Strict

    id: str
    name: str = Field(min_length=1, max_length=200)
    segment: Segment
    tier: int = Field(ge=1, le=3)
    seats: int = Field(gt=0)
    arr: float = Field(ge=0)
    signed: date
    renewal: date
    ta: str = Field(min_length=1)
    ae: str = Field(min_length=1)
    model: EngagementModel | None = None
    deployment: Deployment = Deployment.cloud
    production_ready: date | None = None
    onboarding_complete: date | None = None
    contacts: list[Contact] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ACCOUNT_ID_PATTERN.match(value):
            raise ValueError(
                "must be a slug: lowercase letters, digits and dashes, 1-63 characters, "
                "not starting or ending with a dash"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Account:
        if self.model is None:
            self.model = DEFAULT_MODEL_BY_SEGMENT[self.segment]
        if self.renewal <= self.signed:
            raise ValueError(f"renewal {self.renewal} must be after signed {self.signed}")
        for name in ("production_ready", "onboarding_complete"):
            value = getattr(self, name)
            if value is not None and value < self.signed:
                raise ValueError(f"{name} {value} must not be before signed {self.signed}")
        return self

    @property
    def engagement_model(self) -> EngagementModel:
        assert self.model is not None
        return self.model


# --- Event payloads (one update per event; `on` is the business date it happened) ---


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


# --- Query results ---


class DueTouchpoint(BaseModel):
    touchpoint: str
    due: date


class OpenTask(BaseModel):
    touchpoint: str
    due: date
    owner: str
    key: str


class JourneyStatus(BaseModel):
    """What the `status` query returns; `journey status --json` adds the store's metrics."""

    account: str
    name: str
    stage: Stage
    health: Health
    health_reason: str | None = None
    segment: Segment
    tier: int
    engagement_model: EngagementModel
    ta: str
    ae: str
    seats: int
    arr: float
    signed: date
    renewal_date: date
    term: int
    today: date
    calendar_offset_days: int = Field(
        default=0, description="the journey's business date minus the server's date, in days"
    )
    kickoff_held: date | None = None
    production_ready: date | None = None
    onboarding_complete: date | None = None
    adoption_deadline: date | None = None
    adoption_result: Literal["met", "missed"] | None = None
    utilization: float | None = None
    consumption: float | None = None
    open_tasks: list[OpenTask] = Field(default_factory=list)
    next_touchpoints: list[DueTouchpoint] = Field(default_factory=list)
    remediation: str | None = None
    playbook_version: str | None = None
    allowed_events: list[str] = Field(default_factory=list)


DateStr = Annotated[date, Field(description="ISO date YYYY-MM-DD")]


# --- Effects: everything a journey writes to the store, in one idempotent batch ---


TimelineKind = Literal["stage", "event", "touchpoint", "health", "task", "delivery", "adoption", "remediation"]


class TimelineEntry(BaseModel):
    """One row of an account's timeline. `key` is deterministic, so a retry writes nothing twice."""

    key: str
    account: str
    at: date
    kind: TimelineKind
    name: str
    detail: dict[str, object] = Field(default_factory=dict)


class TaskOpen(BaseModel):
    key: str
    account: str
    touchpoint: str
    title: str
    owner_role: str
    owner: str
    due: date
    playbook_version: str | None = None


class TaskChange(BaseModel):
    """A change to an existing task, found by key. Only the fields set are changed."""

    key: str
    status: Literal["open", "done", "skipped", "cancelled"] | None = None
    reminded_on: date | None = None
    escalated_on: date | None = None
    escalated_to: str | None = None
    done_on: date | None = None
    notes: str | None = None


class Delivery(BaseModel):
    """An automated touch queued in the outbox; `key` is account/touchpoint/occurrence."""

    key: str
    account: str
    touchpoint: str
    channel: Literal["slack", "email"]
    recipient: str
    subject: str
    body: str
    due: date


class RedTrackerRow(BaseModel):
    """The red-accounts tracker: one row per red episode, updated as it moves on."""

    key: str
    account: str
    episode: int
    opened_on: date
    reason: str
    closed_on: date | None = None
    escalated_on: date | None = None
    resolution: str | None = None


class AccountSnapshot(BaseModel):
    """The journey's current view of the account, mirrored into the store for listing."""

    id: str
    stage: Stage
    health: Health
    health_reason: str | None = None
    segment: Segment
    tier: int
    model: EngagementModel
    seats: int
    arr: float
    renewal: date
    term: int
    production_ready: date | None = None
    onboarding_complete: date | None = None
    adoption_deadline: date | None = None


class Effects(BaseModel):
    account: str
    timeline: list[TimelineEntry] = Field(default_factory=list)
    open_tasks: list[TaskOpen] = Field(default_factory=list)
    task_changes: list[TaskChange] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    red_rows: list[RedTrackerRow] = Field(default_factory=list)
    snapshot: AccountSnapshot | None = None
    enroll: Account | None = Field(default=None, description="insert or update the account row itself")

    def empty(self) -> bool:
        return not (
            self.timeline
            or self.open_tasks
            or self.task_changes
            or self.deliveries
            or self.red_rows
            or self.snapshot
            or self.enroll
        )


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, each naming its field: `field 'color': Input should be ...`."""
    problems = []
    for problem in err.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(payload)"
        problems.append(f"{prefix}field '{field}': {problem['msg']}")
    return "; ".join(problems)


class PayloadError(ValueError):
    """An event payload that does not fit its model; the message names every bad field."""


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
