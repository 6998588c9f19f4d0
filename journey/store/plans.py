"""Account plans: the items the account team records (objectives, risks, expansion
opportunities, use cases), and the NPS answers a plan reads (its contacts and product
feedback come from `AccountsStore.contacts_of` and `BookStore.feedback_items`).

An item is numbered per account, from 1 (`journey plan close ACCOUNT ITEM`), and remembers
the fiscal quarter it was raised in. It stays open, and so in every later quarter's plan,
until it is closed with an outcome; closing is once only. Items are written by people
through the CLI, never by a journey, so they carry no idempotency key: each `plan add`
is a new item.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError

from journey.domain.bounds import Day, Notes, Reason
from journey.domain.errors import InputError, NotFound, describe_validation_error
from journey.domain.quarters import quarter_of
from journey.store.database import Database, now
from journey.store.records import Record
from journey.store.schema import accounts, nps_responses, plan_items

PlanKind = Literal["objective", "risk", "opportunity", "use-case"]
Outcome = Literal["met", "missed", "dropped"]
PLAN_KINDS: tuple[PlanKind, ...] = ("objective", "risk", "opportunity", "use-case")
OUTCOMES: tuple[Outcome, ...] = ("met", "missed", "dropped")
# Two people adding to one account at once on PostgreSQL may pick the same next number;
# the unique (account, number) refuses the second, which takes the number after.
_NUMBER_ATTEMPTS = 5

M = TypeVar("M", bound=BaseModel)


class PlanItemRecord(Record):
    """A row of `plan_items`."""

    id: int
    account_id: str
    number: int
    kind: str
    text: str
    quarter: str
    opened_on: date
    closed_on: date | None = None
    outcome: str | None = None
    notes: str | None = None
    recorded_at: datetime

    def open_on(self, day: date) -> bool:
        """Raised by `day` and not closed by then."""
        return self.opened_on <= day and (self.closed_on is None or self.closed_on > day)


class _NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PlanKind
    text: Reason
    on: Day


class _Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    notes: Notes | None = None
    on: Day


class PlansStore(Database):
    def add_plan_item(self, account: str, kind: str, text: str, on: date) -> PlanItemRecord:
        """Record a new item of `account`'s plan, raised on `on`; returns it with its number.
        InputError for an unknown kind, empty or overlong text; NotFound for an unknown account."""
        item = _checked(_NewItem, kind=kind, text=text.strip(), on=on)
        for attempt in range(_NUMBER_ATTEMPTS):
            try:
                with self.transaction() as conn:
                    _require_account(conn, account)
                    number = conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(plan_items.c.number), 0) + 1).where(
                            plan_items.c.account_id == account
                        )
                    ).scalar_one()
                    conn.execute(
                        plan_items.insert().values(
                            account_id=account, number=number, kind=item.kind, text=item.text,
                            quarter=quarter_of(item.on), opened_on=item.on, recorded_at=now(),
                        )
                    )
                break
            except sa.exc.IntegrityError:
                if attempt == _NUMBER_ATTEMPTS - 1:
                    raise
        return self.plan_item(account, number)

    def close_plan_item(
        self, account: str, number: int, outcome: str, on: date, notes: str | None = None
    ) -> PlanItemRecord:
        """Close item `number` of `account` with its outcome on `on`. InputError (naming the
        item) when it is closed already or `on` is before it was raised; NotFound for an
        unknown account or item."""
        closing = _checked(_Closing, outcome=outcome, notes=notes.strip() if notes else None, on=on)
        with self.transaction() as conn:
            _require_account(conn, account)
            row = conn.execute(
                sa.select(plan_items).where(plan_items.c.account_id == account, plan_items.c.number == number)
            ).first()
            if row is None:
                raise NotFound(f"item {number}: no plan item {number} for account {account!r} (see `journey plan {account}`)")
            item = PlanItemRecord.of(row)
            if item.closed_on is not None:
                raise InputError(
                    f"item {number}: plan item {number} of {account!r} is already closed ({item.outcome} on {item.closed_on})"
                )
            if closing.on < item.opened_on:
                raise InputError(f"field 'on': {closing.on} is before item {number} was raised ({item.opened_on})")
            conn.execute(
                plan_items.update()
                .where(plan_items.c.id == item.id)
                .values(closed_on=closing.on, outcome=closing.outcome, notes=closing.notes)
            )
        return self.plan_item(account, number)

    def plan_item(self, account: str, number: int) -> PlanItemRecord:
        query = sa.select(plan_items).where(plan_items.c.account_id == account, plan_items.c.number == number)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"item {number}: no plan item {number} for account {account!r}")
        return PlanItemRecord.of(row)

    def plan_items(self, account: str) -> list[PlanItemRecord]:
        """Every item of `account`'s plan, open and closed, by number."""
        query = sa.select(plan_items).where(plan_items.c.account_id == account).order_by(plan_items.c.number)
        with self.engine.connect() as conn:
            return [PlanItemRecord.of(row) for row in conn.execute(query)]

    def plan_nps_scores(self, account: str, first: date, last: date) -> list[tuple[date, int]]:
        """`account`'s NPS answers (day, score 0-10) in [first, last], oldest first."""
        query = (
            sa.select(nps_responses.c.date, nps_responses.c.score)
            .where(nps_responses.c.account_id == account, nps_responses.c.date.between(first, last))
            .order_by(nps_responses.c.date, nps_responses.c.id)
        )
        with self.engine.connect() as conn:
            return [(day, score) for day, score in conn.execute(query)]


def _require_account(conn: sa.Connection, account: str) -> None:
    if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account)).first() is None:
        raise NotFound(f"no account {account!r} in the store (enroll or import it first)")


def _checked(model: type[M], **values: object) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise InputError(describe_validation_error(err)) from None
