"""`journey broadcast`: one standardized message (an incident notice, a product update) to
the chosen contacts of many accounts.

The messages are queued in the outbox by key (`broadcast:ID:ACCOUNT:CONTACT`), with one
timeline row per account, and then sent by this command through the outbox sender, with
the same hand-over and exactly-once rules as every automated touch: a second run with the
same id queues and sends nothing twice, and whatever fails stays in the outbox for
`journey deliveries resend`. A broadcast is the reviewed act itself: it is never held.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journey.cli.common import MODELS, SEGMENTS, BadInput, Failure, echo_json, json_option, open_store, table
from journey.domain import broadcast as bc
from journey.domain.enums import ContactRole, values

if TYPE_CHECKING:
    from journey.domain.effects import Delivery
    from journey.store import Store

# Above this many deliveries a progress bar shows even when stderr is not a terminal.
PROGRESS_ABOVE = 50
# Failed keys named in the error line; the rest are counted.
SHOWN_FAILURES = 10


@click.command(name="broadcast")
@click.option("--id", "broadcast_id", required=True,
              help="The broadcast's id (a slug, e.g. inc-1): running it again with the same id sends nothing twice.")
@click.option("--subject", required=True, help="The subject; may use {account.name}, {contact.name}, {ta}.")
@click.option("--body-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A UTF-8 text file with the body; may use {account.name}, {contact.name}, {ta} ({{ and }} for braces).")
@click.option("--segment", type=click.Choice(SEGMENTS), default=None, help="Every account of this segment.")
@click.option("--model", type=click.Choice(MODELS), default=None, help="Every account of this engagement model.")
@click.option("--ta", default=None, help="Every account of this TA.")
@click.option("--account", "account_ids", multiple=True, help="This account (repeatable).")
@click.option("--accounts", "accounts_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file of account ids, one per line, or a CSV with an `account` column.")
@click.option("--channel", type=click.Choice(["email", "slack"]), default="email", show_default=True,
              help="Send by email or as a Slack post.")
@click.option("--role", type=click.Choice(values(ContactRole)), default=None,
              help="Every contact of this role; default: one per account, the champion, else the admin, else any contact.")
@click.option("--urgent", is_flag=True, help="An incident notice: goes at once, whatever the send windows and caps.")
@click.option("--dry-run", is_flag=True, help="Print the recipients and one rendered message; write and send nothing.")
@json_option
def broadcast(
    broadcast_id: str, subject: str, body_file: Path, segment: str | None, model: str | None, ta: str | None,
    account_ids: tuple[str, ...], accounts_file: Path | None, channel: bc.Channel, role: str | None,
    urgent: bool, dry_run: bool, as_json: bool,
) -> None:
    """Send one standardized message to the chosen contacts of every chosen account.

    Choose the accounts with exactly one of --segment, --model, --ta, --account (repeatable)
    or --accounts FILE; churned accounts are left out. Each message goes through the outbox
    (`journey deliveries`) and is on each account's timeline."""
    bc.check_id(broadcast_id)
    selector = _selector(segment, model, ta, account_ids, accounts_file)
    plan_input = bc.Broadcast(
        id=broadcast_id,
        subject=bc.subject_template(subject),
        body=bc.body_template(read_text(body_file), str(body_file)),
        channel=channel,
        role=ContactRole(role) if role is not None else None,
        urgent=urgent,
    )
    store: Store = open_store()
    try:
        selection = bc.select_accounts(store.list_accounts(), selector)
        ids = [account.id for account in selection.accounts]
        today = date.today()
        plan = bc.plan_broadcast(plan_input, selection.accounts, store.contacts_of(ids), today)
        summary: dict[str, Any] = {
            "id": broadcast_id,
            "channel": channel,
            "urgent": urgent,
            "dry_run": dry_run,
            "accounts": len(selection.accounts),
            "churned": len(selection.churned),
            "no_contact": plan.no_contact,
            "deliveries": len(plan.deliveries),
            "recipients": [
                {"account": d.account, "recipient": d.recipient, "key": d.key} for d in plan.deliveries
            ],
        }
        if dry_run:
            already = store.queued_keys([d.key for d in plan.deliveries])
            summary |= {"queued": 0, "already_queued": len(already), "sent": 0, "failed": 0, "in_doubt": 0, "waiting": 0}
            first = plan.deliveries[0] if plan.deliveries else None
            summary["message"] = (
                None if first is None
                else {"account": first.account, "recipient": first.recipient, "subject": first.subject, "body": first.body}
            )
            _print(summary, as_json)
            return
        deliveries = plan.deliveries if urgent else _placed(store, plan.deliveries)
        already_count = _queue(store, plan, deliveries)
        summary |= {"queued": len(plan.deliveries) - already_count, "already_queued": already_count}
        due_now = [d.key for d in deliveries if d.send_after is None]
        summary |= _send(store, due_now, waiting=len(deliveries) - len(due_now))
        unsent = summary["failed"] or summary["in_doubt"]
        failures = store.deliveries(keys=due_now, statuses=["failed", "unknown"]) if unsent else []
    finally:
        store.close()
    _print(summary, as_json)
    if failures:
        shown = "; ".join(f"{row.key}: {row.status}: {row.last_error}" for row in failures[:SHOWN_FAILURES])
        more = f" (and {len(failures) - SHOWN_FAILURES} more)" if len(failures) > SHOWN_FAILURES else ""
        raise Failure(f"not sent: {shown}{more}; they stay in the outbox: see `journey deliveries --account ACCOUNT` "
                      "and `journey deliveries resend KEY`")


def _selector(
    segment: str | None, model: str | None, ta: str | None, account_ids: tuple[str, ...], accounts_file: Path | None
) -> bc.Selector:
    given = [name for name, value in (("--segment", segment), ("--model", model), ("--ta", ta),
                                      ("--account", account_ids), ("--accounts", accounts_file)) if value]
    if len(given) != 1:
        raise BadInput("choose the accounts with exactly one of --segment, --model, --ta, --account, --accounts"
                       + (f" (got {', '.join(given)})" if given else ""))
    if accounts_file is not None:
        ids, lines = bc.read_account_list(read_text(accounts_file), str(accounts_file))
        return bc.Selector(ids=ids, source=str(accounts_file), lines=lines)
    if account_ids:
        return bc.Selector(ids=tuple(dict.fromkeys(account_ids)))
    return bc.Selector(segment=segment, model=model, ta=ta)


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise BadInput(f"{path}: {err.strerror or err}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: the file is not UTF-8; save it again as UTF-8 and retry") from None


def _placed(store: Store, deliveries: list[Delivery]) -> list[Delivery]:
    """The messages in their accounts' send windows and under their weekly caps per
    contact (a non-urgent broadcast), as each account's playbook says."""
    if not deliveries:
        return deliveries
    from journey.config import playbooks_dir
    from journey.domain.enums import EngagementModel
    from journey.domain.playbook_files import load_playbooks

    books = load_playbooks(playbooks_dir())
    ids = {d.account for d in deliveries}
    models = {row.id: row.model for row in store.list_accounts() if row.id in ids}
    zones = store.account_zones(sorted(ids))
    moment = datetime.now(UTC)
    return [
        bc.placed(d, books.get(EngagementModel(models[d.account])), *zones.get(d.account, (None, None)), moment)
        for d in deliveries
    ]


def _queue(store: Store, plan: bc.BroadcastPlan, deliveries: list[Delivery]) -> int:
    """Queue the plan's `deliveries` in batches (a bar for large ones); returns how many
    were already queued."""
    already = 0
    by_account: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_account.setdefault(delivery.account, []).append(delivery)
    entries = {entry.account: entry for entry in plan.timeline}
    accounts = list(by_account)
    batch = 100
    with _progress(len(plan.deliveries), "Queuing") as bar:
        for start in range(0, len(accounts), batch):
            chunk = accounts[start : start + batch]
            deliveries = [d for account in chunk for d in by_account[account]]
            already += store.queue_broadcast(deliveries, [entries[a] for a in chunk])
            bar.update(len(deliveries))
    return already


def _send(store: Store, keys: list[str], *, waiting: int) -> dict[str, int]:
    """Send the rows due now, once each; a failure stays in the outbox (`failed`, or
    `unknown` when it may have arrived) for `journey deliveries resend`."""
    from journey.config import DeliverySettings
    from journey.delivery.outbox import OutboxSender

    sender = OutboxSender(store, DeliverySettings.from_env())
    with _progress(len(keys), "Sending") as bar:
        # One attempt: there is no sweep behind a broadcast, so what fails for now is
        # `failed` at once instead of `pending` with no one to retry it.
        report = sender.deliver(keys, lambda _key: bar.update(1), last_attempt=1)
    # A message over its contact's weekly cap waits too, for next week's window.
    return {"sent": report.sent, "failed": report.failed, "in_doubt": report.in_doubt, "waiting": waiting + report.waiting}


class _NoBar:
    def update(self, steps: int) -> None:
        pass


@contextmanager
def _progress(length: int, label: str) -> Iterator[Any]:
    stderr = sys.stderr
    if length and (length > PROGRESS_ABOVE or stderr.isatty()):
        with click.progressbar(length=length, label=label, file=stderr) as bar:
            yield bar
    else:
        with nullcontext(_NoBar()) as bar:
            yield bar


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(summary)
        return
    name = f"broadcast {summary['id']}"
    if summary["dry_run"]:
        click.echo(f"{name} (dry run, nothing written or sent): {summary['deliveries']} deliveries to "
                   f"{summary['accounts'] - len(summary['no_contact'])} accounts by {summary['channel']}"
                   + (f", {summary['already_queued']} of them already queued" if summary["already_queued"] else ""))
        table(summary["recipients"], ["account", "recipient", "key"])
        message = summary["message"]
        if message is not None:
            click.echo(f"\nTo: {message['recipient']} ({message['account']})\nSubject: {message['subject']}\n\n{message['body']}")
    else:
        click.echo(f"{name}: {summary['queued']} queued, {summary['already_queued']} already queued; "
                   f"{summary['sent']} sent, {summary['failed']} failed, {summary['in_doubt']} in doubt"
                   + (f", {summary['waiting']} waiting for their send window" if summary["waiting"] else ""))
    if summary["urgent"]:
        click.echo("urgent: send windows and caps ignored")
    if summary["churned"]:
        click.echo(f"{summary['churned']} churned account(s) left out")
    if summary["no_contact"]:
        click.echo(f"no matching contact (nothing sent): {', '.join(summary['no_contact'])}")

