"""`journey usage record|import` and `journey nps record|import`: measurements into the store.

Everything is checked before anything is written (unknown account, future date, counts
out of range, dau above mau), bad input exits 2 naming the row and field, and a batch is
written in one transaction. Writing the same rows again changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError

from journey.cli.common import echo_json, json_option, open_store

M = TypeVar("M", bound=BaseModel)

# Files at least this long get a progress bar on stderr while they are written.
BIG_FILE_ROWS = 5_000

DATE = click.DateTime(formats=["%Y-%m-%d"])


def _date_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--date", "day", type=DATE, default=None, help="The day (YYYY-MM-DD); default: today.")(func)


def _file_argument(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("file", type=click.Path(dir_okay=False, path_type=Path))(func)


def _one_row(model: type[M], command: str, data: dict[str, Any], store: Any, today: date) -> M:
    """Validate one row given on the command line as the file readers validate a file row."""
    from journey.domain.errors import InputError, describe_validation_error

    try:
        row = model.model_validate(data)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, prefix=f"{command}: ")) from None
    day, account = data["date"], data["account"]
    if day > today:
        raise InputError(f"{command}: field 'date': {day} is in the future (today is {today})")
    if account not in store.account_ids():
        raise InputError(f"{command}: field 'account': unknown account {account!r} (enroll it first)")
    return row


@contextmanager
def _progress(rows: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for big files (stdout stays clean for --json)."""
    if rows < BIG_FILE_ROWS:
        yield None
        return
    with click.progressbar(length=rows, label=label, file=sys.stderr) as bar:
        yield bar.update


def _report(counts: Any, as_json: bool, **extra: Any) -> None:
    document = {**extra, **counts.as_dict()}
    if as_json:
        echo_json(document)
    else:
        click.echo(f"{counts.rows} rows: {counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged")


def _read(reader: Callable[..., list[M]], file: Path, store: Any) -> list[M]:
    return reader(file, known_accounts=store.account_ids(), today=date.today())


def _day(value: datetime | None) -> date:
    return date.today() if value is None else value.date()


# ----- usage -----


@click.group()
def usage() -> None:
    """Record daily product usage (dau, mau) of enrolled accounts."""


@usage.command(name="record")
@click.argument("account")
@_date_option
@click.option("--dau", type=int, required=True, help="Daily active users on that day.")
@click.option("--mau", type=int, required=True, help="The product's rolling monthly active users on that day.")
@json_option
def usage_record(account: str, day: datetime | None, dau: int, mau: int, as_json: bool) -> None:
    """Record (or correct) one day of ACCOUNT's usage."""
    from journey.domain.measurements import UsageRow

    with open_store() as store:
        data = {"account": account, "date": _day(day), "dau": dau, "mau": mau}
        row = _one_row(UsageRow, "usage record", data, store, date.today())
        counts = store.write_usage([row])
    _report(counts, as_json, account=account, date=row.date.isoformat())


@usage.command(name="import")
@_file_argument
@json_option
def usage_import(file: Path, as_json: bool) -> None:
    """Upsert a usage CSV (account,date,dau,mau): one row per account and day.

    The whole file is checked first; any bad row stops the import with every problem
    listed by line and field, and nothing is written. Importing the same file again
    changes nothing; a row for a day already stored replaces it.
    """
    from journey.files import read_usage

    with open_store() as store:
        rows = _read(read_usage, file, store)
        with _progress(len(rows), "writing usage") as progress:
            counts = store.write_usage(rows, progress=progress)
    _report(counts, as_json, file=str(file), accounts=len({r.account for r in rows}))


# ----- nps -----


@click.group()
def nps() -> None:
    """Record NPS survey answers (scores 0-10) of enrolled accounts."""


@nps.command(name="record")
@click.argument("account")
@click.argument("score", type=int)
@_date_option
@click.option("--respondent", default=None, help="Who answered; an answer per respondent and day (recording again replaces it).")
@json_option
def nps_record(account: str, score: int, day: datetime | None, respondent: str | None, as_json: bool) -> None:
    """Record one NPS answer (SCORE 0-10) for ACCOUNT; without --respondent each call adds one."""
    from journey.domain.measurements import NpsRow

    with open_store() as store:
        data = {"account": account, "date": _day(day), "score": score, "respondent": respondent}
        row = _one_row(NpsRow, "nps record", data, store, date.today())
        counts = store.write_nps([row], append=True)
    _report(counts, as_json, account=account, date=row.date.isoformat())


@nps.command(name="import")
@_file_argument
@json_option
def nps_import(file: Path, as_json: bool) -> None:
    """Upsert an NPS CSV (account,date,score and optional respondent).

    The whole file is checked first and nothing is written from a bad file. Importing
    the same file again changes nothing (anonymous answers of one account and day are
    told apart by their order in the file).
    """
    from journey.files import read_nps

    with open_store() as store:
        rows = _read(read_nps, file, store)
        with _progress(len(rows), "writing answers") as progress:
            counts = store.write_nps(rows, progress=progress)
    _report(counts, as_json, file=str(file), accounts=len({r.account for r in rows}))
