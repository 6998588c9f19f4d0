"""A journey's state: everything it knows, in one model that continue-as-new carries whole."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from journey.domain.enums import Health, Stage
from journey.domain.models import Account
from journey.domain.playbook import Playbook
from journey.domain.team import DEFAULT_TEAM, Team
from journey.domain.touches import Cover

# A touch that fell due this many days before it could be handled still happens (late);
# older ones are recorded as skipped instead of surprising a customer months later.
LATE_GRACE_DAYS = 7
# Tasks for people are opened this many days before they are due, so a TA sees what is
# coming, and a journey wakes about once per period instead of once per task.
TASK_LEAD_DAYS = 14
TASK_LEAD_MIN_DAYS = 7
# With nothing scheduled, wake up this often anyway (keeps the timer summary honest).
IDLE_WAKE_DAYS = 90
DEFAULT_MANUAL_HEALTH_DAYS = 14


class TrackedTask(BaseModel):
    key: str
    touchpoint: str
    due: date
    owner_role: str
    owner: str
    # Moved by a person (`tasks_moved`: snoozed or rescheduled): the journey wakes on its
    # new due date.
    moved: bool = False


class HeldTouch(BaseModel):
    """An automated touch written `held`, waiting for a person's review."""

    key: str
    touchpoint: str
    # The day it fell due, and the day it was held (its review clock starts then).
    due: date
    held_on: date
    send_after: datetime | None = None
    # The TA has been given a task to review it.
    tasked: bool = False


class JourneyState(BaseModel):
    """All of a journey's state; continue-as-new carries it whole."""

    account: Account
    playbook: Playbook
    team: Team = DEFAULT_TEAM
    chain: str = ""
    day_offset: int = 0
    enrolled_on: date
    placed: bool = False
    stage: Stage = Stage.signed
    health: Health = Health.green
    health_reason: str | None = None
    manual_health_until: date | None = None
    # The latest color from the health score, kept while a manual color hides it, so the
    # score takes over again when the manual color expires.
    score_color: Health | None = None
    score_reason: str | None = None
    term: int = 1
    term_start: date
    kickoff_held: date | None = None
    production_ready: date | None = None
    onboarding_complete: date | None = None
    adoption_deadline: date | None = None
    adoption_result: Literal["met", "missed", "no-data"] | None = None
    stage_entered: dict[str, date] = Field(default_factory=dict)
    red_since: date | None = None
    check_in_cadence_days: int | None = None
    last_due: dict[str, date] = Field(default_factory=dict)
    deferred: dict[str, date] = Field(default_factory=dict)
    week_counts: dict[date, int] = Field(default_factory=dict)
    milestones_reached: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    utilization: float | None = None
    consumption: float | None = None
    tasks: list[TrackedTask] = Field(default_factory=list)
    # Who takes whose new tasks (`tasks_moved` with a reassignment); empty for most journeys.
    covers: list[Cover] = Field(default_factory=list)
    # Automated touches held for review (`journey deliveries approve|skip`); empty unless
    # the playbook asks for review.
    held: list[HeldTouch] = Field(default_factory=list)
    seq: int = 0
    red_episode: int = 0
    remediation_id: str | None = None
    closed_reason: str | None = None
