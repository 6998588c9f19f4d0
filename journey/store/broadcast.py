"""Broadcasts in the store: their outbox rows and timeline rows, written by key so a second
run with the same broadcast id adds nothing (see journey.domain.broadcast)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from journey.domain.effects import Delivery, TimelineEntry
from journey.store.database import Database, chunks, now
from journey.store.outbox import delivery_values
from journey.store.schema import accounts, outbox, timeline
from journey.store.timeline import timeline_values


class BroadcastStore(Database):
    def queued_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that already have an outbox row."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in chunks(list(keys)):
                found.update(conn.execute(sa.select(outbox.c.key).where(outbox.c.key.in_(chunk))).scalars())
        return found

    def queue_broadcast(self, deliveries: Sequence[Delivery], entries: Sequence[TimelineEntry]) -> int:
        """Insert the deliveries and timeline rows whose key is not there yet, in one
        transaction; returns how many deliveries were already queued."""
        stamp = now()
        keys = [d.key for d in deliveries]
        with self.transaction() as conn:
            already: set[str] = set()
            for chunk in chunks(keys):
                already.update(conn.execute(sa.select(outbox.c.key).where(outbox.c.key.in_(chunk))).scalars())
            rows = [delivery_values(d, stamp) for d in deliveries if d.key not in already]
            if rows:
                conn.execute(self.insert(outbox).on_conflict_do_nothing(index_elements=["key"]), rows)
            if entries:
                conn.execute(
                    self.insert(timeline).on_conflict_do_nothing(index_elements=["key"]),
                    [timeline_values(e, stamp) for e in entries],
                )
        return len(already)

    def account_zones(self, account_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """Each account's (timezone, country), for its send window."""
        found: dict[str, tuple[str | None, str | None]] = {}
        query = sa.select(accounts.c.id, accounts.c.timezone, accounts.c.country)
        with self.engine.connect() as conn:
            for chunk in chunks(list(account_ids)):
                for row in conn.execute(query.where(accounts.c.id.in_(chunk))):
                    found[row.id] = (row.timezone, row.country)
        return found
