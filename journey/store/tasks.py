"""The tasks aggregate: work for people, opened by journeys and remediations, closed with
`journey done`, reminded and escalated by the daily sweep."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.effects import TaskChange, TaskOpen
from journey.domain.reminders import OpenTaskRow
from journey.store.database import Database, Row, with_account_id
from journey.store.records import TaskRecord
from journey.store.schema import accounts, tasks


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


def task_values(task: TaskOpen, stamp: datetime) -> Row:
    return {**with_account_id(task.model_dump()), "status": "open", "created_at": stamp}


def change_task(conn: Connection, change: TaskChange) -> None:
    values = change.model_dump(exclude={"key"}, exclude_none=True)
    if values:
        conn.execute(tasks.update().where(tasks.c.key == change.key).values(values))
