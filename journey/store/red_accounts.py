"""The red-accounts tracker: one row per red episode of an account, opened by its
remediation, moved on as it escalates, closed when the account is promoted."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.effects import RedTrackerRow
from journey.store.database import Database, with_account_id
from journey.store.records import RedAccountRecord
from journey.store.schema import red_accounts


class RedAccountsStore(Database):
    def red_rows(self, account: str | None = None) -> list[RedAccountRecord]:
        query = sa.select(red_accounts).order_by(
            red_accounts.c.account_id, red_accounts.c.episode, red_accounts.c.id
        )
        if account is not None:
            query = query.where(red_accounts.c.account_id == account)
        with self.engine.connect() as conn:
            return [RedAccountRecord.of(row) for row in conn.execute(query)]

    def open_remediations(self) -> int:
        """Red episodes not closed yet (each is a running Red Accounts Program)."""
        query = sa.select(sa.func.count()).select_from(red_accounts).where(red_accounts.c.closed_on.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def write_red_row(self, conn: Connection, red: RedTrackerRow) -> None:
        # Insert the episode, or move it on: only the fields this row sets are written, so a
        # later row without escalated_on does not erase an earlier escalation.
        values = with_account_id(red.model_dump())
        changes = {name: value for name, value in values.items() if value is not None}
        del changes["key"]
        stmt = self.insert(red_accounts).values(values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changes))
