"""The journey's database: accounts, contacts, timeline, tasks, outbox, usage, red accounts.

`Store` joins the aggregates (one module each) over one database. Writes that a Temporal
activity may retry are idempotent: every inserted row carries a deterministic `key` and
is inserted with ON CONFLICT DO NOTHING, and updates only set values, so applying the
same batch twice leaves the database as after once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.effects import Effects
from journey.store.accounts import AccountsStore, write_snapshot
from journey.store.book import BookStore
from journey.store.broadcast import BroadcastStore
from journey.store.database import Row, now
from journey.store.health_sweep import HealthSweepStore
from journey.store.metrics import MetricsStore
from journey.store.outbox import OutboxStore, change_delivery, delivery_values
from journey.store.plans import PlansStore
from journey.store.red_accounts import RedAccountsStore
from journey.store.schema import outbox, tasks, timeline
from journey.store.tasks import TasksStore, change_task, task_values
from journey.store.timeline import TimelineStore, timeline_values
from journey.store.usage import UsageStore


@dataclass(frozen=True)
class Written:
    """What one `apply_effects` (or `apply_many`) changed for the first time: the keys of
    the new timeline rows, and the outbox rows that reached a status (key -> (channel,
    status)): new rows with the status written (`pending`, `held`, `skipped`), held rows a
    review dropped (`skipped`). Applying the same batch again changes nothing, so what is
    counted from this (the engine's metrics) is counted once however often a step is
    retried."""

    timeline: frozenset[str] = frozenset()
    outbox: Mapping[str, tuple[str, str]] = field(default_factory=dict)


class Store(
    AccountsStore,
    TimelineStore,
    TasksStore,
    OutboxStore,
    UsageStore,
    RedAccountsStore,
    MetricsStore,
    HealthSweepStore,
    PlansStore,
    BookStore,
    BroadcastStore,
):
    """The journey's database. Thread-safe: each call checks a connection out of the pool."""

    def apply_effects(self, effects: Effects, *, track_new: bool = False) -> Written:
        """Write everything one journey step produced, in one transaction, idempotently.

        Inserts are keyed and skip rows already present, so a retried activity writes
        nothing twice; updates set values (never increment) and touch `updated_at` only
        when something changed, so applying the same Effects again changes nothing.
        With `track_new`, returns the timeline and outbox rows that were new (`Written`;
        it costs the inserts a RETURNING clause); without, an empty `Written`.
        """
        return self.apply_many([effects], track_new=track_new)

    def apply_many(self, batches: Iterable[Effects], *, track_new: bool = False) -> Written:
        """`apply_effects` for several batches (e.g. one per account), in ONE transaction."""
        batches = [effects for effects in batches if not effects.empty()]
        if not batches:
            return Written()
        stamp = now()
        new_timeline: set[str] = set()
        new_outbox: dict[str, tuple[str, str]] = {}
        with self.transaction() as conn:
            for effects in batches:
                written = self._write_effects(conn, effects, stamp, track_new)
                new_timeline.update(written.timeline)
                new_outbox.update(written.outbox)
        return Written(frozenset(new_timeline), new_outbox)

    def _write_effects(self, conn: Connection, effects: Effects, stamp: datetime, track_new: bool) -> Written:
        if effects.enroll is not None:
            # The journey's first step records the account itself.
            self.write_accounts(conn, [effects.enroll])
        new_timeline = self._insert_new(conn, timeline, [timeline_values(e, stamp) for e in effects.timeline], track_new)
        # Open before changing: a batch may open a task and change it at once.
        self._insert_new(conn, tasks, [task_values(t, stamp) for t in effects.open_tasks])
        for change in effects.task_changes:
            change_task(conn, change)
        queued = [delivery_values(d, stamp) for d in effects.deliveries]
        new_outbox = set(self._insert_new(conn, outbox, queued, track_new))
        statuses = {row["key"]: (row["channel"], row["status"]) for row in queued if row["key"] in new_outbox}
        for reviewed in effects.delivery_changes:
            channel = change_delivery(conn, reviewed)
            if channel is not None and track_new:
                statuses[reviewed.key] = (channel, reviewed.status)
        for red in effects.red_rows:
            self.write_red_row(conn, red)
        if effects.snapshot is not None:
            write_snapshot(conn, effects.snapshot, stamp)
        return Written(frozenset(new_timeline), statuses)

    def _insert_new(self, conn: Connection, table: sa.Table, values: list[Row], track: bool = False) -> list[str]:
        """Insert the rows whose key is not there yet (one batched statement); with `track`,
        returns the keys inserted (RETURNING leaves out the rows the conflict skipped)."""
        if not values:
            return []
        insert = self.insert(table).on_conflict_do_nothing(index_elements=["key"])
        if not track:
            conn.execute(insert, values)
            return []
        return list(conn.execute(insert.returning(table.c.key), values).scalars())
