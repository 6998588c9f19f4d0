"""One occurrence of a touchpoint for one account, written the same way by every journey
and every red-account remediation: its timeline row, and either a task for a person or
an automated message in the outbox. Who owns a task and where a Slack post goes are
decided here alone, from the account and the team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from journey.domain.effects import Delivery, TaskOpen, TimelineEntry
from journey.domain.enums import Stage
from journey.domain.models import Account
from journey.domain.playbook import Channel, OwnerRole, Touchpoint
from journey.domain.team import Team

# Every red-account touchpoint belongs to the remediation, not to the journey's calendar.
RED_TOUCHPOINTS = ("red-alert", "red-action-plan", "red-follow-up")
# Touchpoints whose task opens with the account's value-realization report attached.
REPORT_TOUCHPOINTS = ("value-review",)


def owner_for(role: OwnerRole, account: Account, team: Team) -> str:
    """The person (or queue) a task of this role goes to."""
    return {
        OwnerRole.ta: account.ta,
        OwnerRole.ae: account.ae,
        OwnerRole.value_engineering: team.value_engineering,
        OwnerRole.manager: team.manager,
        OwnerRole.automated: "journey",
    }[role]


def message_channel(touchpoint: Touchpoint) -> Literal["slack", "email"]:
    return "slack" if touchpoint.channel is Channel.slack else "email"


@dataclass(frozen=True, slots=True)
class Touch:
    """`touchpoint` falling due on `due` for `account`, under the outbox/task key `key`."""

    touchpoint: Touchpoint
    key: str
    account: Account
    due: date
    stage: Stage
    playbook_version: str

    def timeline(self, key: str | None = None, /, **extra: object) -> TimelineEntry:
        tp = self.touchpoint
        detail: dict[str, object] = {
            "due": self.due.isoformat(),
            "owner": tp.owner.value,
            "channel": tp.channel.value,
            "stage": self.stage.value,
            "playbook_version": self.playbook_version,
            "status": "queued" if tp.automated else "task",
            **extra,
        }
        return TimelineEntry(
            key=key or self.key, account=self.account.id, at=self.due, kind="touchpoint", name=tp.id, detail=detail
        )

    def task(self, team: Team, title: str | None = None) -> TaskOpen:
        tp = self.touchpoint
        return TaskOpen(
            key=self.key,
            account=self.account.id,
            touchpoint=tp.id,
            title=title or tp.title,
            owner_role=tp.owner.value,
            owner=owner_for(tp.owner, self.account, team),
            due=self.due,
            playbook_version=self.playbook_version,
        )

    def message(self, recipient: str, subject: str, body: str, key: str | None = None) -> Delivery:
        return Delivery(
            key=key or self.key,
            account=self.account.id,
            touchpoint=self.touchpoint.id,
            channel=message_channel(self.touchpoint),
            recipient=recipient,
            subject=subject,
            body=body,
            due=self.due,
        )

    def internal_recipient(self, team: Team) -> str:
        """Where a message for the account team goes: the red-accounts channel on Slack,
        else the account's TA."""
        return team.red_accounts_channel if self.touchpoint.channel is Channel.slack else self.account.ta
