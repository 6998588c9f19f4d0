"""One occurrence of a touchpoint for one account, written the same way by every journey
and every red-account remediation: its timeline row, and either a task for a person or
an automated message in the outbox. Who owns a task and where a Slack post goes are
decided here alone, from the account and the team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from journey.domain.effects import Delivery, TaskOpen, TimelineEntry
from journey.domain.enums import ContactRole, Stage
from journey.domain.models import Account
from journey.domain.playbook import Channel, OwnerRole, Touchpoint
from journey.domain.sendwindow import SendRule
from journey.domain.team import Team

# Every red-account touchpoint belongs to the remediation, not to the journey's calendar.
RED_TOUCHPOINTS = ("red-alert", "red-action-plan", "red-follow-up")
# Touchpoints whose task opens with a document attached: the value review with the
# account's value-realization report, the account plan with the plan of its quarter.
VALUE_REVIEW = "value-review"
ACCOUNT_PLAN = "account-plan"
# The roadmap review is where the customer's feedback goes to the product teams: its task
# opens with the account plan of the quarter, whose product-feedback section lists it.
ROADMAP_REVIEW = "roadmap-review"
PLAN_TOUCHPOINTS = (ACCOUNT_PLAN, ROADMAP_REVIEW)
REPORT_TOUCHPOINTS = (VALUE_REVIEW, *PLAN_TOUCHPOINTS)
# Who a customer email goes to, first to last; after them any contact with an address.
CUSTOMER_EMAIL_ROLES = (ContactRole.champion, ContactRole.admin)
# The task a TA gets when a customer email had no one to go to.
ADD_CONTACT = "add-contact"
NO_CUSTOMER_ADDRESS = "no customer contact with an email address (add one to the account)"


def customer_address(account: Account, roles: Sequence[ContactRole] = ()) -> str | None:
    """The address a customer email goes to. With `roles` (a touchpoint's `to`): the first
    contact with an address of those roles, in their order. Without: the champion's, else
    the admin's, else any contact's. None when there is no such address (the email is then
    not sent, never sent to a TA)."""
    if roles:
        for role in roles:
            for contact in account.contacts:
                if contact.role == role and contact.email:
                    return contact.email
        return None
    ranked = sorted(
        (c for c in account.contacts if c.email),
        key=lambda c: CUSTOMER_EMAIL_ROLES.index(c.role) if c.role in CUSTOMER_EMAIL_ROLES else len(CUSTOMER_EMAIL_ROLES),
    )
    return ranked[0].email if ranked else None


def no_address_reason(roles: Sequence[ContactRole] = ()) -> str:
    """Why a customer email had no one to go to (the outbox row's `last_error`)."""
    if not roles:
        return NO_CUSTOMER_ADDRESS
    listed = " or ".join(role.value for role in roles)
    return f"no {listed} contact with an email address (add one to the account)"


class Cover(BaseModel):
    """`cover` takes the new tasks of `owner` (vacation cover): those opened on or before
    `until`, or all while `until` is None. A journey keeps the covers it was told of in
    its state, so who gets a task is decided the same way on every replay."""

    owner: str
    cover: str
    until: date | None = None


def covered(owner: str, covers: Sequence[Cover], opened: date) -> str:
    """Who gets a task of `owner` opened on `opened`: the cover while one holds."""
    for cover in covers:
        if cover.owner == owner and (cover.until is None or opened <= cover.until):
            return cover.cover
    return owner


def owner_for(role: OwnerRole, account: Account, team: Team) -> str:
    """The person (or queue) a task of this role goes to (before any cover: `covered`)."""
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

    def message(
        self,
        recipient: str,
        subject: str,
        body: str,
        key: str | None = None,
        *,
        skipped: str | None = None,
        send_after: datetime | None = None,
        timezone: str | None = None,
        send_rule: SendRule | None = None,
        held: bool = False,
        contact_cap: int | None = None,
    ) -> Delivery:
        return Delivery(
            key=key or self.key,
            account=self.account.id,
            touchpoint=self.touchpoint.id,
            channel=message_channel(self.touchpoint),
            recipient=recipient,
            subject=subject,
            body=body,
            due=self.due,
            skipped=skipped,
            send_after=send_after,
            timezone=timezone,
            send_rule=send_rule,
            held=held,
            contact_cap=contact_cap,
        )

    def unsendable(self) -> str | None:
        """Why this automated touch cannot be sent at all (a customer email with no
        customer address), else None."""
        tp = self.touchpoint
        if tp.automated and tp.channel is Channel.email and customer_address(self.account, tp.to) is None:
            return no_address_reason(tp.to)
        return None

    def add_contact_task(self) -> TaskOpen:
        """The TA's task to give the account a contact with an email address, due the day
        an email could not go out."""
        return TaskOpen(
            key=f"{self.account.id}/{ADD_CONTACT}/{self.due.isoformat()}",
            account=self.account.id,
            touchpoint=ADD_CONTACT,
            title=f"Add a customer contact with an email address ({self.touchpoint.id} was not sent)",
            owner_role=OwnerRole.ta.value,
            owner=self.account.ta,
            due=self.due,
            playbook_version=self.playbook_version,
        )

    def internal_recipient(self, team: Team) -> str:
        """Where a message for the account team goes: the red-accounts channel on Slack,
        else the account's TA."""
        return team.red_accounts_channel if self.touchpoint.channel is Channel.slack else self.account.ta
