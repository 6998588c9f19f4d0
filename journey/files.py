"""Reading the CSV files of the interface contract, whole-file-validated before anything is used.

Every problem is reported with its line number (the header is line 1) and field, all at
once, so a TA fixes a file in one pass; nothing is enrolled or written from a bad file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from journey.domain.bounds import Day, Reference
from journey.domain.errors import InputError, PayloadError
from journey.domain.events import EVENT_PAYLOADS, event_name_from_cli, parse_event
from journey.domain.measurements import NpsRow, UsageRow
from journey.domain.models import Account

ACCOUNT_COLUMNS = ("id", "name", "segment", "tier", "seats", "arr", "signed", "renewal", "ta", "ae")
ACCOUNT_OPTIONAL = ("model", "deployment", "production_ready", "onboarding_complete", "timezone", "country")
USAGE_COLUMNS = ("account", "date", "dau", "mau")
NPS_COLUMNS = ("account", "date", "score")
NPS_OPTIONAL = ("respondent",)
EVENT_COLUMNS = ("account", "date", "event", "data")

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: field '{self.field}': {self.message}"


class FileProblems(InputError):
    """A file with problems; `str()` lists them all, one per line, with the file name."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        shown = problems[:50]
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{path}: {len(problems)} problem(s); nothing was written\n"
            + "\n".join(f"{path}:{p}" for p in shown)
            + more
        )


class EventRow(BaseModel):
    account: Reference
    date: Day
    event: str
    data: dict[str, object]


_DAY: TypeAdapter[date] = TypeAdapter(Day)


def _text(path: Path) -> str:
    """The file's text; a file that is not UTF-8 (a BOM is allowed) is refused as a whole."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FileProblems(str(path), [Problem(0, "(file)", err.strerror or str(err))]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            found = "it is UTF-16"
        else:
            found = f"byte 0x{raw[err.start]:02x} on line {_line_of(raw, err.start)} is not UTF-8 (Latin-1 or Windows-1252?)"
        raise _not_utf8(path, found) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        # Text never holds NUL; UTF-16 without a byte-order mark is mostly NUL bytes.
        raise _not_utf8(path, f"it has NUL bytes (from line {_line_of(raw, nul)}), as UTF-16 does")
    return text


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _not_utf8(path: Path, found: str) -> InputError:
    return InputError(
        f"{path}: the file is not UTF-8: {found}. Save it again as UTF-8 "
        "(in a spreadsheet: CSV UTF-8) and retry; nothing was written"
    )


def csv_rows(path: Path, required: Iterable[str], optional: Iterable[str] = ()) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """Rows as (line number, {column: text}), with header problems reported on line 1."""
    problems: list[Problem] = []
    with io.StringIO(_text(path), newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            header = [h.strip() for h in (reader.fieldnames or [])]
        except csv.Error as err:
            return [], [Problem(1, "(file)", f"not readable as CSV: {err}")]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        for column in missing:
            problems.append(Problem(1, column, "required column is missing from the header"))
        known = set(required) | set(optional)
        for column in header:
            if column not in known:
                problems.append(Problem(1, column, f"unknown column (expected {', '.join([*required, *optional])})"))
        if problems:
            return [], problems
        rows = []
        try:
            for row in reader:
                if None in row:
                    problems.append(Problem(reader.line_num, "(row)", "more values than columns"))
                    continue
                if not any((v or "").strip() for v in row.values()):
                    continue
                rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
        except csv.Error as err:  # a value past the CSV module's size limit, say
            # The reader counts the lines it finished; the broken one is the next.
            problems.append(Problem(reader.line_num + 1, "(row)", f"not readable as CSV: {err}; the rest of the file was not read"))
    if not rows and not problems:
        problems.append(Problem(1, "(file)", "no data rows"))
    return rows, problems


def validated_row(model: type[T], line: int, data: Mapping[str, object], problems: list[Problem]) -> T | None:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as err:
        for problem in err.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "(row)"
            problems.append(Problem(line, field, problem["msg"].removeprefix("Value error, ")))
        return None


def read_accounts(path: str | Path) -> list[Account]:
    path = Path(path)
    rows, problems = csv_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL)
    accounts: list[Account] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        data = {k: v for k, v in row.items() if v != "" or k in ACCOUNT_COLUMNS}
        account = validated_row(Account, line, data, problems)
        if account is None:
            continue
        if account.id in first_line:
            problems.append(Problem(line, "id", f"duplicate id {account.id!r} (first on line {first_line[account.id]})"))
            continue
        first_line[account.id] = line
        accounts.append(account)
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return accounts


def _account_or_date_problem(
    line: int, account: str, day: date, known_accounts: set[str] | None, today: date | None
) -> Problem | None:
    """A measurement row must name a known account and must not be dated in the future."""
    if known_accounts is not None and account not in known_accounts:
        return Problem(line, "account", f"unknown account {account!r}")
    if today is not None and day > today:
        return Problem(line, "date", f"{day} is in the future (today is {today})")
    return None


def read_usage(path: str | Path, known_accounts: set[str] | None = None, today: date | None = None) -> list[UsageRow]:
    path = Path(path)
    rows, problems = csv_rows(path, USAGE_COLUMNS)
    usage: list[UsageRow] = []
    seen: dict[tuple[str, date], int] = {}
    for line, row in rows:
        parsed = validated_row(UsageRow, line, dict(row), problems)
        if parsed is None:
            continue
        problem = _account_or_date_problem(line, parsed.account, parsed.date, known_accounts, today)
        if problem is not None:
            problems.append(problem)
            continue
        key = (parsed.account, parsed.date)
        if key in seen:
            problems.append(Problem(line, "date", f"a second row for {parsed.account} on {parsed.date} (first on line {seen[key]})"))
            continue
        seen[key] = line
        usage.append(parsed)
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return usage


def read_nps(path: str | Path, known_accounts: set[str] | None = None, today: date | None = None) -> list[NpsRow]:
    """NPS responses (`account,date,score`, optional `respondent`), all checked first.

    Several rows for one account and day are several answers, not duplicates; a
    respondent answering twice on one day is a duplicate and is refused.
    """
    path = Path(path)
    rows, problems = csv_rows(path, NPS_COLUMNS, NPS_OPTIONAL)
    responses: list[NpsRow] = []
    seen: dict[tuple[str, date, str], int] = {}
    for line, row in rows:
        data: dict[str, object] = {k: v for k, v in row.items() if v != "" or k in NPS_COLUMNS}
        parsed = validated_row(NpsRow, line, data, problems)
        if parsed is None:
            continue
        problem = _account_or_date_problem(line, parsed.account, parsed.date, known_accounts, today)
        if problem is not None:
            problems.append(problem)
            continue
        if parsed.respondent is not None:
            key = (parsed.account, parsed.date, parsed.respondent)
            if key in seen:
                problems.append(Problem(line, "respondent", f"{parsed.respondent!r} answered twice for {parsed.account} on {parsed.date} (first on line {seen[key]})"))
                continue
            seen[key] = line
        responses.append(parsed)
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return responses


def read_events(path: str | Path, known_accounts: set[str] | None = None) -> list[EventRow]:
    path = Path(path)
    rows, problems = csv_rows(path, EVENT_COLUMNS)
    events: list[EventRow] = []
    for line, row in rows:
        name = event_name_from_cli(row["event"])
        if name not in EVENT_PAYLOADS:
            problems.append(Problem(line, "event", f"unknown event {row['event']!r}"))
            continue
        try:
            data = json.loads(row["data"]) if row["data"] else {}
        except json.JSONDecodeError as err:
            problems.append(Problem(line, "data", f"not valid JSON: {err.msg} at column {err.colno}"))
            continue
        except ValueError as err:  # an integer of more digits than Python reads
            problems.append(Problem(line, "data", f"not valid JSON: {err}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(line, "data", "must be a JSON object"))
            continue
        try:
            on = date.fromisoformat(row["date"])
        except ValueError:
            problems.append(Problem(line, "date", f"{row['date']!r} is not a date (YYYY-MM-DD)"))
            continue
        try:
            _DAY.validate_python(on)
        except ValidationError as err:
            problems.append(Problem(line, "date", err.errors()[0]["msg"]))
            continue
        data.setdefault("on", on.isoformat())
        try:
            parse_event(name, data)
        except PayloadError as err:
            problems.append(Problem(line, "data", str(err)))
            continue
        if known_accounts is not None and row["account"] not in known_accounts:
            problems.append(Problem(line, "account", f"unknown account {row['account']!r}"))
            continue
        event_row = validated_row(EventRow, line, {"account": row["account"], "date": on, "event": name, "data": data}, problems)
        if event_row is not None:
            events.append(event_row)
    if problems:
        raise FileProblems(str(path), sorted(problems, key=lambda p: p.line))
    return sorted(events, key=lambda e: e.date)
