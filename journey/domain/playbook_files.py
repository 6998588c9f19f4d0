"""Reading playbook files (and the health-score file) into validated models.

Every problem is reported with the file, the key path and, when it can be found, the
line, so CS ops fix a file in one pass. The caller names the file or directory: the
bundled ones are found through `journey.config`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from journey.domain.enums import EngagementModel
from journey.domain.errors import InputError
from journey.domain.playbook import Playbook, Recurrence, RedPolicy, TaskPolicy, Touchpoint


@dataclass(frozen=True)
class PlaybookProblem:
    """One thing wrong with a playbook file: where (key path, and line when known) and what."""

    location: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.location}: {self.message}" if self.location else f"{where}: {self.message}"


class PlaybookError(InputError):
    """A playbook file that cannot be used. `file`, `location` (a key path such as
    `touchpoints[3] (id 'qbr').recurrence.interval`), `message` and `line` describe the first
    problem; `problems` holds all of them, and `str()` renders one line per problem as
    `{file}:{line}: {location}: {message}` (`{file}: ...` when the line is unknown)."""

    def __init__(
        self,
        file: str | Path,
        location: str,
        message: str,
        line: int | None = None,
        problems: tuple[PlaybookProblem, ...] = (),
    ) -> None:
        self.file = str(file)
        self.location = location
        self.message = message
        self.line = line
        self.problems = problems or (PlaybookProblem(location, message, line),)
        super().__init__(str(self))

    @classmethod
    def from_problems(cls, file: str | Path, problems: list[PlaybookProblem]) -> PlaybookError:
        first = problems[0]
        return cls(file, first.location, first.message, first.line, tuple(problems))

    def __str__(self) -> str:
        return "\n".join(problem.render(self.file) for problem in self.problems)


# The model that holds the keys at a (list-index-free) key path, to name the allowed keys.
_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): Playbook,
    ("tasks",): TaskPolicy,
    ("red",): RedPolicy,
    ("touchpoints",): Touchpoint,
    ("touchpoints", "recurrence"): Recurrence,
}

_TOUCHPOINTS_HEADER = re.compile(r"^\s*\[\[\s*touchpoints\s*\]\]")
_RECURRENCE_HEADER = re.compile(r"^\s*\[\s*touchpoints\s*\.\s*recurrence\s*\]")
_TABLE_HEADER = re.compile(r"^\s*\[")


def _key_line(lines: list[str], start: int, end: int, key: str) -> int | None:
    """1-based number of the first line in lines[start:end] that assigns `key`."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for index in range(start, end):
        if pattern.match(lines[index]):
            return index + 1
    return None


def _table_body(lines: list[str], start: int, end: int, header: re.Pattern[str]) -> tuple[int, int] | None:
    """The lines after a table header in lines[start:end], up to the next header."""
    for index in range(start, end):
        if header.match(lines[index]):
            stop = index + 1
            while stop < end and not _TABLE_HEADER.match(lines[stop]):
                stop += 1
            return index + 1, stop
    return None


def _find_line(text: str, loc: tuple[Any, ...], data: dict[str, Any]) -> int | None:
    """Best-effort line of a key path in the TOML text (None when it cannot be found cheaply)."""
    lines = text.splitlines()
    keys = [part for part in loc if isinstance(part, str)]
    if len(loc) >= 2 and loc[0] == "touchpoints" and isinstance(loc[1], int):
        index = loc[1]
        headers = [i for i, line in enumerate(lines) if _TOUCHPOINTS_HEADER.match(line)]
        rest = [part for part in loc[2:] if isinstance(part, str)]
        if index < len(headers):
            start = headers[index]
            end = headers[index + 1] if index + 1 < len(headers) else len(lines)
            # The touchpoint's own keys come before its first sub-table header.
            own_end = start + 1
            while own_end < end and not _TABLE_HEADER.match(lines[own_end]):
                own_end += 1
            line = None
            if rest and rest[0] == "recurrence" and len(rest) > 1:
                body = _table_body(lines, start + 1, end, _RECURRENCE_HEADER)
                if body:
                    line = _key_line(lines, body[0], body[1], rest[1]) or body[0]
            if line is None and rest:
                line = _key_line(lines, start + 1, own_end, rest[0])
            return line or _key_line(lines, start + 1, own_end, "id") or start + 1
        # Touchpoints written some other way (an inline array): find the `id = "..."` line.
        touchpoints = data.get("touchpoints")
        if isinstance(touchpoints, list) and index < len(touchpoints) and isinstance(touchpoints[index], dict):
            tp_id = touchpoints[index].get("id")
            if isinstance(tp_id, str):
                pattern = re.compile(rf"""\bid\s*=\s*["']{re.escape(tp_id)}["']""")
                for number, text_line in enumerate(lines, start=1):
                    if pattern.search(text_line):
                        return number
        return None
    if not keys:
        return None
    first_table = next((i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)), len(lines))
    if len(keys) >= 2 and keys[0] in ("tasks", "red"):
        body = _table_body(lines, 0, len(lines), re.compile(rf"^\s*\[\s*{keys[0]}\s*\]"))
        if body:
            return _key_line(lines, body[0], body[1], keys[1]) or body[0]
    return _key_line(lines, 0, first_table, keys[0])


def _location(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """`('touchpoints', 3, 'recurrence', 'interval')` -> `touchpoints[3] (id 'qbr').recurrence.interval`."""
    out = ""
    parent: Any = data
    for part in loc:
        if part == "[key]":
            out += " (key)"
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(parent, list) and part < len(parent):
                parent = parent[part]
                if out.startswith("touchpoints[") and out.count("[") == 1 and isinstance(parent, dict):
                    tp_id = parent.get("id")
                    if isinstance(tp_id, str):
                        out += f" (id {tp_id!r})"
            else:
                parent = None
            continue
        out += f".{part}" if out else str(part)
        parent = parent.get(part) if isinstance(parent, dict) else None
    return out


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        model = _MODEL_AT.get(tuple(part for part in loc[:-1] if isinstance(part, str)))
        if model is None:
            return f"unknown key {key!r}"
        allowed = sorted(model.model_fields)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r} (allowed: {', '.join(allowed)}){hint}"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) and kind not in ("value_error", "assertion_error"):
        message += f" (got {value!r})"
    return message


def _problems_from_validation(error: ValidationError, text: str, data: dict[str, Any]) -> list[PlaybookProblem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        message = _message(item, loc)
        line_loc = loc
        # A list-level check (e.g. a duplicate id) names the offending index in its message.
        if loc == ("touchpoints",):
            found = re.search(r"touchpoints\[(\d+)\]", message)
            if found:
                line_loc = ("touchpoints", int(found.group(1)), "id")
        problems.append(PlaybookProblem(_location(loc, data), message, _find_line(text, line_loc, data)))
    # In file order; problems without a line keep their place after those with one.
    return sorted(problems, key=lambda problem: problem.line if problem.line is not None else 1 << 30)


def read_toml(path: Path, error: type[PlaybookError], what: str) -> tuple[str, dict[str, Any]]:
    """The text of a TOML file and what it holds; `error` (naming the file and, for a
    syntax error, the line) when it cannot be read or parsed. `what` names the kind of file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(path, "", f"no such {what} file") from None
    except UnicodeDecodeError as exc:
        raise error(path, "", f"not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise error(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"at line (\d+)", message)
        if found:
            line: int | None = int(found.group(1))
        else:
            line = max(1, len(text.splitlines())) if "end of document" in message else None
        raise error(path, "", f"TOML syntax error: {message}", line) from None


def load_playbook(path: str | Path) -> Playbook:
    """Read and validate one playbook file. Raises `PlaybookError` naming the file, the key
    path and (when found) the line of every problem; unknown keys are errors."""
    path = Path(path)
    text, data = read_toml(path, PlaybookError, "playbook")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError.from_problems(path, _problems_from_validation(exc, text, data)) from None


def load_playbooks(directory: str | Path) -> dict[EngagementModel, Playbook]:
    """The playbook of every engagement model, from `<model>.toml` files in `directory`
    (`journey.config.playbooks_dir()` is the bundled `playbooks/`). Every model must have
    its file, and each file's `model` key must match its name. Raises `PlaybookError` for
    the first bad file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError(directory, "", "no such playbook directory")
    playbooks: dict[EngagementModel, Playbook] = {}
    for model in EngagementModel:
        path = directory / f"{model.value}.toml"
        if not path.is_file():
            raise PlaybookError(path, "", f"missing: every engagement model needs a playbook file ({model.value}.toml)")
        playbook = load_playbook(path)
        if playbook.model is not model:
            text = path.read_text(encoding="utf-8")
            raise PlaybookError(
                path,
                "model",
                f"is {playbook.model.value!r} but the file is the {model.value!r} playbook "
                f"({model.value}.toml must say model = {model.value!r})",
                _find_line(text, ("model",), {}),
            )
        playbooks[model] = playbook
    return playbooks
