"""What the store's reads return: one pydantic model per table row.

The field names are the table's columns, so a record's `--json` form is the row as it is
stored (plus `account`, the contract's name for `account_id`, where the CLI prints it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from journey.domain.sendwindow import SendRule


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, row: Any) -> Any:
        """A record from a result row (trusted: the database already typed its values)."""
        return cls.model_construct(**row._mapping)

    def plain(self) -> dict[str, Any]:
        """The record with dates and times as ISO text, in column order."""
        return {name: _iso(value) for name, value in self}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class AccountRecord(Record):
    """An account row: the enrollment file's columns, what the journey mirrors, the score."""

    id: str
    name: str
    segment: str
    tier: int
    model: str
    seats: int
    arr: float
    signed: date
    renewal: date
    ta: str
    ae: str
    deployment: str
    production_ready: date | None = None
    onboarding_complete: date | None = None
    enrolled_at: datetime
    stage: str
    health: str
    health_reason: str | None = None
    term: int
    adoption_deadline: date | None = None
    updated_at: datetime
    health_score: int | None = None
    scored_on: date | None = None
    score_color: str | None = None
    adoption_band: float | None = None
    timezone: str | None = None
    country: str | None = None


class TimelineRecord(Record):
    id: int
    key: str
    account_id: str
    at: date
    kind: str
    name: str
    detail: dict[str, Any]
    recorded_at: datetime


class TaskRecord(Record):
    id: int
    key: str
    account_id: str
    touchpoint: str
    title: str
    owner_role: str
    owner: str
    due: date
    status: str
    created_at: datetime
    reminded_on: date | None = None
    escalated_on: date | None = None
    escalated_to: str | None = None
    done_on: date | None = None
    notes: str | None = None
    playbook_version: str | None = None


class OutboxRecord(Record):
    """An automated touch in the outbox, and where its delivery stands."""

    id: int
    key: str
    account_id: str
    touchpoint: str
    channel: str
    recipient: str
    subject: str
    body: str
    due: date
    status: str
    attempts: int
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime
    claim: str | None = None
    claimed_at: datetime | None = None
    send_after: datetime | None = None
    timezone: str | None = None
    reviewed_by: str | None = None
    contact_cap: int | None = None
    send_rule: str | None = None

    def rule(self) -> SendRule | None:
        """The send window it goes out in (None: any moment)."""
        return None if self.send_rule is None else SendRule.model_validate_json(self.send_rule)


class RedAccountRecord(Record):
    """A row of the red-accounts tracker: one red episode of one account."""

    id: int
    key: str
    account_id: str
    episode: int
    opened_on: date
    reason: str
    closed_on: date | None = None
    escalated_on: date | None = None
    resolution: str | None = None
    current_state: str | None = None
    needs: str | None = None
    intended_actions: str | None = None
