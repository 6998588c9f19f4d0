"""Inputs and outputs of the activities: one pydantic model each way."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from journey.delivery.outbox import DeliveryReport
from journey.domain.enums import EngagementModel
from journey.domain.events import MetricsUpdate

__all__ = [
    "DeliveryBatch",
    "DeliveryReport",
    "HealthChange",
    "HealthPlan",
    "HealthSweepInput",
    "HealthUpdateBatch",
    "HealthUpdateReport",
    "PlaybookRequest",
    "ReminderReport",
    "ReminderSweepInput",
    "ReportRequest",
    "UtilizationQuery",
    "UtilizationResult",
]


class PlaybookRequest(BaseModel):
    model: EngagementModel


class UtilizationQuery(BaseModel):
    account: str
    on: date
    seats: int


class UtilizationResult(BaseModel):
    utilization: float | None
    mau: int | None = None


class ReportRequest(BaseModel):
    """Attach the account's value-realization report to this task (`attach_report`)."""

    account: str
    task_key: str
    touchpoint: str
    on: date


class DeliveryBatch(BaseModel):
    keys: list[str]
    at: datetime | None = Field(
        default=None, description="the journey's business time of the send: rows whose send_after is later wait"
    )


class DeliverySweepInput(BaseModel):
    """Input of `DeliverySweep` and its `send_due_deliveries` activity."""

    at: datetime | None = Field(default=None, description="send the rows whose send_after is not later; default: now")


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
    # The sweep run telling them: each update's id is "<sweep>/<account>", so a journey is
    # told once per sweep however often a batch is retried. None (batches of sweeps that
    # began before update ids): the server makes up an id per call.
    sweep: str | None = None


class HealthUpdateReport(BaseModel):
    sent: int = 0
    skipped: list[str] = Field(default_factory=list, description="no running journey, or it refused the update")
    failed: list[str] = Field(default_factory=list, description="not told on the last attempt (timed out, server busy)")
