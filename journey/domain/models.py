"""Accounts and what a journey answers about itself.

Field names here are the interface contract (docs/contract.md): the accounts CSV columns
and the `status --json` document use exactly these names.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from journey.domain.bounds import MAX_CONTACTS, TIMEZONE_LENGTH, Day, Email, Money, Name, Seats, Tier
from journey.domain.enums import (
    DEFAULT_MODEL_BY_SEGMENT,
    ContactRole,
    Deployment,
    EngagementModel,
    Health,
    Segment,
    Stage,
)
from journey.domain.sendwindow import check_country, check_timezone

ACCOUNT_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

Strict = ConfigDict(extra="forbid", use_enum_values=False)


class Contact(BaseModel):
    """A person at the customer, on the account map (`journey contacts`)."""

    model_config = Strict

    name: Name
    email: Email | None = None
    role: ContactRole
    title: Name | None = Field(default=None, description="the person's job title")


class Account(BaseModel):
    """One customer account, as enrolled (accounts CSV columns are these field names).

    Every field is bounded (`journey.domain.bounds`): the same rules check a CSV row, the
    `enroll` options and a journey's start input."""

    model_config = Strict

    id: str
    name: Name
    segment: Segment
    tier: Tier
    seats: Seats
    arr: Money
    signed: Day
    renewal: Day
    ta: Name
    ae: Name
    model: EngagementModel | None = None
    deployment: Deployment = Deployment.cloud
    production_ready: Day | None = None
    onboarding_complete: Day | None = None
    contacts: list[Contact] = Field(default_factory=list, max_length=MAX_CONTACTS)
    timezone: Annotated[str, Field(max_length=TIMEZONE_LENGTH)] | None = Field(
        default=None, description="the account's IANA timezone (default: the playbook's, else UTC)"
    )
    country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country whose public holidays no automated touch goes out on"
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else check_country(value)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ACCOUNT_ID_PATTERN.fullmatch(value):
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


# --- Query results ---


class DueTouchpoint(BaseModel):
    touchpoint: str
    due: date


class OpenTask(BaseModel):
    touchpoint: str
    due: date
    owner: str
    key: str


class HeldDelivery(BaseModel):
    """An automated touch waiting for a person's review (`journey deliveries approve|skip`)."""

    key: str
    touchpoint: str
    due: date


class JourneyStatus(BaseModel):
    """What the `status` query returns; `journey status --json` adds the store's metrics."""

    account: str
    name: str
    stage: Stage
    health: Health
    health_reason: str | None = None
    health_until: date | None = Field(default=None, description="a color set by hand wins over the score until this day")
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
    adoption_result: Literal["met", "missed", "no-data"] | None = None
    utilization: float | None = None
    consumption: float | None = None
    open_tasks: list[OpenTask] = Field(default_factory=list)
    next_touchpoints: list[DueTouchpoint] = Field(default_factory=list)
    held_deliveries: list[HeldDelivery] = Field(default_factory=list)
    remediation: str | None = None
    playbook_version: str | None = None
    allowed_events: list[str] = Field(default_factory=list)
