"""`journey deliveries`: the outbox of automated touches, reviewing the held ones, and
settling the ones in doubt.

A touch of a playbook with `review = true` waits `held`, fully rendered: `show KEY` prints
it as it will be sent, `edit KEY` changes its subject or text, `approve KEY` lets its
journey send it (in its send window, exactly once), `skip KEY --reason` drops it (the
timeline records who did and why).

A delivery is `unknown` when its whole message went out and the receiver's answer was
never recorded (see journey.delivery.outbox): it may or may not have arrived, and it is
never resent automatically. A person checks (the Slack channel, the customer's inbox)
and settles it: `mark KEY --sent` when it arrived, `resend KEY` when it did not. A
`skipped` row (a customer email with no customer address, or dropped in review) has no
one to go to: it is listed, never sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from journey.cli.common import BadInput, Failure, connected, echo_json, json_option, open_store, table
from journey.domain.effects import DELIVERY_STATUSES

COLUMNS = ["key", "channel", "recipient", "due", "send_after", "status", "attempts", "sent_at", "last_error"]
FIELDS = ["key", "account", "touchpoint", "channel", "recipient", "subject", "due", "send_after", "timezone",
          "status", "attempts", "last_error", "sent_at", "created_at", "reviewed_by"]
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
@click.option("--touchpoint", default=None, help="Only this touchpoint's deliveries.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows, newest first.")
@json_option
@click.pass_context
def deliveries(ctx: click.Context, statuses: tuple[str, ...], in_doubt: bool, account: str | None, touchpoint: str | None,
               limit: int, as_json: bool) -> None:
    """List automated touches (Slack posts and emails) and their delivery status; review
    the held ones (show, edit, approve, skip) and settle those in doubt (mark, resend)."""
    if ctx.invoked_subcommand is not None:
        return
    wanted = set(statuses) | ({"unknown"} if in_doubt else set())
    store = open_store()
    try:
        rows = [_public(r) for r in store.deliveries(statuses=sorted(wanted), account=account, touchpoint=touchpoint,
                                                      limit=limit)]
    finally:
        store.close()
    if as_json:
        echo_json(rows)
    else:
        table(rows, COLUMNS)


def _rows_for(store: Any, keys: tuple[str, ...], allowed: tuple[str, ...], action: str) -> None:
    """Every key must name a row in an allowed status; otherwise nothing is changed."""
    store.deliveries_in(keys, allowed, action)


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


# ----- review before send -----

def _by_option(func: Any) -> Any:
    return click.option("--by", default=None, help="Who reviews (default: JOURNEY_USER, else your login name).")(func)


def _selection(func: Any) -> Any:
    func = click.option("--touchpoint", default=None, help="Every held delivery of this touchpoint.")(func)
    func = click.option("--account", default=None, help="Every held delivery of this account.")(func)
    return click.argument("keys", nargs=-1)(func)


@deliveries.command(name="show")
@click.argument("key")
@json_option
def show_command(key: str, as_json: bool) -> None:
    """Print delivery KEY as it will be sent: the email's headers and text, or the Slack post."""
    from journey.config import DeliverySettings
    from journey.delivery.preview import rendered
    from journey.delivery.transport import Rejected

    store = open_store()
    try:
        found = store.deliveries(keys=[key])
    finally:
        store.close()
    if not found:
        raise BadInput(f"key {key!r}: no such delivery (see `journey deliveries`)")
    row = found[0]
    try:
        message = rendered(row, DeliverySettings.from_env())
    except Rejected as err:  # no address to send it to (a skipped row)
        message = f"To: {row.recipient or '(nobody)'} ({err})\nSubject: {row.subject}\n\n{row.body}"
    if as_json:
        echo_json(_public(row) | {"body": row.body, "message": message})
        return
    click.echo(f"{row.key}  {row.status}  ({row.account_id}, {row.touchpoint}, due {row.due}"
               + (f", goes {row.send_after.isoformat()} in {row.timezone}" if row.send_after else "") + ")")
    if row.reviewed_by:
        click.echo(f"reviewed by {row.reviewed_by}")
    click.echo("")
    click.echo(message)


@deliveries.command(name="edit")
@click.argument("key")
@click.option("--subject", default=None, help="The new subject.")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A UTF-8 text file with the new text.")
@_by_option
def edit_command(key: str, subject: str | None, body_file: Path | None, by: str | None) -> None:
    """Change the subject or text of delivery KEY while it is held for review."""
    from journey.cli.broadcast import read_text
    from journey.domain.bounds import NOTES_LENGTH, REASON_LENGTH, multiline_text, plain_text

    if subject is None and body_file is None:
        raise BadInput("--subject or --body-file: say what to change")
    new_subject = new_body = None
    try:
        if subject is not None:
            new_subject = plain_text(subject)
            if not 1 <= len(new_subject) <= REASON_LENGTH:
                raise ValueError(f"must be 1 to {REASON_LENGTH} characters")
    except ValueError as err:
        raise BadInput(f"field 'subject': {err}") from None
    if body_file is not None:
        try:
            new_body = multiline_text(read_text(body_file))
            if not new_body.strip() or len(new_body) > NOTES_LENGTH:
                raise ValueError(f"must be 1 to {NOTES_LENGTH} characters of text")
        except ValueError as err:
            raise BadInput(f"field 'body' ({body_file}): {err}") from None
    store = open_store()
    try:
        _rows_for(store, (key,), ("held",), "edited")
        if not store.edit_held(key, _who(by), subject=new_subject, body=new_body):
            raise BadInput(f"key {key!r}: no longer held (reviewed meanwhile)")
    finally:
        store.close()
    click.echo(f"{key}: edited; `journey deliveries show {key}` prints it as it will be sent")


@deliveries.command(name="approve")
@_selection
@click.option("--late", is_flag=True, help="Send it even though its moment passed more than a week ago.")
@_by_option
@json_option
def approve_command(keys: tuple[str, ...], account: str | None, touchpoint: str | None, late: bool, by: str | None,
                    as_json: bool) -> None:
    """Approve held deliveries (KEYS, or all of --account / --touchpoint): their journeys
    send each once, in its send window."""
    _review("approve", keys, account, touchpoint, _who(by), late=late, as_json=as_json)


@deliveries.command(name="skip")
@_selection
@click.option("--reason", required=True, help="Why it is dropped (recorded on the timeline).")
@_by_option
@json_option
def skip_command(keys: tuple[str, ...], account: str | None, touchpoint: str | None, reason: str, by: str | None,
                 as_json: bool) -> None:
    """Drop held deliveries (KEYS, or all of --account / --touchpoint): never sent, and on
    the timeline with who dropped them and why."""
    _review("skip", keys, account, touchpoint, _who(by), reason=reason, as_json=as_json)


def _who(by: str | None) -> str:
    from journey.config import user_name
    from journey.domain.bounds import NAME_LENGTH, plain_text

    name = user_name() if by is None else by
    try:
        name = plain_text(name)
        if not 1 <= len(name) <= NAME_LENGTH:
            raise ValueError(f"must be 1 to {NAME_LENGTH} characters")
    except ValueError as err:
        raise BadInput(f"field 'by': {err}") from None
    return name


def _review(action: Literal["approve", "skip"], keys: tuple[str, ...], account: str | None, touchpoint: str | None, by: str, *,
            reason: str | None = None, late: bool = False, as_json: bool = False) -> None:
    from journey.temporal.review import Review, held_rows

    store = open_store()
    try:
        rows = held_rows(store, action, keys, account=account, touchpoint=touchpoint)
        review = Review(action, rows, by, reason, late)
        for one in review.accounts().values():
            review.payload(one)  # checked before anything is sent
        _send_review(review)
        after = store.deliveries(keys=[row.key for row in rows])
    finally:
        store.close()
    if as_json:
        echo_json([_public(row) for row in after])
        return
    done = "approved" if action == "approve" else "skipped"
    click.echo(f"{len(rows)} {done} by {by}")
    for row in sorted(after, key=lambda r: r.key):
        goes = f"; goes {row.send_after.isoformat()} ({row.timezone})" if action == "approve" and row.send_after else ""
        click.echo(f"  {row.key}: {row.status}{goes}")


@connected
async def _send_review(client: Any, review: Any) -> None:
    from journey.temporal.review import review_held

    await review_held(client, review)
