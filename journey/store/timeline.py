"""The timeline aggregate: every stage change, event, touchpoint and health change of an
account, one keyed row each, so a retried write adds nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from journey.domain.effects import TimelineEntry
from journey.store.database import Database, Row, with_account_id
from journey.store.records import TimelineRecord
from journey.store.schema import timeline


class TimelineStore(Database):
    def timeline(self, account_id: str) -> list[TimelineRecord]:
        query = (
            sa.select(timeline)
            .where(timeline.c.account_id == account_id)
            .order_by(timeline.c.at, timeline.c.id)
        )
        with self.engine.connect() as conn:
            return [TimelineRecord.of(row) for row in conn.execute(query)]


def timeline_values(entry: TimelineEntry, stamp: datetime) -> Row:
    values = with_account_id(entry.model_dump())
    # JSON columns cannot hold dates; the JSON-mode dump turns them into ISO strings.
    values["detail"] = entry.model_dump(mode="json")["detail"]
    values["recorded_at"] = stamp
    return values
