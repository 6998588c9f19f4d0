"""The account map from the client side: contacts CSVs read and checked whole, changes sent
to the journeys, and the health score brought up to date when a champion leaves.

The journey decides and writes: its `contacts_changed` update records the change and the
store's `contacts` rows in one batch before it answers, so a refused change (no journey,
an ended one) leaves the store as it was. Every change is worked out here first with the
same merge the journey runs (`journey.domain.engine.contacts.merge`): bad input is refused
before anything is sent, and an import sends nothing for accounts whose contacts are
already as the file says, so importing a file twice changes nothing.

The health sweep scores nightly; the last champion leaving lowers the champion measure
at once: `champion_left_rescore` scores that account now exactly as the sweep does
(`Store.score_accounts`), stores it, and tells the journey when its color changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.health import MAX_REASON_CHARS
from journey.config import health_config_path
from journey.domain import names
from journey.domain.bounds import MAX_CONTACTS, Email, Name, Reference
from journey.domain.engine.contacts import (
    ContactChange,
    ContactsChange,
    champions_gone,
    find_contact,
    has_champion,
    merge,
)
from journey.domain.enums import ContactRole
from journey.domain.errors import InputError, InvalidEvent, NotFound
from journey.domain.events import MetricsUpdate
from journey.domain.health import HealthConfig, ScoredAccount, is_change, load_health_config
from journey.domain.models import Contact, JourneyStatus, Strict
from journey.files import FileProblems, Problem, csv_rows, validated_row
from journey.store import Store
from journey.temporal.errors import JourneyUnavailable
from journey.temporal.journeys import EventRejected, JourneyNotFound, send_event

log = logging.getLogger(__name__)

CONTACT_COLUMNS = ("account", "name", "email", "role")
CONTACT_OPTIONAL = ("title",)
# Journeys changed at a time by an import (each answers in well under a second).
IMPORT_CONCURRENCY = 16


class ContactRow(BaseModel):
    """One row of a contacts CSV."""

    model_config = Strict

    account: Reference
    name: Name
    email: Email | None = None
    role: ContactRole
    title: Name | None = None

    def contact(self) -> Contact:
        return Contact(name=self.name, email=self.email, role=self.role, title=self.title)


@dataclass
class ContactsOutcome:
    """What one change did: the contacts changed, the journey's status after it, and
    whether the last champion left (then the account was scored again)."""

    account: str
    changes: list[ContactChange]
    status: JourneyStatus | None = None
    champion_left: bool = False
    score: int | None = None

    def document(self) -> dict[str, object]:
        return {
            "account": self.account,
            "changes": [c.document() for c in self.changes],
            "champion_left": self.champion_left,
            "health": self.status.health.value if self.status else None,
            "health_score": self.score,
        }


@dataclass
class ContactsImport:
    """What an import did, per account."""

    file: str
    rows: int
    changed: list[ContactsOutcome] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        changes = [c.change for outcome in self.changed for c in outcome.changes]
        return {kind: changes.count(kind) for kind in ("added", "changed", "removed")}

    def document(self) -> dict[str, object]:
        return {
            "file": self.file,
            "rows": self.rows,
            **self.counts(),
            "accounts": [o.account for o in self.changed],
            "unchanged": self.unchanged,
            "champion_left": [o.account for o in self.changed if o.champion_left],
            "failed": self.failed,
        }


# ----- the file -----


def read_contacts(path: str | Path, known_accounts: Collection[str] | None = None) -> list[ContactRow]:
    """A contacts CSV (`account,name,email,role`, optional `title`), every row checked
    before any is used: unknown accounts and roles, empty names, a contact twice in the
    file are reported by line, all at once."""
    return [row for _, row in _read_lines(Path(path), known_accounts)]


def _read_lines(path: Path, known_accounts: Collection[str] | None) -> list[tuple[int, ContactRow]]:
    rows, problems = csv_rows(path, CONTACT_COLUMNS, CONTACT_OPTIONAL)
    found: list[tuple[int, ContactRow]] = []
    seen: dict[str, list[tuple[int, Contact]]] = defaultdict(list)
    for line, row in rows:
        data = {k: v for k, v in row.items() if v != "" or k in ("account", "name", "role")}
        parsed = validated_row(ContactRow, line, data, problems)
        if parsed is None:
            continue
        if known_accounts is not None and parsed.account not in known_accounts:
            problems.append(Problem(line, "account", f"unknown account {parsed.account!r} (enroll it first)"))
            continue
        earlier = seen[parsed.account]
        same = find_contact([c for _, c in earlier], parsed.contact())
        if same is not None:
            column = "email" if parsed.email else "name"
            problems.append(Problem(line, column, f"the same contact as line {earlier[same][0]} for {parsed.account}"))
            continue
        if len(earlier) == MAX_CONTACTS:
            problems.append(Problem(line, "account", f"more than {MAX_CONTACTS} contacts for {parsed.account}"))
            continue
        earlier.append((line, parsed.contact()))
        found.append((line, parsed))
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return found


@dataclass
class ImportPlan:
    """A checked contacts file: per account to change, its first line, the change to send
    and what it will change; the accounts already as the file says."""

    file: str
    rows: int
    changes: dict[str, tuple[int, ContactsChange, list[ContactChange]]]
    unchanged: list[str]


def plan_import(store: Store, path: str | Path, known_accounts: Collection[str] | None = None) -> ImportPlan:
    """Read and check a contacts file against the store (no Temporal needed): every
    problem raises, naming its line, before anything is sent. `known_accounts` replaces
    the store's accounts (e.g. journeys just enrolled whose first step has not written
    their account yet)."""
    path = Path(path)
    lines = _read_lines(path, known_accounts if known_accounts is not None else store.account_ids())
    by_account: dict[str, list[tuple[int, ContactRow]]] = defaultdict(list)
    for line, row in lines:
        by_account[row.account].append((line, row))
    stored = store.contacts_of(sorted(by_account))
    changes: dict[str, tuple[int, ContactsChange, list[ContactChange]]] = {}
    problems: list[Problem] = []
    for account, rows in sorted(by_account.items()):
        change = ContactsChange(add=[row.contact() for _, row in rows])
        try:
            _, changed = merge(stored[account], change, account)
        except InvalidEvent as err:
            problems.append(Problem(rows[0][0], "account", str(err)))
            continue
        if changed:
            changes[account] = (rows[0][0], change, changed)
    if problems:
        raise FileProblems(str(path), problems)
    unchanged = [account for account in sorted(by_account) if account not in changes]
    return ImportPlan(file=str(path), rows=len(lines), changes=changes, unchanged=unchanged)


async def send_import(
    client: Client, plan: ImportPlan, *, progress: Callable[[int], None] | None = None
) -> ContactsImport:
    """Send each account's change to its journey. Every account to change must have a
    running journey, or nothing is sent (the error names the account and its line); a
    journey that refuses its update after that is reported in `failed`."""
    report = ContactsImport(file=plan.file, rows=plan.rows, unchanged=plan.unchanged)
    await _require_running(client, plan)
    limit = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def one(account: str) -> None:
        _, change, changes = plan.changes[account]
        try:
            async with limit:
                status = await send_event(
                    client, account, names.Update.CONTACTS_CHANGED, change.model_dump(mode="json", exclude_none=True)
                )
            report.changed.append(ContactsOutcome(account=account, changes=changes, status=status))
        except (EventRejected, JourneyNotFound, JourneyUnavailable) as err:
            report.failed.append({"account": account, "error": str(err)})
        finally:
            if progress:
                progress(1)

    # Adding contacts never takes a champion away: an import never makes one leave.
    await asyncio.gather(*(one(account) for account in plan.changes))
    report.changed.sort(key=lambda o: o.account)
    report.failed.sort(key=lambda f: f["account"])
    return report


async def import_contacts(
    client: Client, store: Store, path: str | Path, *, known_accounts: Collection[str] | None = None
) -> ContactsImport:
    """`journey contacts import` from Python: add or update every contact of a contacts
    CSV on its account (contacts not in the file stay). Checked whole first (see
    `plan_import`, `send_import`); importing the same file again sends nothing."""
    plan = plan_import(store, path, known_accounts)
    if not plan.changes:
        return ContactsImport(file=plan.file, rows=plan.rows, unchanged=plan.unchanged)
    return await send_import(client, plan)


async def _require_running(client: Client, plan: ImportPlan) -> None:
    limit = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def problem(account: str) -> Problem | None:
        line = plan.changes[account][0]
        handle = client.get_workflow_handle(names.journey_workflow_id(account))
        try:
            async with limit:
                described = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return Problem(line, "account", f"no running journey for account {account!r}")
            raise
        if described.status != WorkflowExecutionStatus.RUNNING:
            state = described.status.name.lower() if described.status else "closed"
            return Problem(line, "account", f"the journey of {account!r} has ended ({state})")
        return None

    found = await asyncio.gather(*(problem(account) for account in plan.changes))
    problems = [p for p in found if p is not None]
    if problems:
        raise FileProblems(plan.file, sorted(problems, key=lambda p: p.line))


# ----- one change -----


@dataclass
class ChangePlan:
    account: str
    change: ContactsChange
    before: list[Contact]
    after: list[Contact]
    changes: list[ContactChange]

    @property
    def champion_leaves(self) -> bool:
        return has_champion(self.before) and bool(champions_gone(self.changes)) and not has_champion(self.after)


def plan_change(store: Store, account: str, change: ContactsChange) -> ChangePlan:
    """Check one change against the store (no Temporal needed): an unknown account, a
    removal that names nobody on file, too many contacts raise here."""
    if store.find_account(account) is None:
        raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
    before = store.contacts_of([account])[account]
    after, changes = merge(before, change, account)
    return ChangePlan(account=account, change=change, before=before, after=after, changes=changes)


async def send_change(
    client: Client, store: Store, plan: ChangePlan, *, config: HealthConfig | None = None
) -> ContactsOutcome:
    """Send the change to the account's journey; a journey that refuses (none, ended)
    raises and the store is unchanged. When the last champion leaves, the account is
    scored again at once."""
    payload = plan.change.model_dump(mode="json", exclude_none=True)
    status = await send_event(client, plan.account, names.Update.CONTACTS_CHANGED, payload)
    outcome = ContactsOutcome(account=plan.account, changes=plan.changes, status=status)
    if plan.champion_leaves:
        outcome.champion_left = True
        rescored = await champion_left_rescore(client, store, [plan.account], status.today, config)
        if plan.account in rescored:
            scored, told = rescored[plan.account]
            outcome.score = scored.score
            outcome.status = told or status
    return outcome


async def change_contacts(
    client: Client, store: Store, account: str, change: ContactsChange, *, config: HealthConfig | None = None
) -> ContactsOutcome:
    """`journey contacts add|remove` from Python."""
    return await send_change(client, store, plan_change(store, account, change), config=config)


# ----- the health score, at once -----


async def champion_left_rescore(
    client: Client, store: Store, accounts: Collection[str], day: date, config: HealthConfig | None = None
) -> dict[str, tuple[ScoredAccount, JourneyStatus | None]]:
    """Score `accounts` on `day` as the health sweep does, store the scores (what
    `journey health-score explain` reads), and send a journey whose color or band the
    score changes the `metrics` update, as the sweep would. Per account: its score, and
    the journey's status when it was told (a journey that cannot be told now hears it
    from the next sweep)."""
    config = config or load_health_config(health_config_path())
    wanted = set(accounts)
    scored = [s for s in await asyncio.to_thread(store.score_accounts, day, config) if s.account in wanted]
    await asyncio.to_thread(store.record_scores, scored)
    found: dict[str, tuple[ScoredAccount, JourneyStatus | None]] = {}
    for result in scored:
        found[result.account] = (result, None)
        if not is_change(result):
            continue
        update = _metrics_of(result)
        try:
            status = await send_event(
                client, result.account, names.Update.METRICS, update.model_dump(mode="json", exclude_none=True)
            )
        except (InputError, NotFound, JourneyUnavailable) as err:
            log.warning("health score of %s not told to its journey: %s", result.account, err)
            continue
        await asyncio.to_thread(store.record_delivered, result.account, update.color, result.band)
        found[result.account] = (result, status)
    return found


def _metrics_of(scored: ScoredAccount) -> MetricsUpdate:
    reason = scored.reason
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return MetricsUpdate(
        on=scored.day,
        utilization=scored.measures.utilization,
        consumption=scored.measures.consumption,
        color=scored.color,
        reason=reason,
    )


def sample_contacts() -> Path:
    """The sample portfolio's account map (journey/data/sample_contacts.csv)."""
    return Path(__file__).resolve().parent.parent / "data" / "sample_contacts.csv"
