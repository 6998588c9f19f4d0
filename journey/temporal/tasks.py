"""Client side of moving open tasks: `journey snooze`, `journey tasks reschedule` and
`journey tasks reassign`.

Each checks the move against the store first (an unknown account, touchpoint or owner, a
day before today: `InputError` / `NotFound`, and nothing is sent), then sends the journey
the `tasks_moved` update; the journey checks it again against its own open tasks, writes
the store's tasks and the timeline rows, and answers with its status. A reassignment goes
to every journey it concerns and is recorded in the store's covers once they all took it.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio.client import Client

from journey.domain import names
from journey.domain.errors import InputError, NotFound
from journey.domain.models import JourneyStatus
from journey.domain.task_moves import MAX_SHIFT_DAYS, parse_tasks_moved
from journey.store import Store
from journey.store.records import TaskRecord
from journey.store.tasks import TaskCover
from journey.temporal.journeys import send_event


def _journey_tasks(store: Store, account: str) -> list[TaskRecord]:
    """The account's open tasks: the journey's and its red-account remediation's (the
    journey tells the remediation to move its own)."""
    if store.find_account(account) is None:
        raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
    return store.tasks(account=account)


def _payload(data: dict[str, object]) -> dict[str, object]:
    """The update's payload, checked as the journey checks it (field named on refusal)."""
    clean = {k: v for k, v in data.items() if v is not None}
    return parse_tasks_moved(clean).model_dump(mode="json", exclude_none=True)


def check_snooze(store: Store, account: str, touchpoint: str, until: date, today: date,
                 reason: str | None = None) -> dict[str, object]:
    if until < today:
        raise InputError(f"field 'until': {until} is before today ({today})")
    open_ = [t for t in _journey_tasks(store, account) if t.touchpoint == touchpoint]
    if not open_:
        raise InputError(f"field 'touchpoint': {account} has no open task {touchpoint!r}")
    return _payload({"kind": "snooze", "touchpoint": touchpoint, "until": until.isoformat(), "reason": reason})


def check_reschedule(store: Store, account: str, days: int, today: date,
                     reason: str | None = None) -> dict[str, object]:
    if days == 0 or abs(days) > MAX_SHIFT_DAYS:
        raise InputError(f"field 'by': {days} days (give a number of days from -{MAX_SHIFT_DAYS} to {MAX_SHIFT_DAYS}, not 0)")
    open_ = _journey_tasks(store, account)
    if not open_:
        raise InputError(f"field 'account': {account} has no open tasks to reschedule")
    for task in open_:
        due = task.due + timedelta(days=days)
        if due < today:
            raise InputError(f"field 'by': task {task.touchpoint} ({task.key}) "
                             f"would be due {due}, before today ({today})")
    return _payload({"kind": "reschedule", "days": days, "reason": reason})


def check_reassign(store: Store, owner: str, to: str, until: date | None, account: str | None, today: date,
                   reason: str | None = None) -> tuple[list[str], dict[str, object]]:
    """The accounts a reassignment concerns, and the payload each journey gets."""
    if owner == to:
        raise InputError(f"field 'to': {to!r} is the owner already")
    if until is not None and until < today:
        raise InputError(f"field 'until': {until} is before today ({today})")
    if account is not None and store.find_account(account) is None:
        raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
    concerned = store.accounts_of_owner(owner, account)
    if not concerned:
        where = f" of {account}" if account else ""
        raise InputError(f"field 'from': {owner!r} owns no open task{where} and is no account's TA or AE")
    payload = _payload({"kind": "reassign", "owner": owner, "to": to,
                        "until": until.isoformat() if until else None, "reason": reason})
    return concerned, payload


async def send_moves(client: Client, accounts: list[str], payload: dict[str, object]) -> dict[str, JourneyStatus]:
    """Send checked `tasks_moved` payloads, one journey after the other; the first that
    refuses stops it (those before it keep the change), its message naming who took it."""
    told: dict[str, JourneyStatus] = {}
    for one in accounts:
        try:
            told[one] = await send_event(client, one, names.Update.TASKS_MOVED, payload)
        except (InputError, NotFound) as err:
            done = f" (already handed over: {', '.join(told)})" if told else ""
            raise type(err)(f"{err}{done}") from None
    return told


def record_cover(store: Store, owner: str, to: str, today: date, until: date | None, account: str | None) -> None:
    store.add_task_cover(TaskCover(owner=owner, cover=to, account=account, from_on=today, until=until))


async def snooze(client: Client, store: Store, account: str, touchpoint: str, until: date, today: date,
                 reason: str | None = None) -> JourneyStatus:
    """`journey snooze` from Python."""
    payload = await asyncio.to_thread(check_snooze, store, account, touchpoint, until, today, reason)
    return await send_event(client, account, names.Update.TASKS_MOVED, payload)


async def reschedule(client: Client, store: Store, account: str, days: int, today: date,
                     reason: str | None = None) -> JourneyStatus:
    """`journey tasks reschedule` from Python."""
    payload = await asyncio.to_thread(check_reschedule, store, account, days, today, reason)
    return await send_event(client, account, names.Update.TASKS_MOVED, payload)


async def reassign(client: Client, store: Store, owner: str, to: str, today: date, *, until: date | None = None,
                   account: str | None = None, reason: str | None = None) -> dict[str, JourneyStatus]:
    """`journey tasks reassign` from Python: hand `owner`'s open tasks, and the new ones
    while the cover holds, to `to`; the cover is recorded once every journey took it."""
    concerned, payload = await asyncio.to_thread(check_reassign, store, owner, to, until, account, today, reason)
    told = await send_moves(client, concerned, payload)
    await asyncio.to_thread(record_cover, store, owner, to, today, until, account)
    return told
