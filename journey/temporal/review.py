"""Client side of review before send: `journey deliveries approve|skip`.

A held touch belongs to its journey: the journey approves it (and sends it in its send
window through the worker's Slack and SMTP settings) or drops it, by the
`deliveries_reviewed` update. Every key is checked first against the store (a held row)
and against each journey's own held touches and date (the late grace), so a refusal
changes nothing anywhere; then each journey gets one update with its keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from temporalio.client import Client

from journey.domain import names
from journey.domain.engine.review import MAX_REVIEWED, parse_deliveries_reviewed
from journey.domain.engine.state import LATE_GRACE_DAYS
from journey.domain.errors import InputError
from journey.domain.models import JourneyStatus
from journey.store import Store
from journey.store.records import OutboxRecord
from journey.temporal.journeys import journey_status, send_event

Action = Literal["approve", "skip"]


@dataclass(frozen=True)
class Review:
    """What one `approve` or `skip` does: the held rows it names, by account."""

    action: Action
    rows: list[OutboxRecord]
    by: str
    reason: str | None = None
    late: bool = False

    def accounts(self) -> dict[str, list[str]]:
        by_account: dict[str, list[str]] = {}
        for row in self.rows:
            by_account.setdefault(row.account_id, []).append(row.key)
        return by_account

    def payload(self, keys: list[str]) -> dict[str, object]:
        """The update's payload for one journey, checked as the journey checks it."""
        data: dict[str, object] = {"action": self.action, "keys": keys, "by": self.by}
        if self.reason is not None:
            data["reason"] = self.reason
        if self.late:
            data["late"] = True
        return parse_deliveries_reviewed(data).model_dump(mode="json", exclude_defaults=True)


def held_rows(
    store: Store, action: Action, keys: Sequence[str], *, account: str | None = None, touchpoint: str | None = None
) -> list[OutboxRecord]:
    """The held rows KEYS name, or every held row of `account` / `touchpoint`; `InputError`
    naming each key that is unknown or not held (nothing is changed then)."""
    verb = "approved" if action == "approve" else "skipped"
    if not keys and account is None and touchpoint is None:
        raise InputError(f"keys: name the deliveries to be {verb} (KEY..., --account or --touchpoint)")
    if keys:
        rows = store.deliveries_in(keys, ("held",), verb, "a held delivery")
        for row in rows:
            if (account is not None and row.account_id != account) or (touchpoint is not None and row.touchpoint != touchpoint):
                raise InputError(f"key {row.key!r}: is {row.account_id}'s {row.touchpoint}, not of the --account/--touchpoint given")
        return rows
    rows = store.deliveries(statuses=("held",), account=account, touchpoint=touchpoint)
    if not rows:
        which = " and ".join(f"{name} {value!r}" for name, value in (("account", account), ("touchpoint", touchpoint)) if value)
        raise InputError(f"no delivery of {which} is held for review (see `journey deliveries --status held`)")
    if len(rows) > MAX_REVIEWED:
        raise InputError(f"{len(rows)} held deliveries match; review at most {MAX_REVIEWED} at once (narrow with --touchpoint)")
    return sorted(rows, key=lambda row: row.id)


async def check_journeys(client: Client, review: Review) -> dict[str, JourneyStatus]:
    """Each concerned journey holds the keys and, for an approval, none is past the late
    grace unless `late`: one message naming every problem, before anything is sent."""
    statuses = dict(zip(review.accounts(), await asyncio.gather(*(journey_status(client, a) for a in review.accounts())), strict=True))
    problems = []
    for row in review.rows:
        status = statuses[row.account_id]
        held = {h.key: h for h in status.held_deliveries}
        touch = held.get(row.key)
        if touch is None:
            problems.append(f"key {row.key!r}: the journey of {row.account_id} holds no such touch (reviewed meanwhile?)")
        elif review.action == "approve" and not review.late and (status.today - touch.due).days > LATE_GRACE_DAYS:
            problems.append(
                f"field 'late': {row.key} fell due on {touch.due}, more than {LATE_GRACE_DAYS} days ago: "
                "approve it with --late to send it anyway"
            )
    if problems:
        raise InputError("\n".join(problems))
    return statuses


async def review_held(client: Client, review: Review) -> dict[str, JourneyStatus]:
    """Tell each journey its keys, one journey after the other (checked first)."""
    await check_journeys(client, review)
    told: dict[str, JourneyStatus] = {}
    for account, keys in review.accounts().items():
        told[account] = await send_event(client, account, names.Update.DELIVERIES_REVIEWED, review.payload(keys))
    return told
