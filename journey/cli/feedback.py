"""`journey feedback add|import|list|themes`: product feedback the account teams gather for
the product teams, and the themes it falls into.

Everything is checked before anything is written; an item is identified by its account,
date and text, so importing a file again changes nothing. Themes are compared as stored:
lowercase, single spaces. Feedback without a theme is not ranked among the themes: `themes`
shows it apart, as the triage still to do.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from journey.cli.common import echo_json, json_option, open_store, table, today_option
from journey.domain.errors import InputError, NotFound, describe_validation_error
from journey.domain.numbers import money
from journey.domain.text import one_line

FEEDBACK_COLUMNS = ("account", "date", "text")
FEEDBACK_OPTIONAL = ("theme", "contact")
# Feedback text in a table is cut to this many characters (`--json` keeps all of it).
SHOWN_TEXT = 80

DATE = click.DateTime(formats=["%Y-%m-%d"])


def read_feedback(path: Path, known_accounts: set[str], today: date) -> list[Any]:
    """A feedback CSV (`account,date,text`, optional `theme,contact`), every row checked
    first: FileProblems lists each bad row by line and field, and nothing is used."""
    from journey.files import FileProblems, Problem, csv_rows, validated_row
    from journey.store.book import FeedbackItem

    rows, problems = csv_rows(path, FEEDBACK_COLUMNS, FEEDBACK_OPTIONAL)
    items: list[FeedbackItem] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        data = {k: v for k, v in row.items() if v != "" or k in FEEDBACK_COLUMNS}
        item = validated_row(FeedbackItem, line, data, problems)
        if item is None:
            continue
        if item.account not in known_accounts:
            problems.append(Problem(line, "account", f"unknown account {item.account!r}"))
        elif item.date > today:
            problems.append(Problem(line, "date", f"{item.date} is in the future (today is {today})"))
        elif item.key in first_line:
            problems.append(Problem(line, "text", f"the same feedback of {item.account} on {item.date} as line {first_line[item.key]}"))
        else:
            first_line[item.key] = line
            items.append(item)
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return items


@click.group()
def feedback() -> None:
    """Record product feedback of enrolled accounts and rank its themes for the product teams."""


@feedback.command(name="add")
@click.argument("account")
@click.argument("text")
@click.option("--theme", default=None, help="What it is about (e.g. 'code search speed'); stored lowercase.")
@click.option("--contact", default=None, help="Who raised it.")
@today_option
@json_option
def feedback_add(account: str, text: str, theme: str | None, contact: str | None, on: datetime | None, as_json: bool) -> None:
    """Record one piece of ACCOUNT's product feedback, TEXT as the customer put it.

    The same text for the same account and day is recorded once; adding it again with
    another theme or contact corrects those.
    """
    from journey.store.book import FeedbackItem

    today = date.today()
    day = today if on is None else on.date()
    try:
        item = FeedbackItem.model_validate({"account": account, "date": day, "text": text, "theme": theme, "contact": contact})
    except ValidationError as err:
        message = describe_validation_error(err, prefix="feedback add: ").replace("Value error, ", "")
        raise InputError(message.replace("field 'date'", "field 'on'")) from None
    if item.date > today:
        raise InputError(f"feedback add: field 'on': {item.date} is in the future (today is {today})")
    with open_store() as store:
        if store.find_account(account) is None:
            raise InputError(f"feedback add: field 'account': unknown account {account!r} (enroll it first)")
        counts = store.write_feedback([item])
    document = {"account": item.account, "date": item.date.isoformat(), "key": item.key, "theme": item.theme,
                "contact": item.contact, "text": item.text, **counts.as_dict()}
    if as_json:
        echo_json(document)
    elif counts.inserted:
        click.echo(f"{account}: feedback recorded on {item.date}" + (f" (theme {item.theme})" if item.theme else ""))
    elif counts.updated:
        click.echo(f"{account}: feedback of {item.date} was already recorded; its theme and contact updated")
    else:
        click.echo(f"{account}: this feedback of {item.date} was already recorded; nothing changed")


@feedback.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def feedback_import(file: Path, as_json: bool) -> None:
    """Import a feedback CSV (account,date,text and optional theme,contact).

    The whole file is checked first; any bad row stops the import with every problem
    listed by line and field, and nothing is written. Importing the same file again
    changes nothing; a row already stored with another theme or contact corrects them.
    """
    with open_store() as store:
        items = read_feedback(file, store.account_ids(), date.today())
        counts = store.write_feedback(items)
    if as_json:
        echo_json({"file": str(file), "accounts": len({i.account for i in items}), **counts.as_dict()})
    else:
        click.echo(f"{counts.rows} rows: {counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged")


@feedback.command(name="list")
@click.option("--account", default=None, help="Only this account's feedback.")
@click.option("--theme", default=None, help="Only feedback of this theme.")
@click.option("--since", type=DATE, default=None, help="Only feedback dated on or after this day (YYYY-MM-DD).")
@json_option
def feedback_list(account: str | None, theme: str | None, since: datetime | None, as_json: bool) -> None:
    """List product feedback, oldest first."""
    with open_store() as store:
        if account is not None and store.find_account(account) is None:
            raise NotFound(f"--account: no account {account!r} in the store (enroll it first, or check the id)")
        rows = store.feedback_items(account=account, theme=theme, since=None if since is None else since.date())
    documents = [{"key": r.key, "account": r.account_id, "date": r.date.isoformat(), "theme": r.theme,
                  "contact": r.contact, "text": r.text, "recorded_at": r.recorded_at.isoformat()} for r in rows]
    if as_json:
        echo_json(documents)
    else:
        table([{**d, "text": _shown(d["text"])} for d in documents], ["date", "account", "theme", "contact", "text"])


@feedback.command(name="themes")
@click.option("--since", type=DATE, default=None, help="Only feedback dated on or after this day (YYYY-MM-DD).")
@json_option
def feedback_themes(since: datetime | None, as_json: bool) -> None:
    """Rank feedback themes by how many accounts raised them, then by those accounts' ARR.

    Each theme shows its accounts, their ARR (each account once), the items and the
    latest date. Feedback without a theme is shown apart, not ranked.
    """
    day = None if since is None else since.date()
    with open_store() as store:
        report = store.feedback_themes(since=day)
    if as_json:
        echo_json({"since": None if day is None else day.isoformat(), **report.model_dump(mode="json")})
        return
    table([{**t.model_dump(mode="json"), "theme": one_line(t.theme)} for t in report.themes],
          ["theme", "accounts", "arr", "items", "latest"])
    if report.unthemed is not None:
        u = report.unthemed
        click.echo(f"(no theme, not ranked): {u.items} item(s) from {u.accounts} account(s), ARR {money(u.arr)}, latest {u.latest}")


def _shown(text: str) -> str:
    line = one_line(text)
    return line if len(line) <= SHOWN_TEXT else line[: SHOWN_TEXT - 1] + "…"
