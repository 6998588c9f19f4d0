"""Inputs and outputs of the workflows, their updates and signals: one pydantic model each way.

The activities' own messages are in `activities.messages`; the `metrics` update's payload
(`MetricsUpdate`) and the event payloads are domain models.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from activities.messages import HealthSweepInput, ReminderSweepInput
from journey.domain.engine import JourneyState
from journey.domain.enums import Stage
from journey.domain.models import Account
from journey.domain.playbook import Playbook
from journey.domain.remediation import Promotion, RedEpisode
from journey.domain.team import Team

__all__ = [
    "HealthSweepInput",
    "HealthSweepReport",
    "JourneyInput",
    "JourneyOutcome",
    "PlaybookUpdate",
    "Promotion",
    "RemediationInput",
    "RemediationOutcome",
    "ReminderSweepInput",
]


class JourneyInput(BaseModel):
    account: Account
    playbook: Playbook | None = Field(
        default=None, description="default: the worker's playbook for the account's engagement model"
    )
    today: date | None = Field(
        default=None,
        description="the business date the journey starts on; default: the server's date. "
        "A journey's calendar runs from here, independent of the server's clock.",
    )
    team: Team | None = Field(default=None, description="the team's routing; default: the built-in names")
    state: JourneyState | None = Field(default=None, description="set when continuing as new")


class JourneyOutcome(BaseModel):
    account: str
    stage: Stage
    terms: int
    closed_on: date
    reason: str | None = None


class PlaybookUpdate(BaseModel):
    """The `apply_playbook` update: roll this playbook out to the journey."""

    playbook: Playbook
    on: date | None = None


class RemediationInput(RedEpisode):
    """The input of `RedAccountRemediation`: the episode, on its journey's calendar."""

    day_offset: int


class RemediationOutcome(BaseModel):
    account: str
    episode: int
    closed_on: date
    escalated: bool
    follow_ups: int


class HealthSweepReport(BaseModel):
    today: date
    scored: int = 0
    changed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    red: list[str] = Field(default_factory=list, description="accounts told they are red by score")
