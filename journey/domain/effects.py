"""Effects: everything a journey writes to the store, in one idempotent batch.

Every row carries a deterministic `key`, so a retried activity writes nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from journey.domain.enums import EngagementModel, Health, Segment, Stage
from journey.domain.models import Account
from journey.domain.sendwindow import SendRule

TASK_STATUSES = ("open", "done", "skipped", "cancelled")
# An automated touch's delivery: `sending` claimed by one sender, the message not complete
# at the receiver yet; `confirming` handed over, the receiver's answer not recorded yet;
# `unknown` its sender stopped while confirming, so it may or may not have arrived;
# `skipped` never to be sent (no one to send it to: a customer email without an address, or
# a person dropped it in review); `held` waits for a person's review before it may be sent.
DELIVERY_STATUSES = ("pending", "sending", "confirming", "sent", "simulated", "failed", "unknown", "skipped", "held")
DELIVERY_CHANNELS = ("slack", "email")
# Statuses that mean the touch went out (for real or in a simulation).
DELIVERED_STATUSES = ("sent", "simulated")

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
    # A person moved it (snoozed, rescheduled) or handed it to someone else.
    due: date | None = None
    owner: str | None = None
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
    # Why it is recorded `skipped` instead of queued (None: queued to be sent).
    skipped: str | None = None
    send_after: datetime | None = Field(
        default=None, description="the earliest moment (UTC) it may go out (the send window); None: at once"
    )
    timezone: str | None = Field(default=None, description="the account's timezone the send window was read in")
    send_rule: SendRule | None = Field(
        default=None, description="the window it goes out in, kept so that a later move (a weekly cap) stays in it"
    )
    held: bool = Field(default=False, description="written `held`: it waits for a person's review")
    contact_cap: int | None = Field(
        default=None, description="at most this many emails a week to its recipient (the playbook's per-contact cap)"
    )


class DeliveryChange(BaseModel):
    """A held delivery reviewed: approved (`pending`, to be sent at `send_after`) or
    dropped (`skipped`, with the reason). Applied only to a row still `held`."""

    key: str
    touchpoint: str
    status: Literal["pending", "skipped"]
    reviewed_by: str
    send_after: datetime | None = None
    reason: str | None = None


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
    delivery_changes: list[DeliveryChange] = Field(default_factory=list)
    red_rows: list[RedTrackerRow] = Field(default_factory=list)
    snapshot: AccountSnapshot | None = None
    enroll: Account | None = Field(default=None, description="insert or update the account row itself")

    def empty(self) -> bool:
        return not (
            self.timeline
            or self.open_tasks
            or self.task_changes
            or self.deliveries
            or self.delivery_changes
            or self.red_rows
            or self.snapshot
            or self.enroll
        )
