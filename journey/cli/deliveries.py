"""`journey deliveries`: the outbox of automated touches, and settling the ones in doubt.

A delivery is `unknown` when its whole message went out and the receiver's answer was
never recorded (see journey.delivery.outbox): it may or may not have arrived, and it is
never resent automatically. A person checks (the Slack channel, the customer's inbox)
and settles it: `mark KEY --sent` when it arrived, `resend KEY` when it did not. A
`skipped` row (a customer email with no customer address) has no one to go to: it is
listed, never sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from journey.cli.common import BadInput, Failure, echo_json, json_option, open_store, table
from journey.domain.effects import DELIVERY_STATUSES

COLUMNS = ["key", "channel", "recipient", "due", "send_after", "status", "attempts", "sent_at", "last_error"]
FIELDS = ["key", "account", "touchpoint", "channel", "recipient", "subject", "due", "send_after", "timezone",
          "status", "attempts", "last_error", "sent_at", "created_at"]
# Rows a person may resend: never confirmed sent, not being sent right now.
RESENDABLE = ("unknown", "failed", "pending")

if TYPE_CHECKING:
    from journey.store.records import OutboxRecord


def _public(record: OutboxRecord) -> dict[str, Any]:
    out = {**record.plain(), "account": record.account_id}
    return {name: out[name] for name in FIELDS}


@click.group(name="deliveries", invoke_without_command=True)
@click.option("--status", "statuses", type=click.Choice(DELIVERY_STATUSES), multiple=True,
              help="Only rows in this status (repeatable).")
@click.option("--in-doubt", is_flag=True, help="Only rows that may or may not have arrived (status unknown).")
@click.option("--account", default=None, help="Only this account's deliveries.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows, newest first.")
@json_option
@click.pass_context
def deliveries(ctx: click.Context, statuses: tuple[str, ...], in_doubt: bool, account: str | None, limit: int, as_json: bool) -> None:
    """List automated touches (Slack posts and emails) and their delivery status."""
    if ctx.invoked_subcommand is not None:
        return
    wanted = set(statuses) | ({"unknown"} if in_doubt else set())
    store = open_store()
    try:
        rows = [_public(r) for r in store.deliveries(statuses=sorted(wanted), account=account, limit=limit)]
    finally:
        store.close()
    if as_json:
        echo_json(rows)
    else:
        table(rows, COLUMNS)


def _rows_for(store: Any, keys: tuple[str, ...], allowed: tuple[str, ...], action: str) -> None:
    """Every key must name a row in an allowed status; otherwise nothing is changed."""
    if len(keys) > 500:
        raise BadInput(f"{len(keys)} keys: give at most 500 at once")
    found = {row.key: row for row in store.deliveries(keys=keys)}
    problems = []
    for key in keys:
        row = found.get(key)
        if row is None:
            problems.append(f"key {key!r}: no such delivery (see `journey deliveries`)")
        elif row.status not in allowed:
            problems.append(f"key {key!r}: status is {row.status}; only {', '.join(allowed)} can be {action}")
    if problems:
        raise BadInput("\n".join(problems))


@deliveries.command(name="mark")
@click.argument("keys", nargs=-1, required=True)
@click.option("--sent", "outcome", flag_value="sent", help="It arrived.")
@click.option("--failed", "outcome", flag_value="failed", help="It did not arrive and should not be resent.")
@click.option("--note", default=None, help="Why (kept as the row's last error).")
def mark_command(keys: tuple[str, ...], outcome: str | None, note: str | None) -> None:
    """Settle deliveries in doubt by hand: KEYS arrived (--sent) or not (--failed)."""
    if outcome is None:
        raise BadInput("--sent or --failed: say what happened to the delivery")
    store = open_store()
    try:
        _rows_for(store, keys, ("unknown",), "settled")
        for key in keys:
            store.mark_delivery(key, outcome, note or f"settled by hand as {outcome}")
    finally:
        store.close()
    click.echo(f"{len(keys)} marked {outcome}")


@deliveries.command(name="resend")
@click.argument("keys", nargs=-1, required=True)
def resend_command(keys: tuple[str, ...]) -> None:
    """Send KEYS again now, through the Slack, SMTP or JOURNEY_OUTBOX_DIR settings of this
    environment; each resend counts one attempt.

    Only rows never confirmed sent (unknown, failed, pending). For one in doubt, check first
    that it did not arrive: a resend of one that did reaches the customer twice."""
    from journey.config import DeliverySettings
    from journey.delivery.outbox import DeliveryFailed, OutboxSender

    store = open_store()
    try:
        _rows_for(store, keys, RESENDABLE, "resent")
        for key in keys:
            store.requeue_delivery(key, RESENDABLE, "resend requested")
        try:
            report = OutboxSender(store, DeliverySettings.from_env()).deliver(list(keys))
        except DeliveryFailed as err:
            raise Failure(f"{err}; the delivery stays pending") from None
        failed = store.deliveries(keys=keys, statuses=["failed"])
    finally:
        store.close()
    click.echo(f"{report.sent} sent")
    if report.waiting:
        click.echo(f"{report.waiting} pending until their send_after (the send window)")
    if failed:
        raise Failure("not sent: " + "; ".join(f"{row.key}: {row.last_error}" for row in failed))
