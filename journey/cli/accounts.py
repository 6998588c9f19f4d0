"""`journey enroll` and `journey import`: accounts in, journeys started."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from journey.cli.common import MODELS, SEGMENTS, BadInput, connected, echo_json, json_option
from journey.domain.enums import Deployment, values


@click.command()
@click.option("--id", "account_id", required=True, help="Account id (a slug: lowercase, digits, dashes).")
@click.option("--name", required=True, help="Account name.")
@click.option("--segment", required=True, type=click.Choice(SEGMENTS), help="Customer segment.")
@click.option("--tier", required=True, type=int, help="Tier 1-3.")
@click.option("--seats", required=True, type=int, help="Licensed seats.")
@click.option("--arr", required=True, type=float, help="Annual recurring revenue.")
@click.option("--signed", required=True, help="Contract signed date, YYYY-MM-DD.")
@click.option("--renewal", required=True, help="Renewal date, YYYY-MM-DD.")
@click.option("--ta", required=True, help="Technical Advisor.")
@click.option("--ae", required=True, help="Account Executive.")
@click.option("--model", type=click.Choice(MODELS), default=None, help="Engagement model (default from segment).")
@click.option("--deployment", type=click.Choice(values(Deployment)), default=Deployment.cloud.value, show_default=True)
@click.option("--production-ready", default=None, help="Date production infrastructure was established.")
@click.option("--onboarding-complete", default=None, help="Date user onboarding completed.")
@click.option("--timezone", default=None, help="The account's IANA timezone for send windows, such as Asia/Tokyo (default: the playbook's, else UTC).")
@click.option("--country", default=None, help="ISO 3166-1 alpha-2 country whose public holidays no automated touch goes out on, such as JP.")
@click.option("--contact", "contacts", multiple=True, metavar="ROLE:NAME[:EMAIL]", help="A contact (champion, economic-buyer, tech-advocate, admin); repeatable.")
@json_option
def enroll(account_id: str, contacts: tuple[str, ...], as_json: bool, **fields: Any) -> None:
    """Enroll one account: its journey starts at once, in the stage its dates say."""
    from journey.domain.models import Account

    data = {"id": account_id, **{k: v for k, v in fields.items() if v is not None}}
    parsed_contacts = []
    for index, text in enumerate(contacts, 1):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise BadInput(f"--contact #{index}: expected ROLE:NAME or ROLE:NAME:EMAIL, got {text!r}")
        parsed_contacts.append({"role": parts[0], "name": parts[1], **({"email": parts[2]} if len(parts) == 3 else {})})
    data["contacts"] = parsed_contacts
    account = Account.model_validate(data)
    started = _enroll([account])
    if as_json:
        echo_json({"account": account.id, "enrolled": bool(started.started)})
    elif started.started:
        click.echo(f"enrolled {account.id} ({account.engagement_model.value}); journey-{account.id}")
    else:
        click.echo(f"{account.id} already has a journey; nothing changed")


@connected
async def _enroll(client: Any, accounts: list[Any], progress: bool = False) -> Any:
    from journey.config import team_from_env
    from journey.temporal.journeys import enroll_many

    team = team_from_env()
    if not progress:
        return await enroll_many(client, accounts, team=team)
    with click.progressbar(length=len(accounts), label="enrolling", file=sys.stderr) as bar:
        return await enroll_many(client, accounts, team=team, progress=bar.update)


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def import_accounts(file: Path, as_json: bool) -> None:
    """Enroll every account of an accounts CSV (id,name,segment,tier,seats,arr,signed,renewal,ta,ae
    and optional model,deployment,production_ready,onboarding_complete,timezone,country).

    The whole file is checked first; any bad row stops the import with every problem
    listed by line, and nothing is enrolled. Importing the same file again changes nothing.
    """
    from journey.files import read_accounts

    accounts = read_accounts(file)
    report = _enroll(accounts, progress=not as_json)
    if as_json:
        echo_json({"enrolled": report.started, "already_enrolled": report.existing})
    else:
        click.echo(f"{len(report.started)} enrolled, {len(report.existing)} already enrolled")
