"""`journey contacts add|remove|list|import`: the account map.

Every change is checked against the store first (unknown account or role, empty name, a
removal that names nobody, a bad file row: exit 2, nothing sent), then sent to the
account's journey, which records it on the timeline and writes the store's contacts
before it answers; a journey that refuses (none running, ended) leaves the store as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from journey.cli.common import BadInput, Failure, connected, echo_json, json_option, open_store, table
from journey.domain.enums import ContactRole, values


@click.group()
def contacts() -> None:
    """The account map: each account's contacts (champion, economic-buyer, tech-advocate,
    admin). Automated emails go to them; the last champion leaving opens a find-champion
    task and lowers the health score at once."""


@contacts.command(name="add")
@click.argument("account")
@click.option("--name", required=True, help="The contact's full name.")
@click.option("--email", default=None, help="The contact's email address (automated emails go to it).")
@click.option("--role", required=True, type=click.Choice(values(ContactRole)), help="The contact's role on the account.")
@click.option("--title", default=None, help="The contact's job title.")
@json_option
def add(account: str, name: str, email: str | None, role: str, title: str | None, as_json: bool) -> None:
    """Add a contact to ACCOUNT, or update the one on file with that email (else with that
    name and no email): its role, title, an email it did not have."""
    from journey.domain.engine.contacts import ContactsChange
    from journey.domain.models import Contact

    data: dict[str, Any] = {"name": name, "role": role, "email": email, "title": title}
    contact = _checked("contacts add", Contact, {k: v for k, v in data.items() if v is not None})
    _change(account, ContactsChange(add=[contact]), as_json)


@contacts.command(name="remove")
@click.argument("account")
@click.option("--email", default=None, help="Remove the contact with this email address.")
@click.option("--name", default=None, help="Remove the contacts of this name.")
@click.option("--reason", default=None, help="Why (e.g. 'left the company'); on the timeline.")
@json_option
def remove(account: str, email: str | None, name: str | None, reason: str | None, as_json: bool) -> None:
    """Remove a contact from ACCOUNT, by --email or by --name. Removing the last champion
    records champion-left, opens a find-champion task for the TA, scores the account again
    at once, and turns it red when the playbook says champion_left = "red"."""
    from journey.domain.engine.contacts import ContactRef, ContactsChange

    if (email is None) == (name is None):
        raise BadInput("contacts remove: give exactly one of --email and --name")
    ref = _checked("contacts remove", ContactRef, {"email": email} if email is not None else {"name": name})
    change = _checked("contacts remove", ContactsChange, {"remove": [ref], **({"reason": reason} if reason else {})})
    _change(account, change, as_json)


@contacts.command(name="list")
@click.argument("account")
@json_option
def list_contacts(account: str, as_json: bool) -> None:
    """Show ACCOUNT's contacts, in the order they were added."""
    from journey.domain.errors import NotFound

    with open_store() as store:
        if store.find_account(account) is None:
            raise NotFound(f"no account {account!r} in the store (enroll it first, or check the id)")
        found = store.contacts_of([account])[account]
    rows = [{"account": account, **c.model_dump(mode="json")} for c in found]
    if as_json:
        echo_json(rows)
    else:
        table(rows, ["name", "email", "role", "title"])


@contacts.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def import_contacts(file: Path, as_json: bool) -> None:
    """Add or update the contacts of a contacts CSV (account,name,email,role and optional
    title) on their accounts; contacts not in the file stay.

    The whole file is checked first (unknown accounts and roles, empty names, a contact
    twice, an account without a running journey); any problem stops the import with every
    problem listed by line, and nothing is changed. Importing the same file again changes
    nothing.
    """
    from journey.temporal.contacts import ContactsImport, plan_import

    with open_store() as store:
        plan = plan_import(store, file)
    if plan.changes:
        report = _send_import(plan)
    else:
        report = ContactsImport(file=plan.file, rows=plan.rows, unchanged=plan.unchanged)
    if as_json:
        echo_json(report.document())
    else:
        counts = report.counts()
        click.echo(
            f"{report.rows} rows: {counts['added']} added, {counts['changed']} changed; "
            f"{len(report.changed)} accounts changed, {len(report.unchanged)} unchanged"
        )
    if report.failed:
        raise Failure("; ".join(f"{f['account']}: {f['error']}" for f in report.failed))


def _checked(command: str, model: Any, data: dict[str, Any]) -> Any:
    from journey.domain.errors import InputError, describe_validation_error

    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, prefix=f"{command}: ")) from None


def _change(account: str, change: Any, as_json: bool) -> None:
    from journey.temporal.contacts import plan_change

    with open_store() as store:
        plan = plan_change(store, account, change)
        outcome = _send_change(store, plan)
    if as_json:
        echo_json(outcome.document())
        return
    if not outcome.changes:
        click.echo(f"{account}: nothing changed")
    for changed in outcome.changes:
        contact = changed.contact
        address = f" <{contact.email}>" if contact.email else ""
        title = f", {contact.title}" if contact.title else ""
        moved = ""
        if changed.before is not None:
            before = changed.before.model_dump(mode="json")
            moved = " (" + ", ".join(
                f"{k} {before[k] or '-'} -> {v or '-'}" for k, v in contact.model_dump(mode="json").items() if before[k] != v
            ) + ")"
        click.echo(f"{account}: contact {changed.change}: {contact.name}{address} ({contact.role.value}{title}){moved}")
    if outcome.champion_left:
        score = "" if outcome.score is None else f"; health score {outcome.score}"
        health = f"; health {outcome.status.health.value}" if outcome.status else ""
        click.echo(f"{account}: champion left: the TA has a find-champion task{score}{health}")


@connected
async def _send_change(client: Any, store: Any, plan: Any) -> Any:
    from journey.temporal.contacts import send_change

    return await send_change(client, store, plan)


@connected
async def _send_import(client: Any, plan: Any) -> Any:
    from journey.temporal.contacts import send_import

    return await send_import(client, plan)
