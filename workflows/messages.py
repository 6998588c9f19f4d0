"""Inputs and outputs of the workflows and activities: one pydantic model each way."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from journey.engine import JourneyState
from journey.models import Account, EngagementModel, Health, Stage
from journey.playbook import Playbook, RedPolicy, Touchpoint


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
    state: JourneyState | None = Field(default=None, description="set when continuing as new")


class JourneyOutcome(BaseModel):
    account: str
    stage: Stage
    terms: int
    closed_on: date
    reason: str | None = None


class MetricsUpdate(BaseModel):
    """From the health sweep: the account's latest measures and, if the score says so, a color."""

    on: date | None = None
    utilization: float | None = None
    consumption: float | None = None
    color: Health | None = None
    reason: str | None = None


class PlaybookUpdate(BaseModel):
    playbook: Playbook
    on: date | None = None


class UtilizationQuery(BaseModel):
    account: str
    on: date
    seats: int


class UtilizationResult(BaseModel):
    utilization: float | None
    mau: int | None = None


class DeliveryBatch(BaseModel):
    keys: list[str]


class DeliveryReport(BaseModel):
    sent: int = 0
    skipped: int = 0
    simulated: int = 0
    in_doubt: int = Field(default=0, description="handed over, the receiver's answer never recorded; not resent")


class PlaybookRequest(BaseModel):
    model: EngagementModel


class RemediationInput(BaseModel):
    account: Account
    episode: int
    opened_on: date
    reason: str
    stage: Stage
    day_offset: int
    policy: RedPolicy
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    playbook_version: str


class Promotion(BaseModel):
    on: date
    reason: str


class RemediationOutcome(BaseModel):
    account: str
    episode: int
    closed_on: date
    escalated: bool
    follow_ups: int


class ReminderSweepInput(BaseModel):
    """Input of `TaskReminderSweep` and its `remind_tasks` activity."""

    today: date | None = Field(default=None, description="the business date to sweep for; default: the server's date")


class ReminderReport(BaseModel):
    today: date
    reminded: int = 0
    escalated: int = 0
    sent: int = 0
    skipped: int = 0
    simulated: int = 0
    in_doubt: int = 0


class HealthSweepInput(BaseModel):
    """Input of `HealthSweep` and its `score_health` activity."""

    today: date | None = Field(default=None, description="the business date to score; default: the server's date")


class HealthChange(BaseModel):
    """One journey to tell about its score: the `metrics` update to send, and its band."""

    account: str
    update: MetricsUpdate
    band: float | None = None


class HealthPlan(BaseModel):
    today: date
    scored: int
    changes: list[HealthChange] = Field(default_factory=list)
    more: bool = Field(default=False, description="more changes than one plan holds: score again after sending")


class HealthUpdateBatch(BaseModel):
    changes: list[HealthChange]


class HealthUpdateReport(BaseModel):
    sent: int = 0
    skipped: list[str] = Field(default_factory=list, description="no running journey, or it refused the update")


class HealthSweepReport(BaseModel):
    today: date
    scored: int = 0
    changed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    red: list[str] = Field(default_factory=list, description="accounts told they are red by score")
