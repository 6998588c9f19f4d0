"""Playbooks: the touchpoints of one engagement model, as validated data.

A playbook file (TOML, one per engagement model, in `playbooks/`) is parsed into a
`Playbook`. The workflow receives it as data and schedules with `journey.schedule`;
nothing here does I/O except `load_playbook` / `load_playbooks`.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journey.models import Deployment, EngagementModel, Health, Stage

Frozen = ConfigDict(extra="forbid", frozen=True)


class Anchor(str, enum.Enum):
    """The date a touchpoint is measured from. `stage_*` anchors are the day the stage was entered."""

    signed = "signed"
    term_start = "term_start"
    kickoff_held = "kickoff_held"
    production_ready = "production_ready"
    onboarding_complete = "onboarding_complete"
    adoption_deadline = "adoption_deadline"
    renewal_date = "renewal_date"
    red = "red"
    stage_kickoff = "stage:kickoff"
    stage_onboarding = "stage:onboarding"
    stage_adoption = "stage:adoption"
    stage_steady = "stage:steady"
    stage_renewal = "stage:renewal"


class OwnerRole(str, enum.Enum):
    ta = "ta"
    ae = "ae"
    value_engineering = "value-engineering"
    manager = "manager"
    automated = "automated"


class Channel(str, enum.Enum):
    task = "task"
    email = "email"
    slack = "slack"


class Every(str, enum.Enum):
    days = "days"
    weeks = "weeks"
    months = "months"
    quarter = "quarter"
    half_year = "half-year"
    year = "year"


class Recurrence(BaseModel):
    """Repeat a touchpoint. `quarter` occurrences fall at each fiscal quarter's start plus
    the touchpoint's offset (a negative offset lands before the quarter starts); the others
    repeat every `interval` units from the anchor plus offset."""

    model_config = Frozen

    every: Every
    interval: int = Field(default=1, ge=1, le=366)
    count: int | None = Field(default=None, ge=1, description="stop after this many occurrences")
    cadence_from_kickoff: bool = Field(
        default=False, description="the check-in cadence chosen at kickoff replaces the interval (in days)"
    )


class Touchpoint(BaseModel):
    model_config = Frozen

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    owner: OwnerRole
    channel: Channel = Channel.task
    customer_facing: bool = False
    anchor: Anchor
    offset_days: int = Field(default=0, ge=-3650, le=3650)
    tier_offset_days: dict[int, int] = Field(default_factory=dict)
    recurrence: Recurrence | None = None
    stages: tuple[Stage, ...] = ()
    tiers: tuple[int, ...] = ()
    health: tuple[Health, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    requires: tuple[Literal["onboarding_complete", "production_ready", "kickoff_held"], ...] = ()
    milestones: tuple[float, ...] = Field(
        default=(), description="utilization milestones (0-1); fires once as each is first reached"
    )
    description: str = ""

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for tier in value:
            if tier not in (1, 2, 3):
                raise ValueError(f"tier {tier} is not 1, 2 or 3")
        return value

    @field_validator("tier_offset_days")
    @classmethod
    def _tier_offsets(cls, value: dict[int, int]) -> dict[int, int]:
        for tier in value:
            if tier not in (1, 2, 3):
                raise ValueError(f"tier {tier} is not 1, 2 or 3")
        return value

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for m in value:
            if not 0 < m <= 2:
                raise ValueError(f"milestone {m} must be a utilization between 0 and 2")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _channel_matches_owner(self) -> Touchpoint:
        automated = self.owner is OwnerRole.automated
        if automated and self.channel is Channel.task:
            raise ValueError("an automated touchpoint needs channel 'email' or 'slack'")
        if not automated and self.channel is not Channel.task:
            raise ValueError(f"owner {self.owner.value!r} is a person: channel must be 'task'")
        if Stage.churned in self.stages or Stage.renewed in self.stages:
            raise ValueError("stages may not include 'renewed' or 'churned'")
        return self

    def offset_for(self, tier: int) -> int:
        return self.tier_offset_days.get(tier, self.offset_days)

    @property
    def automated(self) -> bool:
        return self.owner is OwnerRole.automated


class TaskPolicy(BaseModel):
    model_config = Frozen

    remind_after_days: int = Field(default=3, ge=1, le=365)
    escalate_after_days: int = Field(default=10, ge=1, le=365)
    escalate_to: Literal["ae", "manager"] = "manager"

    @model_validator(mode="after")
    def _order(self) -> TaskPolicy:
        if self.escalate_after_days <= self.remind_after_days:
            raise ValueError("escalate_after_days must be greater than remind_after_days")
        return self


class RedPolicy(BaseModel):
    model_config = Frozen

    follow_up_every_days: int = Field(default=7, ge=1, le=365)
    escalate_after_days: int = Field(default=30, ge=1, le=3650)


class Playbook(BaseModel):
    model_config = Frozen

    model: EngagementModel
    title: str = ""
    fiscal_year_start_month: int = Field(default=2, ge=1, le=12)
    max_customer_touches_per_week: int = Field(default=3, ge=1, le=50)
    check_in_cadence_days: int = Field(default=14, ge=1, le=365)
    adoption_window_days: int = Field(default=60, ge=1, le=365)
    adoption_target: float = Field(default=0.8, gt=0, le=2)
    renewal_window_days: int = Field(default=90, ge=1, le=365)
    tasks: TaskPolicy = TaskPolicy()
    red: RedPolicy = RedPolicy()
    touchpoints: tuple[Touchpoint, ...]

    @field_validator("touchpoints")
    @classmethod
    def _unique_ids(cls, value: tuple[Touchpoint, ...]) -> tuple[Touchpoint, ...]:
        seen: set[str] = set()
        for index, tp in enumerate(value):
            if tp.id in seen:
                raise ValueError(f"duplicate touchpoint id {tp.id!r} at touchpoints[{index}]")
            seen.add(tp.id)
        return value

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        for tp in self.touchpoints:
            if tp.id == touchpoint_id:
                return tp
        return None

    @cached_property
    def version(self) -> str:
        """A content hash: the same playbook always has the same version."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def stage_anchor(stage: Stage) -> Anchor | None:
    try:
        return Anchor(f"stage:{stage.value}")
    except ValueError:
        return None


AnchorDates = dict[str, date]


# --- Loading playbook files -------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookProblem:
    """One thing wrong with a playbook file: where (key path, and line when known) and what."""

    location: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.location}: {self.message}" if self.location else f"{where}: {self.message}"


class PlaybookError(ValueError):
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
                for number, line in enumerate(lines, start=1):
                    if pattern.search(line):
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


def load_playbook(path: str | Path) -> Playbook:
    """Read and validate one playbook file. Raises `PlaybookError` naming the file, the key
    path and (when found) the line of every problem; unknown keys are errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError(path, "", "no such playbook file") from None
    except UnicodeDecodeError as exc:
        raise PlaybookError(path, "", f"not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise PlaybookError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"at line (\d+)", message)
        if found:
            line: int | None = int(found.group(1))
        else:
            line = max(1, len(text.splitlines())) if "end of document" in message else None
        raise PlaybookError(path, "", f"TOML syntax error: {message}", line) from None
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError.from_problems(path, _problems_from_validation(exc, text, data)) from None


def load_playbooks(directory: str | Path | None = None) -> dict[EngagementModel, Playbook]:
    """The playbook of every engagement model, from `<model>.toml` files in `directory`
    (default: the bundled `playbooks/`). Every model must have its file, and each file's
    `model` key must match its name. Raises `PlaybookError` for the first bad file."""
    if directory is None:
        from playbooks import DEFAULT_DIR

        directory = DEFAULT_DIR
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


def compact_json(playbook: Playbook) -> bytes:
    """The playbook as JSON without the fields that hold their default value.

    Reads back as an equal `Playbook` (same version). The `load_playbook` local activity
    returns this: the result lives in every journey's history, and in the worker's memory
    (the SDK keeps the marker command) until the journey next wakes; it is about 40 %
    smaller than the full JSON of the bundled playbooks."""
    return playbook.model_dump_json(exclude_defaults=True).encode()


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook file (the TOML document's structure)."""
    return Playbook.model_json_schema()


_INTERNED: dict[str, Playbook] = {}


def intern_playbook(playbook: Playbook) -> Playbook:
    """The one shared instance of a playbook's content.

    Thousands of journeys in one worker hold the same few playbooks; sharing the
    (frozen) instance keeps each cached journey small. Equal content means equal
    behaviour, so this is safe inside workflows.
    """
    return _INTERNED.setdefault(playbook.version, playbook)
