"""The bounds of every value that enters a journey: one set of constrained types.

Whatever a validator accepts, the journey, its store and Temporal can process: numbers are
finite and fit the database's columns and the business (seats, ARR, user counts), dates
lie in a range the calendar arithmetic never leaves, and texts are short enough for a
workflow's history and free of control characters that would rewrite a terminal or a
page (ESC sequences, bidirectional overrides). The account, event, measurement and
workflow-input models all build on these, so a CSV row, a CLI option, an update's payload
and a workflow's start input are checked by the same rules.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)

MAX_SEATS = 10_000_000
MAX_ARR = 1e12
# Daily and monthly active users of one account: ten times the most seats an account can
# hold, and well inside a 32-bit INTEGER column on every database.
MAX_ACTIVE_USERS = 100_000_000
# A ratio of measures (utilization is mau / seats, consumption dau / mau): never above
# what the largest count over one seat gives.
MAX_RATIO = float(MAX_ACTIVE_USERS)

NAME_LENGTH = 200
REASON_LENGTH = 2_000
NOTES_LENGTH = 10_000
REFERENCE_LENGTH = 100
EMAIL_LENGTH = 254
MAX_CONTACTS = 50
# The store's accounts.timezone and outbox.timezone columns.
TIMEZONE_LENGTH = 64

# C0 and C1 control characters (DEL too) and the Unicode bidirectional embeddings,
# overrides and isolates, which make text display in another order than it is stored.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL_CHARS = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
# The same but tab, line feed and a carriage return that ends a line (CR LF).
_CONTROL_IN_NOTES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]|\r(?!\n)")


def _refuse(match: re.Match[str] | None) -> None:
    if match is not None:
        raise ValueError(
            f"must not contain control characters (U+{ord(match.group()):04X} at position {match.start() + 1})"
        )


def plain_text(value: str) -> str:
    """One line of text: no control characters at all (no line breaks either)."""
    _refuse(_CONTROL_CHARS.search(value))
    return value


def multiline_text(value: str) -> str:
    """Text that may run over lines: tabs and line feeds (and CR LF) are kept, every other
    control character is refused."""
    _refuse(_CONTROL_IN_NOTES.search(value))
    return value


Day = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE)]
"""A business date: 2000-01-01 to 2100-12-31."""

Tier = Annotated[int, Field(ge=1, le=3)]
Seats = Annotated[int, Field(gt=0, le=MAX_SEATS)]
Money = Annotated[float, Field(ge=0, le=MAX_ARR, allow_inf_nan=False)]
"""An amount such as ARR: finite, 0 to 1e12."""
UserCount = Annotated[int, Field(ge=0, le=MAX_ACTIVE_USERS)]
Ratio = Annotated[float, Field(ge=0, le=MAX_RATIO, allow_inf_nan=False)]
DayCount = Annotated[int, Field(ge=1, le=365)]
"""A number of days a setting lasts or repeats: 1 to 365."""

Name = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(plain_text)]
"""A name of a company, a person, a respondent or an owner's handle: 1-200 characters."""
Reference = Annotated[str, Field(min_length=1, max_length=REFERENCE_LENGTH), AfterValidator(plain_text)]
"""An identifier given by a person (a touchpoint id, an account named in a file)."""
Reason = Annotated[str, Field(min_length=1, max_length=REASON_LENGTH), AfterValidator(plain_text)]
Notes = Annotated[str, Field(max_length=NOTES_LENGTH), AfterValidator(multiline_text)]
Email = Annotated[str, Field(max_length=EMAIL_LENGTH), AfterValidator(plain_text)]
"""An address as given (`Chris <chris@example.com>` too): no line breaks that would add a
header to a message."""
