"""Playbooks: the touchpoints of one engagement model, as validated data.

A playbook file (TOML, one per engagement model, in `playbooks/`) is parsed into a
`Playbook` by `journey.domain.playbook_files`. The workflow receives it as data and
schedules with `journey.domain.schedule`; nothing here does I/O.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from journey.domain.enums import ContactRole, Deployment, EngagementModel, Health, Stage
from journey.domain.sendwindow import BUSINESS_DAYS, WEEKDAYS, Weekday, check_timezone, parse_window

# Days a touch held for review may wait before the account's TA gets a task to review it.
DEFAULT_REVIEW_DAYS = 3

Frozen = ConfigDict(extra="forbid", frozen=True)


class Anchor(str, enum.Enum):
    """The date a touchpoint is measured from. `stage_*` anchors are the day the stage was entered."""

    signed = "signed"
    term_start = "term_start"
    kickoff_held = "kickoff_held"
    production_ready = "production_ready"
    onboarding_complete = "onboarding_complete"
    adoption_deadline = "adoption_deadline"
    renewal_date = "renewal_date"
    red = "red"
    stage_kickoff = "stage:kickoff"
    stage_onboarding = "stage:onboarding"
    stage_adoption = "stage:adoption"
    stage_steady = "stage:steady"
    stage_renewal = "stage:renewal"


class OwnerRole(str, enum.Enum):
    ta = "ta"
    ae = "ae"
    value_engineering = "value-engineering"
    manager = "manager"
    automated = "automated"


class Channel(str, enum.Enum):
    task = "task"
    email = "email"
    slack = "slack"


class Every(str, enum.Enum):
    days = "days"
    weeks = "weeks"
    months = "months"
    quarter = "quarter"
    half_year = "half-year"
    year = "year"


class Recurrence(BaseModel):
    """Repeat a touchpoint. `quarter` occurrences fall at each fiscal quarter's start plus
    the touchpoint's offset (a negative offset lands before the quarter starts); the others
    repeat every `interval` units from the anchor plus offset."""

    model_config = Frozen

    every: Every
    interval: int = Field(default=1, ge=1, le=366)
    count: int | None = Field(default=None, ge=1, description="stop after this many occurrences")
    cadence_from_kickoff: bool = Field(
        default=False, description="the check-in cadence chosen at kickoff replaces the interval (in days)"
    )


class Touchpoint(BaseModel):
    model_config = Frozen

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    owner: OwnerRole
    channel: Channel = Channel.task
    customer_facing: bool = False
    anchor: Anchor
    offset_days: int = Field(default=0, ge=-3650, le=3650)
    tier_offset_days: dict[int, int] = Field(default_factory=dict)
    recurrence: Recurrence | None = None
    stages: tuple[Stage, ...] = ()
    tiers: tuple[int, ...] = ()
    health: tuple[Health, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    requires: tuple[Literal["onboarding_complete", "production_ready", "kickoff_held"], ...] = ()
    milestones: tuple[float, ...] = Field(
        default=(), description="utilization milestones (0-1); fires once as each is first reached"
    )
    completes: Literal["kickoff_held", "production_ready", "onboarding_complete"] | None = Field(
        default=None,
        description="the event this touchpoint's task stands for: marking the task done reports it",
    )
    to: tuple[ContactRole, ...] = Field(
        default=(),
        description="an automated email's recipients by contact role, first to last: it goes to the first "
        "contact with an address of these roles (default: champion, then admin, then any contact)",
    )
    review: bool | None = Field(
        default=None,
        description="hold this automated touch for a person's review before it is sent "
        "(`journey deliveries approve`); default: the playbook's `review`",
    )
    description: str = ""

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for tier in value:
            if tier not in (1, 2, 3):
                raise ValueError(f"tier {tier} is not 1, 2 or 3")
        return value

    @field_validator("tier_offset_days")
    @classmethod
    def _tier_offsets(cls, value: dict[int, int]) -> dict[int, int]:
        for tier in value:
            if tier not in (1, 2, 3):
                raise ValueError(f"tier {tier} is not 1, 2 or 3")
        return value

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for m in value:
            if not 0 < m <= 2:
                raise ValueError(f"milestone {m} must be a utilization between 0 and 2")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _channel_matches_owner(self) -> Touchpoint:
        automated = self.owner is OwnerRole.automated
        if automated and self.channel is Channel.task:
            raise ValueError("an automated touchpoint needs channel 'email' or 'slack'")
        if not automated and self.channel is not Channel.task:
            raise ValueError(f"owner {self.owner.value!r} is a person: channel must be 'task'")
        if Stage.churned in self.stages or Stage.renewed in self.stages:
            raise ValueError("stages may not include 'renewed' or 'churned'")
        if automated and self.completes is not None:
            raise ValueError("an automated touchpoint has no task to complete: 'completes' needs a person's task")
        if self.to and not (automated and self.channel is Channel.email):
            raise ValueError("'to' names customer recipients: only an automated email touchpoint has them")
        if len(set(self.to)) != len(self.to):
            raise ValueError("'to' names a role twice")
        if self.review and not automated:
            raise ValueError("review: only an automated touch (email or slack) waits for review; a task is a person's already")
        if self.review and self.anchor is Anchor.red:
            raise ValueError("review: red-account touches go to the account team at once and are never held")
        return self

    def offset_for(self, tier: int) -> int:
        return self.tier_offset_days.get(tier, self.offset_days)

    @property
    def automated(self) -> bool:
        return self.owner is OwnerRole.automated


class TaskPolicy(BaseModel):
    model_config = Frozen

    remind_after_days: int = Field(default=3, ge=1, le=365)
    escalate_after_days: int = Field(default=10, ge=1, le=365)
    escalate_to: Literal["ae", "manager"] = "manager"

    @model_validator(mode="after")
    def _order(self) -> TaskPolicy:
        if self.escalate_after_days <= self.remind_after_days:
            raise ValueError("escalate_after_days must be greater than remind_after_days")
        return self


class RedPolicy(BaseModel):
    model_config = Frozen

    follow_up_every_days: int = Field(default=7, ge=1, le=365)
    escalate_after_days: int = Field(default=30, ge=1, le=3650)


class Playbook(BaseModel):
    model_config = Frozen

    model: EngagementModel
    title: str = ""
    fiscal_year_start_month: int = Field(default=2, ge=1, le=12)
    max_customer_touches_per_week: int = Field(default=3, ge=1, le=50)
    check_in_cadence_days: int = Field(default=14, ge=1, le=365)
    adoption_window_days: int = Field(default=60, ge=1, le=365)
    adoption_target: float = Field(default=0.8, gt=0, le=2)
    renewal_window_days: int = Field(default=90, ge=1, le=365)
    tasks: TaskPolicy = TaskPolicy()
    red: RedPolicy = RedPolicy()
    champion_left: Literal["red"] | None = Field(
        default=None,
        description="what the account's last champion leaving does besides the TA's find-champion task: "
        "'red' turns the account red by hand (red-account remediation starts)",
    )
    timezone: str | None = Field(
        default=None, description="the IANA timezone of accounts that name none (default: UTC)"
    )
    send_window: str | None = Field(
        default=None,
        description="the local hours automated touches go out in, such as '09:00-17:00' ('00:00-24:00': all day); "
        "without it they go out as soon as they fall due",
    )
    send_days: tuple[Weekday, ...] = Field(
        default=BUSINESS_DAYS, min_length=1, description="the weekdays of the send window"
    )
    holidays: tuple[date, ...] = Field(
        default=(), description="company shutdowns: local dates no automated touch goes out on"
    )
    review: bool = Field(
        default=False,
        description="hold every automated touch of the journey's calendar for a person's review before it is "
        "sent (a touchpoint's own `review` wins); red-account touches are never held",
    )
    review_days: int = Field(
        default=DEFAULT_REVIEW_DAYS, ge=1, le=60,
        description="days a held touch may wait unreviewed before the account's TA gets a task to review it",
    )
    max_emails_per_contact_per_week: int | None = Field(
        default=None, ge=1, le=50,
        description="at most this many emails to one contact per week (Monday to Sunday in the account's timezone), "
        "counting every email to that address: journey touches, broadcasts, remediation; more wait for the next week",
    )
    touchpoints: tuple[Touchpoint, ...]

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("send_window")
    @classmethod
    def _send_window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    @field_validator("send_days")
    @classmethod
    def _send_days(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if len(set(value)) != len(value):
            raise ValueError("names a day twice")
        return tuple(sorted(value, key=WEEKDAYS.index))

    @field_validator("touchpoints")
    @classmethod
    def _unique_ids(cls, value: tuple[Touchpoint, ...]) -> tuple[Touchpoint, ...]:
        seen: set[str] = set()
        for index, tp in enumerate(value):
            if tp.id in seen:
                raise ValueError(f"duplicate touchpoint id {tp.id!r} at touchpoints[{index}]")
            seen.add(tp.id)
        return value

    def holds_for_review(self, touchpoint: Touchpoint) -> bool:
        """Whether this automated touch waits for a person's approval before it is sent."""
        if not touchpoint.automated or touchpoint.anchor is Anchor.red:
            return False
        return self.review if touchpoint.review is None else touchpoint.review

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        for tp in self.touchpoints:
            if tp.id == touchpoint_id:
                return tp
        return None

    @cached_property
    def version(self) -> str:
        """A content hash: the same playbook always has the same version."""
        data = self.model_dump(mode="json")
        # A playbook without `completes`, `to` or `champion_left` keeps the version it had
        # before the key existed.
        if data["champion_left"] is None:
            del data["champion_left"]
        # Likewise without the send window's keys.
        for key in ("timezone", "send_window"):
            if data[key] is None:
                del data[key]
        if tuple(data["send_days"]) == BUSINESS_DAYS:
            del data["send_days"]
        if not data["holidays"]:
            del data["holidays"]
        # Likewise without review and contact caps.
        if not data["review"]:
            del data["review"]
        if data["review_days"] == DEFAULT_REVIEW_DAYS:
            del data["review_days"]
        if data["max_emails_per_contact_per_week"] is None:
            del data["max_emails_per_contact_per_week"]
        for tp in data["touchpoints"]:
            if tp["completes"] is None:
                del tp["completes"]
            if not tp["to"]:
                del tp["to"]
            if tp["review"] is None:
                del tp["review"]
        canonical = json.dumps(data, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def stage_anchor(stage: Stage) -> Anchor | None:
    try:
        return Anchor(f"stage:{stage.value}")
    except ValueError:
        return None


def compact_json(playbook: Playbook) -> bytes:
    """The playbook as JSON without the fields that hold their default value.

    Reads back as an equal `Playbook` (same version). The `load_playbook` local activity
    returns this: the result lives in every journey's history, and in the worker's memory
    (the SDK keeps the marker command) until the journey next wakes; it is about 40 %
    smaller than the full JSON of the bundled playbooks."""
    return playbook.model_dump_json(exclude_defaults=True).encode()


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook file (the TOML document's structure)."""
    return Playbook.model_json_schema()


_INTERNED: dict[str, Playbook] = {}


def intern_playbook(playbook: Playbook) -> Playbook:
    """The one shared instance of a playbook's content.

    Thousands of journeys in one worker hold the same few playbooks; sharing the
    (frozen) instance keeps each cached journey small. Equal content means equal
    behaviour, so this is safe inside workflows.
    """
    return _INTERNED.setdefault(playbook.version, playbook)
