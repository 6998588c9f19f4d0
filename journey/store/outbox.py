"""The outbox aggregate: automated touches (emails, Slack posts), each keyed by account,
touchpoint and occurrence, and the claim / hand-over / outcome of its one delivery
(see journey.delivery.outbox for the protocol)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from journey.domain.effects import Delivery
from journey.domain.errors import NotFound
from journey.store.database import CHUNK, Database, Row, chunks, now, with_account_id
from journey.store.records import OutboxRecord
from journey.store.schema import DELIVERED_STATUSES, DELIVERY_STATUSES, outbox


class UnknownDelivery(NotFound):
    """No outbox row has this key."""


class OutboxStore(Database):
    def pending_deliveries(
        self,
        keys: list[str] | None = None,
        *,
        key_suffixes: Sequence[str] = (),
        key_prefixes: Sequence[str] = (),
        include_claimed: bool = False,
    ) -> list[OutboxRecord]:
        """Pending outbox rows in due order; only those with the given keys if any, only
        those whose key ends with one of `key_suffixes` or starts with one of `key_prefixes`
        if given, and with
        `include_claimed` also those a sender claimed and has not recorded (`sending`,
        `confirming`: a sweep retried after its worker died finds them so)."""
        statuses = ("pending", "sending", "confirming") if include_claimed else ("pending",)
        query = sa.select(outbox).where(outbox.c.status.in_(statuses))
        if key_suffixes or key_prefixes:
            query = query.where(
                sa.or_(
                    *(outbox.c.key.endswith(suffix, autoescape=True) for suffix in key_suffixes),
                    *(outbox.c.key.startswith(prefix, autoescape=True) for prefix in key_prefixes),
                )
            )
        order = (outbox.c.due, outbox.c.id)
        with self.engine.connect() as conn:
            if keys is None:
                return [OutboxRecord.of(row) for row in conn.execute(query.order_by(*order))]
            found = [
                OutboxRecord.of(row)
                for chunk in chunks(keys)
                for row in conn.execute(query.where(outbox.c.key.in_(chunk)))
            ]
        return sorted(found, key=lambda row: (row.due, row.id))

    def claim_delivery(self, key: str, at: datetime | None = None) -> OutboxRecord | None:
        """Claim an outbox row for sending under a fresh token (`record.claim`); None when
        it is not the sender's to send (sent, given up, in doubt, or already handed over)
        or not yet: its `send_after` is later than `at` (default: the clock's now; a journey
        passes its business time), so no path sends a touch before its send window.

        A row still `sending` is taken over: its message never became complete at the
        receiver (see hand_over), so the earlier sender, dead or merely slow, has not
        delivered it and, having lost the claim, never will. Each claim is one conditional
        UPDATE, so senders racing for a row (a retry while a slow attempt is still alive,
        two sweeps at once) end with exactly one of them able to hand it over.
        """
        token = uuid.uuid4().hex
        stamp = now()
        due = sa.or_(outbox.c.send_after.is_(None), outbox.c.send_after <= (at or stamp))
        with self.transaction() as conn:
            claimed = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status.in_(("pending", "sending")), due)
                .values(status="sending", claim=token, claimed_at=stamp)
            )
            if claimed.rowcount != 1:
                return None
            row = conn.execute(sa.select(outbox).where(outbox.c.key == key)).first()
        return None if row is None else OutboxRecord.of(row)

    def hand_over(self, key: str, claim: str) -> bool:
        """The commit point of a send: the receiver is ready and the last part of the
        message is about to go (sending -> confirming). False when another sender took the
        row over meanwhile: the caller must then abandon the message unfinished."""
        with self.transaction() as conn:
            result = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.claim == claim, outbox.c.status == "sending")
                .values(status="confirming")
            )
        return result.rowcount == 1

    def mark_in_doubt(self, key: str, reason: str) -> bool:
        """A row still `confirming` when a later attempt comes for it, or whose receiver
        never answered: the whole message went out and the sender does not know whether it
        arrived. Marks it `unknown` (never sent again automatically) and returns True."""
        with self.transaction() as conn:
            result = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status == "confirming")
                .values(status="unknown", attempts=outbox.c.attempts + 1, last_error=reason)
            )
        return result.rowcount == 1

    def mark_delivery(self, key: str, status: str, error: str | None = None, *, claim: str | None = None) -> bool:
        """Record one delivery attempt: its outcome, its error, and when it went out.

        With `claim`, only while the row is still that sender's (False otherwise: another
        sender took it over and records its own outcome). Raises `UnknownDelivery` for a
        key with no row."""
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"delivery status {status!r} is not one of {DELIVERY_STATUSES}")
        values: Row = {
            "status": status,
            "attempts": outbox.c.attempts + 1,
            "last_error": error,
        }
        if status in DELIVERED_STATUSES:
            values["sent_at"] = now()
        where = [outbox.c.key == key]
        if claim is not None:
            where.append(outbox.c.claim == claim)
        with self.transaction() as conn:
            result = conn.execute(outbox.update().where(*where).values(values))
            if result.rowcount == 0:
                if conn.execute(sa.select(outbox.c.id).where(outbox.c.key == key)).first() is None:
                    raise UnknownDelivery(f"no outbox row with key {key!r}")
                return False
        return True

    def requeue_delivery(self, key: str, statuses: Sequence[str], reason: str) -> bool:
        """Put a row in one of `statuses` back to `pending` for one more send, without
        counting an attempt (the send that follows counts it). False if it was in none."""
        with self.transaction() as conn:
            result = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status.in_(list(statuses)))
                .values(status="pending", last_error=reason, claim=None, claimed_at=None)
            )
        return result.rowcount == 1

    def deliveries(
        self, *, statuses: Sequence[str] = (), account: str | None = None, keys: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[OutboxRecord]:
        """Outbox rows, newest first, optionally only those in `statuses`, of one account or
        with these keys (at most CHUNK of them)."""
        query = sa.select(outbox)
        if keys:
            query = query.where(outbox.c.key.in_(list(keys)[:CHUNK]))
        if statuses:
            query = query.where(outbox.c.status.in_(statuses))
        if account is not None:
            query = query.where(outbox.c.account_id == account)
        query = query.order_by(outbox.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [OutboxRecord.of(row) for row in conn.execute(query)]


def delivery_values(delivery: Delivery, stamp: datetime) -> Row:
    values = with_account_id(delivery.model_dump(exclude={"skipped"}))
    status = "pending" if delivery.skipped is None else "skipped"
    return {**values, "status": status, "last_error": delivery.skipped, "attempts": 0, "created_at": stamp}
