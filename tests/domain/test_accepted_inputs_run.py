"""Whatever a validator accepts, the journey can process (property-based, no Temporal).

Random payloads go through every update's parsing (each event of `EVENT_PAYLOADS`, the
`metrics` update) and random rows through every CSV reader of `journey.files`. Anything
accepted is then run as a journey would run it: the engine applies it and steps, the
effects and the next run's start input make the round trip through the data converter
(pydantic JSON, as between the workflow and its activities), and the store writes them
(SQLite, through the API the activities use). None of that may raise.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from journey.config import playbooks_dir
from journey.domain.effects import Effects
from journey.domain.engine import Engine
from journey.domain.enums import ContactRole, Deployment, EngagementModel, Health, Segment, values
from journey.domain.errors import InputError, InvalidEvent, PayloadError
from journey.domain.events import EVENT_PAYLOADS, MetricsUpdate, parse_event, parse_metrics
from journey.domain.models import Account, JourneyStatus
from journey.domain.playbook_files import load_playbooks
from journey.files import (
    ACCOUNT_COLUMNS,
    ACCOUNT_OPTIONAL,
    EVENT_COLUMNS,
    NPS_COLUMNS,
    NPS_OPTIONAL,
    USAGE_COLUMNS,
    read_accounts,
    read_events,
    read_nps,
    read_usage,
)
from journey.store import Store
from journey.temporal.converter import data_converter
from workflows.messages import JourneyInput

PLAYBOOKS = load_playbooks(playbooks_dir())
TOUCHPOINTS = sorted({tp.id for playbook in PLAYBOOKS.values() for tp in playbook.touchpoints})
PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ----- values: plausible ones, values at and past every bound, and hostile ones -----

EDGE_NUMBERS = [0, 1, -1, 3, 4, 365, 366, 10_000_000, 10_000_001, 100_000_000, 100_000_001, 2**31, 2**63, 10**23]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1e12, 1e12 + 1, 1e300, float("inf"), float("-inf"), float("nan")]
EDGE_DATES = ["0001-01-01", "1999-12-31", "2000-01-01", "2026-01-05", "2100-12-31", "2101-01-01", "9999-12-31"]
HOSTILE_TEXT = ["", " ", "\x1b[31mred\x1b[0m", "a\u202eb", "a\u2066b", "tab\there", "line\nbreak", "nul\x00", "x" * 201, "x" * 2001, "y" * 10_001, "<img src=x onerror=alert(1)>"]

numbers = st.one_of(st.integers(), st.sampled_from(EDGE_NUMBERS))
floats = st.one_of(st.floats(), st.sampled_from(EDGE_FLOATS))
days = st.one_of(st.dates().map(date.isoformat), st.sampled_from(EDGE_DATES))
texts = st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_TEXT))
words = st.sampled_from(
    [*values(Health), *values(Segment), *values(EngagementModel), *values(Deployment), *values(ContactRole), "renewed", "churned", *TOUCHPOINTS]
)
anything = st.one_of(st.none(), st.booleans(), numbers, floats, days, texts, words)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = anything, one_in: int = 4) -> st.SearchStrategy[Any]:
    """A value from `bad` one time in `one_in`, otherwise from `good` (so that payloads
    and rows get accepted often enough to be run)."""
    return st.integers(1, one_in).flatmap(lambda n: bad if n == 1 else good)


printable = st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=30)
near_days = st.dates(min_value=date(2025, 12, 1), max_value=date(2028, 1, 1)).map(date.isoformat)

# Field name -> values of the kind it holds; every field also gets any value now and then.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "on": mostly(near_days, days),
    "renewal_date": mostly(st.dates(min_value=date(2026, 6, 1), max_value=date(2100, 12, 31)).map(date.isoformat), days),
    "renewal": mostly(near_days, days),
    "check_in_cadence_days": mostly(st.integers(1, 365)),
    "expires_days": mostly(st.integers(1, 365)),
    "seats": mostly(st.integers(1, 10_000_000)),
    "tier": mostly(st.integers(1, 3)),
    "arr": mostly(st.floats(0, 1e12)),
    "utilization": mostly(st.floats(0, 100_000_000)),
    "consumption": mostly(st.floats(0, 2)),
    "color": mostly(st.sampled_from(values(Health))),
    "outcome": mostly(st.sampled_from(["renewed", "churned"])),
    "segment": mostly(st.sampled_from(values(Segment))),
    "model": mostly(st.sampled_from(values(EngagementModel))),
    "touchpoint": mostly(st.sampled_from(TOUCHPOINTS), texts),
    "reason": mostly(printable, texts),
    "notes": mostly(st.one_of(printable, st.just("line one\nline two\twith a tab"), st.just("n" * 10_000)), texts),
}


def payloads(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object for `model`: its required fields, any of the others, now and then an
    unknown one."""
    fields = model.model_fields
    required = {name: PLAUSIBLE.get(name, anything) for name, field in fields.items() if field.is_required()}
    optional = {name: PLAUSIBLE.get(name, anything) for name, field in fields.items() if not field.is_required()}
    known = st.fixed_dictionaries(required, optional=optional)
    return mostly(known, st.tuples(known, anything).map(lambda pair: {**pair[0], "unknown": pair[1]}), one_in=10)


# ----- running what was accepted as the journey would -----

_ids = itertools.count()
TODAYS = [date(2026, 1, 6), date(2026, 4, 1), date(2026, 11, 1), date(2027, 3, 1)]


def fresh_id() -> str:
    """A new account id for every example, so no write is skipped as already done."""
    return f"acct-{next(_ids)}"


def journey(account: Account, today: date) -> Engine:
    """An enrolled journey brought up to `today`, as the workflow's first steps do."""
    engine = Engine.enroll(account, PLAYBOOKS[account.engagement_model], today, chain="p")
    engine.place(today)
    step(engine, today)
    return engine


def step(engine: Engine, today: date) -> None:
    if engine.terminal:
        return
    deadline = engine.adoption_due(today)
    if deadline is not None:
        engine.judge_adoption(0.5)
    engine.advance(today)
    engine.next_wake(today)


def round_trip(value: Any, type_hint: type) -> Any:
    """Through the data converter, as between a workflow, its activities and its next run."""
    payload = data_converter.payload_converter.to_payloads([value])[0]
    return data_converter.payload_converter.from_payloads([payload], [type_hint])[0]


def settle(engine: Engine, today: date, store: Store) -> None:
    """Write what the journey decided, and carry its state to a next run and its status out."""
    effects = round_trip(engine.take_effects(), Effects)
    store.apply_effects(effects)
    engine.take_commands()
    round_trip(JourneyInput(account=engine.s.account, state=engine.s), JourneyInput)
    round_trip(engine.status(today), JourneyStatus)


def stage_account(**overrides: Any) -> Account:
    data: dict[str, Any] = {
        "id": fresh_id(), "name": "Acme", "segment": "strategic", "tier": 1, "seats": 100, "arr": 1000.0,
        "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
    }
    data.update(overrides)
    return Account.model_validate(data)


# Accounts in every stage: kickoff, adoption, steady and renewal (by `today`), one with a
# term ending at the last date there is, and one of the digital model (automated touches).
ACCOUNTS = st.one_of(
    st.builds(lambda: stage_account()),
    st.builds(lambda: stage_account(production_ready=date(2026, 1, 20), onboarding_complete=date(2026, 2, 1))),
    st.builds(lambda: stage_account(segment="commercial", seats=1)),
    st.builds(lambda: stage_account(signed=date(2100, 1, 4), renewal=date(2100, 12, 31))),
)


def today_for(account: Account, pick: int) -> date:
    return max(TODAYS[pick % len(TODAYS)], account.signed + timedelta(days=pick % 400))


@pytest.fixture
def property_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'journey.db'}") as opened:
        yield opened


# ----- every update's validator -----


def drawn_journey(data: st.DataObject, store: Store) -> tuple[Engine, date]:
    """A journey of a drawn account, brought up to a drawn day and written to `store`."""
    account = data.draw(ACCOUNTS, label="account")
    today = today_for(account, data.draw(st.integers(0, 10_000), label="day"))
    engine = journey(account, today)
    settle(engine, today, store)
    return engine, today


@pytest.mark.parametrize("name", sorted(EVENT_PAYLOADS))
@PROPERTY
@given(data=st.data())
def test_every_accepted_event_runs(property_store: Store, name: str, data: st.DataObject) -> None:
    payload = data.draw(payloads(EVENT_PAYLOADS[name]), label="payload")
    try:
        # The object as the workflow decodes it: JSON's 1e999 is already inf here.
        parsed = parse_event(name, payload)
    except PayloadError:
        event("payload refused")
        return
    engine, today = drawn_journey(data, property_store)
    try:
        engine.validate(name, parsed, today)
    except InvalidEvent:
        event("refused by the journey")
        return
    event("applied")
    engine.apply(name, parsed, today)
    step(engine, today)
    settle(engine, today, property_store)


@PROPERTY
@given(data=st.data())
def test_every_accepted_metrics_update_runs(property_store: Store, data: st.DataObject) -> None:
    payload = data.draw(payloads(MetricsUpdate), label="payload")
    try:
        update = parse_metrics(payload)
    except PayloadError:
        event("payload refused")
        return
    engine, today = drawn_journey(data, property_store)
    if update.on is not None and update.on > today:
        return  # refused by the journey's validator (see test_bad_updates)
    event("applied")
    engine.observe_metrics(update.utilization, update.consumption)
    if update.color is not None:
        engine.apply_score(update.color, update.reason or "health score", update.on or today)
    step(engine, today)
    settle(engine, today, property_store)


# ----- every CSV reader -----

bad_cells = st.one_of(texts, words, days, numbers.map(str), floats.map(repr), st.sampled_from(["inf", "1e999", "NaN", "1_000", "\u0661\u0662"]))


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def as_cell(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def rows_of(columns: tuple[str, ...], plausible: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[list[list[str]]]:
    """One to three rows, each cell mostly of its column's kind."""
    row = st.tuples(*(mostly(plausible.get(c, bad_cells), bad_cells, one_in=4 * len(columns)).map(as_cell) for c in columns)).map(list)
    return st.lists(row, min_size=1, max_size=3)


all_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
ACCOUNT_CELLS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.from_regex(r"\A[a-z0-9]{1,8}\Z"),
    "name": printable,
    "segment": st.sampled_from(values(Segment)),
    "tier": st.integers(1, 3),
    "seats": st.integers(1, 10_000_000),
    "arr": st.floats(0, 1e12),
    # Signed in the first half of the range, renewed in the second: mostly in order.
    "signed": st.dates(min_value=date(2000, 1, 1), max_value=date(2050, 1, 1)),
    "renewal": st.dates(min_value=date(2050, 1, 2), max_value=date(2100, 12, 31)),
    "ta": printable,
    "ae": printable,
    "model": st.sampled_from(["", *values(EngagementModel)]),
    "deployment": st.sampled_from(["", *values(Deployment)]),
    "production_ready": st.one_of(st.just(""), all_days),
    "onboarding_complete": st.one_of(st.just(""), all_days),
}
ACCOUNT_HEADER = [*ACCOUNT_COLUMNS, *ACCOUNT_OPTIONAL]
KNOWN = ["acme", "globex"]
MEASUREMENT_CELLS: dict[str, st.SearchStrategy[Any]] = {
    "account": st.sampled_from(KNOWN),
    "date": all_days,
    "dau": st.integers(0, 1_000),
    "mau": st.integers(1_000, 100_000_000),
    "score": st.integers(0, 10),
    "respondent": st.one_of(st.just(""), printable),
}
TODAY = date(2100, 12, 31)


def known_accounts(store: Store) -> None:
    effects = Effects(account="acme")
    for account_id in KNOWN:
        effects.enroll = stage_account(id=account_id)
        store.apply_effects(effects)


@PROPERTY
@given(rows=rows_of(tuple(ACCOUNT_HEADER), ACCOUNT_CELLS))
def test_every_accepted_account_row_runs(property_store: Store, tmp_path: Path, rows: list[list[str]]) -> None:
    try:
        accounts = read_accounts(write_rows(tmp_path / "accounts.csv", ACCOUNT_HEADER, rows))
    except InputError:
        event("file refused")
        return
    event(f"{len(accounts)} accounts accepted")
    for account in accounts:
        today = max(account.signed, date(2026, 6, 1))
        # The start input as `journey import` sends it, read back by the workflow.
        started = round_trip(JourneyInput(account=account.model_copy(update={"id": fresh_id()}), today=today), JourneyInput)
        engine = journey(started.account, today)
        settle(engine, today, property_store)


@PROPERTY
@given(rows=rows_of(USAGE_COLUMNS, MEASUREMENT_CELLS))
def test_every_accepted_usage_row_is_stored(property_store: Store, tmp_path: Path, rows: list[list[str]]) -> None:
    known_accounts(property_store)
    try:
        usage = read_usage(write_rows(tmp_path / "usage.csv", list(USAGE_COLUMNS), rows), known_accounts=set(KNOWN), today=TODAY)
    except InputError:
        event("file refused")
        return
    event("rows accepted")
    property_store.write_usage(usage)
    for row in usage:
        property_store.mau_on(row.account, row.date)


@PROPERTY
@given(rows=rows_of((*NPS_COLUMNS, *NPS_OPTIONAL), MEASUREMENT_CELLS))
def test_every_accepted_nps_row_is_stored(property_store: Store, tmp_path: Path, rows: list[list[str]]) -> None:
    known_accounts(property_store)
    header = [*NPS_COLUMNS, *NPS_OPTIONAL]
    try:
        answers = read_nps(write_rows(tmp_path / "nps.csv", header, rows), known_accounts=set(KNOWN), today=TODAY)
    except InputError:
        event("file refused")
        return
    event("rows accepted")
    property_store.write_nps(answers)


EVENT_CELLS: dict[str, st.SearchStrategy[Any]] = {
    "account": st.sampled_from(KNOWN),
    "date": near_days,
    "event": st.sampled_from(sorted(EVENT_PAYLOADS)),
    "data": st.sampled_from(sorted(EVENT_PAYLOADS)).flatmap(
        lambda event: payloads(EVENT_PAYLOADS[event])
    ).map(json.dumps),
}


@PROPERTY
@given(rows=rows_of(EVENT_COLUMNS, EVENT_CELLS), account=ACCOUNTS)
def test_every_accepted_event_row_runs(property_store: Store, tmp_path: Path, rows: list[list[str]], account: Account) -> None:
    try:
        events = read_events(write_rows(tmp_path / "events.csv", list(EVENT_COLUMNS), rows), known_accounts=set(KNOWN))
    except InputError:
        event("file refused")
        return
    event("rows accepted")
    for row in events:
        today = max(row.date, account.signed)
        engine = journey(account.model_copy(update={"id": fresh_id()}), today)
        parsed = parse_event(row.event, row.data)
        try:
            engine.validate(row.event, parsed, today)
        except InvalidEvent:
            continue
        engine.apply(row.event, parsed, today)
        step(engine, today)
        settle(engine, today, property_store)


@PROPERTY
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-16"))))
def test_any_file_is_read_or_refused_with_its_problems(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(content)
    for reader in (read_accounts, read_usage, read_nps, read_events):
        try:
            reader(path)
        except InputError:
            pass
