"""Inputs and outputs of the workflows, their updates and signals: one pydantic model each way.

The activities' own messages are in `activities.messages`; the `metrics` update's payload
(`MetricsUpdate`) and the event payloads are domain models. The fields are bounded by the
domain's types (`journey.domain.bounds`), as everywhere a value enters a journey.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, ModelWrapValidatorHandler, ValidationError, ValidationInfo, model_validator
from temporalio.exceptions import ApplicationError

from activities.messages import HealthSweepInput, ReminderSweepInput
from journey.domain.bounds import Day
from journey.domain.engine import JourneyState
from journey.domain.enums import Stage
from journey.domain.errors import describe_validation_error
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


class RefusedWhenInvalid(BaseModel):
    """A message a workflow is started or updated with that, read from its JSON payload,
    fails for good when it does not fit its model, naming every bad field, rather than
    failing the workflow task.

    The SDK turns any other error of decoding a workflow's input into a task failure that
    is retried for ever (`Failed decoding arguments`): a journey started with an ARR of
    1e999 by `temporal workflow start` would never run and never end. An ApplicationError
    is the one error decoding may raise that the SDK lets through: the workflow fails with
    this message (an update is rejected with it). Built in Python (by a client), the model
    raises pydantic's ValidationError as any other."""

    @model_validator(mode="wrap")
    @classmethod
    def _refused_for_good(cls, data: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        try:
            return handler(data)
        except ValidationError as err:
            if info.mode != "json":
                raise
            raise ApplicationError(
                f"{cls.__name__}: {describe_validation_error(err)}", type="InvalidInput", non_retryable=True
            ) from None


class JourneyInput(RefusedWhenInvalid):
    account: Account
    playbook: Playbook | None = Field(
        default=None, description="default: the worker's playbook for the account's engagement model"
    )
    today: Day | None = Field(
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


class PlaybookUpdate(RefusedWhenInvalid):
    """The `apply_playbook` update: roll this playbook out to the journey."""

    playbook: Playbook
    on: Day | None = None


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
