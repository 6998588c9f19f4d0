"""The accounts aggregate: an account's enrollment facts, its contacts, and the mirror of
its journey (stage, health, term) that listings read without a Temporal round trip."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.domain.effects import AccountSnapshot
from journey.domain.enums import ContactRole
from journey.domain.models import Account, Contact
from journey.store.database import Database, Row, chunks, now, plain
from journey.store.records import AccountRecord
from journey.store.schema import ACCOUNT_FIELDS, SNAPSHOT_FIELDS, accounts, contacts

ContactKey = tuple[str, str | None, str, str | None]


class AccountsStore(Database):
    def upsert_accounts(self, accounts_in: list[Account]) -> tuple[int, int]:
        """Insert new accounts and update changed ones, all in one transaction.

        Returns (inserted, updated). An account whose file columns and contacts are exactly
        as stored is left alone (its updated_at does not move); a changed account gets the
        file's values and its contacts replaced. Columns only the journey writes (stage,
        health, health_reason, term, adoption_deadline) are never touched by an import.
        """
        _refuse_duplicate_ids(accounts_in)
        if not accounts_in:
            return (0, 0)
        with self.transaction() as conn:
            return self.write_accounts(conn, accounts_in)

    def write_accounts(self, conn: Connection, accounts_in: list[Account]) -> tuple[int, int]:
        """`upsert_accounts` inside the caller's transaction."""
        ids = [account.id for account in accounts_in]
        stored = _load_account_values(conn, ids)
        stored_contacts = _load_contact_keys(conn, ids)
        new = [a for a in accounts_in if a.id not in stored]
        changed = [
            a
            for a in accounts_in
            if a.id in stored
            and (
                _account_values(a) != stored[a.id]
                or _contact_keys(a) != stored_contacts.get(a.id, [])
            )
        ]
        self._write_rows(conn, new + changed)
        _replace_contacts(conn, new + changed)
        return (len(new), len(changed))

    def _write_rows(self, conn: Connection, rows: list[Account]) -> None:
        if not rows:
            return
        stamp = now()
        # Id order: two imports locking the same rows in different orders would deadlock.
        rows = sorted(rows, key=lambda account: account.id)
        values = [{**_account_values(a), "enrolled_at": stamp, "updated_at": stamp} for a in rows]
        # One multi-row upsert (SQLAlchemy batches executemany into INSERT ... VALUES lists)
        # covers new and changed accounts alike; enrolled_at keeps its first value.
        stmt = self.insert(accounts)
        stmt = stmt.on_conflict_do_update(
            index_elements=[accounts.c.id],
            set_={name: stmt.excluded[name] for name in (*ACCOUNT_FIELDS, "updated_at")},
        )
        conn.execute(stmt, values)

    def account_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(accounts.c.id)).scalars())

    def list_accounts(
        self,
        stage: str | None = None,
        segment: str | None = None,
        health: str | None = None,
        ta: str | None = None,
    ) -> list[AccountRecord]:
        """Account rows (file columns plus the journey-mirrored ones), ordered by id."""
        query = sa.select(accounts).order_by(accounts.c.id)
        filters = {"stage": stage, "segment": segment, "health": health, "ta": ta}
        for name, value in filters.items():
            if value is not None:
                query = query.where(accounts.c[name] == plain(value))
        with self.engine.connect() as conn:
            return [AccountRecord.of(row) for row in conn.execute(query)]

    def journeys_by_stage_and_health(self) -> dict[tuple[str, str], int]:
        """How many accounts are in each (stage, health), as their journeys last mirrored
        them; pairs with no account are left out."""
        return self.count_pairs(accounts.c.stage, accounts.c.health)

    def engagement_model(self, account_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(accounts.c.model).where(accounts.c.id == account_id)).scalar()

    def find_account(self, account_id: str) -> AccountRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        return None if row is None else AccountRecord.of(row)

    def contacts_of(self, account_ids: Sequence[str]) -> dict[str, list[Contact]]:
        """The account map: each account's contacts, in the order they were written (every
        id asked for is a key; an account without contacts has an empty list)."""
        found: dict[str, list[Contact]] = {account: [] for account in account_ids}
        query = sa.select(contacts.c.account_id, contacts.c.name, contacts.c.email, contacts.c.role, contacts.c.title)
        with self.engine.connect() as conn:
            for chunk in chunks(list(found)):
                rows = conn.execute(query.where(contacts.c.account_id.in_(chunk)).order_by(contacts.c.id))
                for row in rows:
                    found[row.account_id].append(
                        Contact(name=row.name, email=row.email, role=ContactRole(row.role), title=row.title)
                    )
        return found


def write_snapshot(conn: Connection, snapshot: AccountSnapshot, stamp: datetime) -> None:
    """Mirror the journey's view of its account into the account row."""
    values = {name: plain(getattr(snapshot, name)) for name in SNAPSHOT_FIELDS}
    # Only when something differs, so a replayed snapshot does not move updated_at.
    differs = sa.or_(*(accounts.c[name].is_distinct_from(v) for name, v in values.items()))
    conn.execute(
        accounts.update()
        .where(accounts.c.id == snapshot.id, differs)
        .values({**values, "updated_at": stamp})
    )


def _account_values(account: Account) -> Row:
    return {"id": account.id, **{name: plain(getattr(account, name)) for name in ACCOUNT_FIELDS}}


def _contact_keys(account: Account) -> list[ContactKey]:
    return [(c.name, c.email, plain(c.role), c.title) for c in account.contacts]


def _refuse_duplicate_ids(accounts_in: Iterable[Account]) -> None:
    # Two rows for one account in one file is an input error, not "last one wins".
    seen: set[str] = set()
    for account in accounts_in:
        if account.id in seen:
            raise ValueError(f"account {account.id!r} appears more than once")
        seen.add(account.id)


def _load_account_values(conn: Connection, ids: Sequence[str]) -> dict[str, Row]:
    columns = [accounts.c[name] for name in ("id", *ACCOUNT_FIELDS)]
    stored: dict[str, Row] = {}
    for chunk in chunks(ids):
        for row in conn.execute(sa.select(*columns).where(accounts.c.id.in_(chunk))):
            stored[row.id] = dict(row._mapping)
    return stored


def _load_contact_keys(conn: Connection, ids: Sequence[str]) -> dict[str, list[ContactKey]]:
    stored: dict[str, list[ContactKey]] = {}
    query = sa.select(contacts.c.account_id, contacts.c.name, contacts.c.email, contacts.c.role, contacts.c.title)
    for chunk in chunks(ids):
        rows = conn.execute(query.where(contacts.c.account_id.in_(chunk)).order_by(contacts.c.id))
        for row in rows:
            stored.setdefault(row.account_id, []).append((row.name, row.email, row.role, row.title))
    return stored


def _replace_contacts(conn: Connection, rows: list[Account]) -> None:
    # Runs after the account rows are written, whose row locks keep two imports of one
    # account from interleaving their deletes and inserts here.
    ids = sorted(a.id for a in rows)
    for chunk in chunks(ids):
        conn.execute(contacts.delete().where(contacts.c.account_id.in_(chunk)))
    values = [
        {"account_id": a.id, "name": c.name, "email": c.email, "role": plain(c.role), "title": c.title}
        for a in rows
        for c in a.contacts
    ]
    if values:
        conn.execute(contacts.insert(), values)
