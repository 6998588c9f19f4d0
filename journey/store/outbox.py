"""The outbox aggregate: automated touches (emails, Slack posts), each keyed by account,
touchpoint and occurrence, and the claim / hand-over / outcome of its one delivery
(see journey.delivery.outbox for the protocol)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.effects import Delivery, DeliveryChange
from journey.domain.errors import InputError, NotFound
from journey.domain.sendwindow import DEFAULT_TIMEZONE, SendRule, week_bounds
from journey.store.database import CHUNK, Database, Row, chunks, now, with_account_id
from journey.store.records import OutboxRecord
from journey.store.schema import DELIVERED_STATUSES, DELIVERY_STATUSES, outbox

# Emails that count against a recipient's weekly cap: gone out, or going.
CAP_COUNTED_STATUSES = ("sending", "confirming", "sent", "unknown")


class UnknownDelivery(NotFound):
    """No outbox row has this key."""


class OutboxStore(Database):
    def pending_deliveries(
        self,
        keys: list[str] | None = None,
        *,
        key_suffixes: Sequence[str] = (),
        include_claimed: bool = False,
    ) -> list[OutboxRecord]:
        """Pending outbox rows in due order; only those with the given keys if any, only
        those whose key ends with one of `key_suffixes` if given, and with
        `include_claimed` also those a sender claimed and has not recorded (`sending`,
        `confirming`: a sweep retried after its worker died finds them so)."""
        statuses = ("pending", "sending", "confirming") if include_claimed else ("pending",)
        query = sa.select(outbox).where(outbox.c.status.in_(statuses))
        if key_suffixes:
            query = query.where(sa.or_(*(outbox.c.key.endswith(suffix, autoescape=True) for suffix in key_suffixes)))
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
        it is not the sender's to send (sent, given up, in doubt, held for review, or
        already handed over) or not yet: its `send_after` is later than `at` (default: the
        clock's now; a journey passes its business time), so no path sends a touch before
        its send window.

        A row still `sending` is taken over: its message never became complete at the
        receiver (see hand_over), so the earlier sender, dead or merely slow, has not
        delivered it and, having lost the claim, never will. Each claim is one conditional
        UPDATE, so senders racing for a row (a retry while a slow attempt is still alive,
        two sweeps at once) end with exactly one of them able to hand it over.

        An email with a `contact_cap` is claimed only while its recipient has had fewer
        emails than that this week (its timezone's Monday to Sunday, counting every email
        to the address that went out or is going); otherwise it is put off to the first
        moment of its send window next week, `pending`, and None is returned. The count and
        the claim are one transaction, per recipient one at a time, so two senders cannot
        both take the last place.
        """
        token = uuid.uuid4().hex
        stamp = now()
        moment = at or stamp
        due = sa.or_(outbox.c.send_after.is_(None), outbox.c.send_after <= moment)
        with self.transaction() as conn:
            capped = conn.execute(
                sa.select(outbox.c.recipient).where(
                    outbox.c.key == key, outbox.c.channel == "email", outbox.c.contact_cap.is_not(None)
                )
            ).scalar()
            if capped and self.dialect == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"journey-cap:{capped}"))))
            claimed = conn.execute(
                outbox.update()
                .where(outbox.c.key == key, outbox.c.status.in_(("pending", "sending")), due)
                .values(status="sending", claim=token, claimed_at=stamp)
            )
            if claimed.rowcount != 1:
                return None
            row = conn.execute(sa.select(outbox).where(outbox.c.key == key)).first()
            if row is None:
                return None
            record: OutboxRecord = OutboxRecord.of(row)
            if capped and record.contact_cap is not None:
                later = self._over_cap(conn, record, moment)
                if later is not None:
                    conn.execute(
                        outbox.update()
                        .where(outbox.c.key == key, outbox.c.claim == token)
                        .values(
                            status="pending", claim=None, claimed_at=None, send_after=later,
                            last_error=f"{record.recipient} has had {record.contact_cap} emails this week "
                            f"(the playbook's max_emails_per_contact_per_week): moved to {later.isoformat()}",
                        )
                    )
                    return None
        return record

    def _over_cap(self, conn: Connection, record: OutboxRecord, moment: datetime) -> datetime | None:
        """When `record` may go instead, if its recipient has had its cap of emails in the
        week of `moment`; None while there is room."""
        assert record.contact_cap is not None
        timezone = record.timezone or DEFAULT_TIMEZONE
        start, end = week_bounds(moment, timezone)
        went_at = sa.func.coalesce(outbox.c.sent_at, outbox.c.claimed_at)
        count = conn.execute(
            sa.select(sa.func.count()).where(
                outbox.c.recipient == record.recipient,
                outbox.c.channel == "email",
                outbox.c.key != record.key,
                outbox.c.status.in_(CAP_COUNTED_STATUSES),
                went_at >= start,
                went_at < end,
            )
        ).scalar_one()
        if count < record.contact_cap:
            return None
        rule = record.rule() or SendRule(timezone=timezone)
        return rule.earliest(end)

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
        touchpoint: str | None = None, limit: int | None = None,
    ) -> list[OutboxRecord]:
        """Outbox rows, newest first, optionally only those in `statuses`, of one account or
        touchpoint, or with these keys (at most CHUNK of them)."""
        query = sa.select(outbox)
        if keys:
            query = query.where(outbox.c.key.in_(list(keys)[:CHUNK]))
        if statuses:
            query = query.where(outbox.c.status.in_(statuses))
        if account is not None:
            query = query.where(outbox.c.account_id == account)
        if touchpoint is not None:
            query = query.where(outbox.c.touchpoint == touchpoint)
        query = query.order_by(outbox.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [OutboxRecord.of(row) for row in conn.execute(query)]

    def deliveries_by_channel_and_status(self) -> dict[tuple[str, str], int]:
        """How many outbox rows are in each (channel, status), whoever wrote or sent them
        (a worker, `deliveries resend`, a broadcast); pairs with no row are left out."""
        return self.count_pairs(outbox.c.channel, outbox.c.status)


    def deliveries_in(
        self, keys: Sequence[str], allowed: Sequence[str], action: str, allowed_as: str | None = None
    ) -> list[OutboxRecord]:
        """The rows of `keys`, in their order, when every one exists and is in an `allowed`
        status; otherwise `InputError` naming each key that is not (`action` is what was
        to be done to them, `allowed_as` how the allowed rows are called)."""
        if len(keys) > CHUNK:
            raise InputError(f"keys: {len(keys)} keys; give at most {CHUNK} at once")
        found = {row.key: row for row in self.deliveries(keys=keys)}
        which = allowed_as or ", ".join(allowed)
        problems = [
            f"key {key!r}: no such delivery (see `journey deliveries`)" if key not in found
            else f"key {key!r}: status is {found[key].status}; only {which} can be {action}"
            for key in keys
            if key not in found or found[key].status not in allowed
        ]
        if problems:
            raise InputError("\n".join(problems))
        return [found[key] for key in keys]

    def due_deliveries(self, at: datetime, limit: int = 5_000) -> list[OutboxRecord]:
        """Pending rows whose send window opened by `at` (`send_after` set and passed):
        broadcasts, touches approved in review, emails a weekly cap put off. Soonest first."""
        query = (
            sa.select(outbox)
            .where(outbox.c.status == "pending", outbox.c.send_after.is_not(None), outbox.c.send_after <= at)
            .order_by(outbox.c.send_after, outbox.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [OutboxRecord.of(row) for row in conn.execute(query)]

    def edit_held(self, key: str, reviewed_by: str, *, subject: str | None = None, body: str | None = None) -> bool:
        """Change the message of a delivery still held for review; False when it is not held."""
        values: Row = {"reviewed_by": reviewed_by}
        if subject is not None:
            values["subject"] = subject
        if body is not None:
            values["body"] = body
        with self.transaction() as conn:
            result = conn.execute(outbox.update().where(outbox.c.key == key, outbox.c.status == "held").values(values))
        return result.rowcount == 1


def delivery_values(delivery: Delivery, stamp: datetime) -> Row:
    values = with_account_id(delivery.model_dump(exclude={"skipped", "held", "send_rule"}))
    status = "skipped" if delivery.skipped is not None else "held" if delivery.held else "pending"
    rule = None if delivery.send_rule is None else delivery.send_rule.model_dump_json()
    return {**values, "status": status, "last_error": delivery.skipped, "attempts": 0, "created_at": stamp,
            "send_rule": rule}


def change_delivery(conn: Connection, change: DeliveryChange) -> str | None:
    """A held delivery approved or dropped; a row no longer held (reviewed already) is left
    alone. Returns the channel of the row changed, None when none was."""
    values: Row = {"status": change.status, "reviewed_by": change.reviewed_by}
    if change.status == "pending":
        values["send_after"] = change.send_after
    else:
        values["last_error"] = change.reason
    update = outbox.update().where(outbox.c.key == change.key, outbox.c.status == "held").values(values)
    return conn.execute(update.returning(outbox.c.channel)).scalar()
