"""The domain's exceptions. The command line maps them once (journey.cli): an
`InputError` or `NotFound` exits with status 2 and its message; nothing was written."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError


class InputError(ValueError):
    """Input that does not fit: a file row, an event payload, a playbook, an argument.
    The message names the field and, where there is one, the row or line."""


class NotFound(LookupError):
    """Something asked for by name or key that does not exist."""


class PayloadError(InputError):
    """An event payload that does not fit its model; the message names every bad field."""


class InvalidEvent(InputError):
    """An event the journey refuses; the message names the stage and what is allowed."""


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, each naming its field: `field 'color': Input should be ...`."""
    problems = []
    for problem in err.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(payload)"
        problems.append(f"{prefix}field '{field}': {problem['msg']}")
    return "; ".join(problems)


T = TypeVar("T")


def parse_payload(name: str, validate: Callable[[object], T], data: object) -> T:
    """An update's JSON object checked by `validate` (a model's or type adapter's
    `validate_python`); `PayloadError` naming `name` and every bad field otherwise."""
    if not isinstance(data, dict):
        raise PayloadError(f"{name}: the payload must be a JSON object, not {type(data).__name__}")
    try:
        return validate(data)
    except ValidationError as err:
        raise PayloadError(f"{name}: {describe_validation_error(err)}") from None
