"""The tasks aggregate: work for people, opened by journeys and remediations, closed with
`journey done`, reminded and escalated by the daily sweep, moved and handed on by people
(`journey snooze`, `journey tasks reschedule|reassign`); and who covers whom."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from journey.domain.effects import TaskChange, TaskOpen
from journey.domain.reminders import OpenTaskRow
from journey.store.database import Database, Row, now, with_account_id
from journey.store.records import TaskRecord
from journey.store.schema import accounts, task_covers, tasks


class TaskCover(BaseModel):
    """`cover` takes `owner`'s tasks from `from_on` (of one account, or of all with
    `account` None), until `until` (open-ended when None)."""

    owner: str
    cover: str
    account: str | None = None
    from_on: date
    until: date | None = None

    def holds_on(self, day: date) -> bool:
        return self.from_on <= day and (self.until is None or day <= self.until)

    def document(self) -> dict[str, object]:
        return {
            "owner": self.owner, "cover": self.cover, "account": self.account,
            "from_on": self.from_on.isoformat(), "until": self.until.isoformat() if self.until else None,
        }


class TasksStore(Database):
    def tasks(
        self,
        owner: str | None = None,
        account: str | None = None,
        status: str | None = "open",
        overdue_on: date | None = None,
    ) -> list[TaskRecord]:
        """Tasks ordered by due date. `status=None` means any status; `overdue_on=D` keeps
        tasks due strictly before D (a task due today is not overdue yet)."""
        query = sa.select(tasks).order_by(tasks.c.due, tasks.c.id)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        if account is not None:
            query = query.where(tasks.c.account_id == account)
        if status is not None:
            query = query.where(tasks.c.status == status)
        if overdue_on is not None:
            query = query.where(tasks.c.due < overdue_on)
        with self.engine.connect() as conn:
            return [TaskRecord.of(row) for row in conn.execute(query)]

    def tasks_to_remind(self, today: date) -> list[OpenTaskRow]:
        """Open tasks due before `today` that are not both reminded and escalated yet, with
        their account's name, engagement model, TA and AE (the reminder sweep's input)."""
        query = (
            sa.select(
                tasks.c.key,
                tasks.c.account_id.label("account"),
                accounts.c.name.label("account_name"),
                accounts.c.model,
                accounts.c.ta,
                accounts.c.ae,
                tasks.c.touchpoint,
                tasks.c.title,
                tasks.c.owner_role,
                tasks.c.owner,
                tasks.c.due,
                tasks.c.reminded_on,
                tasks.c.escalated_on,
            )
            .join(accounts, accounts.c.id == tasks.c.account_id)
            .where(
                tasks.c.status == "open",
                tasks.c.due < today,
                sa.or_(tasks.c.reminded_on.is_(None), tasks.c.escalated_on.is_(None)),
            )
            .order_by(tasks.c.account_id, tasks.c.due, tasks.c.id)
        )
        with self.engine.connect() as conn:
            return [OpenTaskRow.model_validate(dict(row._mapping)) for row in conn.execute(query)]

    def accounts_of_owner(self, owner: str, account: str | None = None) -> list[str]:
        """Accounts (ids, sorted) whose journey has not ended where `owner` owns an open
        task or is the TA or AE."""
        owning = sa.select(tasks.c.account_id).where(tasks.c.owner == owner, tasks.c.status == "open")
        teamed = sa.select(accounts.c.id).where(
            sa.or_(accounts.c.ta == owner, accounts.c.ae == owner), accounts.c.stage != "churned"
        )
        query = sa.union(owning, teamed)
        with self.engine.connect() as conn:
            found = sorted({row[0] for row in conn.execute(query)})
        return [a for a in found if account is None or a == account]

    def add_task_cover(self, cover: TaskCover) -> None:
        """Record a cover; an earlier one of the same owner and scope still holding ends
        the day before this one starts (one cover at a time)."""
        scope = task_covers.c.account_id.is_(None) if cover.account is None else task_covers.c.account_id == cover.account
        with self.engine.begin() as conn:
            conn.execute(
                task_covers.update()
                .where(task_covers.c.owner == cover.owner, scope, task_covers.c.ended_on.is_(None))
                .values(ended_on=date.fromordinal(cover.from_on.toordinal() - 1))
            )
            conn.execute(task_covers.insert().values(
                owner=cover.owner, cover=cover.cover, account_id=cover.account,
                from_on=cover.from_on, until=cover.until, recorded_at=now(),
            ))

    def task_covers(self, on: date) -> list[TaskCover]:
        """The covers holding on `on`, by owner."""
        query = (
            sa.select(task_covers)
            .where(task_covers.c.ended_on.is_(None), task_covers.c.from_on <= on)
            .where(sa.or_(task_covers.c.until.is_(None), task_covers.c.until >= on))
            .order_by(task_covers.c.owner, task_covers.c.account_id, task_covers.c.id)
        )
        with self.engine.connect() as conn:
            return [
                TaskCover(owner=r.owner, cover=r.cover, account=r.account_id, from_on=r.from_on, until=r.until)
                for r in conn.execute(query)
            ]


def task_values(task: TaskOpen, stamp: datetime) -> Row:
    return {**with_account_id(task.model_dump()), "status": "open", "created_at": stamp}


def change_task(conn: Connection, change: TaskChange) -> None:
    values = change.model_dump(exclude={"key"}, exclude_none=True)
    if values:
        conn.execute(tasks.update().where(tasks.c.key == change.key).values(values))
