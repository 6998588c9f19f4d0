"""`journey usage`, `journey nps` and `journey kpis` in process, against JOURNEY_HOME's store.

Ingestion is checked whole before anything is written: every bad row exits 2 naming its
line and field and leaves the store as it was; writing the same rows again changes
nothing. `kpis --json` is compared with values worked out by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from freezegun import freeze_time

# Imported before any test freezes time: a pydantic model defined while freezegun has
# replaced `datetime.date` would be built on its fake class.
import journey.cli.kpis  # noqa: F401
import journey.cli.usage  # noqa: F401
import journey.files  # noqa: F401
import journey.store.usage  # noqa: F401
from journey.store import Store
from journey.store.schema import nps_responses, usage
from tests.helpers.portfolio import account, build_portfolio

TODAY = "2025-06-30"


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    """JOURNEY_HOME's store with two enrolled accounts, acme and globex."""
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([account("acme", seats=200), account("globex", seats=50)])
        yield store


def rows_of(store: Store, table: sa.Table) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_exit_2(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, f"{piece!r} not in:\n{result.output}"


# ----- usage record -----


@freeze_time(TODAY)
def test_usage_record_inserts_then_changes_nothing_then_updates(invoke: Callable[..., Result], home_store: Store) -> None:
    args = ("usage", "record", "acme", "--date", "2025-06-29", "--dau", "40", "--mau", "160", "--json")
    assert as_json(invoke(*args)) == {
        "account": "acme", "date": "2025-06-29", "rows": 1, "inserted": 1, "updated": 0, "unchanged": 0,
    }
    assert as_json(invoke(*args))["unchanged"] == 1
    changed = as_json(invoke("usage", "record", "acme", "--date", "2025-06-29", "--dau", "41", "--mau", "160", "--json"))
    assert (changed["inserted"], changed["updated"]) == (0, 1)
    assert rows_of(home_store, usage) == [("acme", date(2025, 6, 29), 41, 160)]


@freeze_time(TODAY)
def test_usage_record_defaults_to_today(invoke: Callable[..., Result], home_store: Store) -> None:
    result = invoke("usage", "record", "globex", "--dau", "1", "--mau", "2")
    assert result.exit_code == 0, result.output
    assert "1 inserted" in result.output
    assert rows_of(home_store, usage) == [("globex", date(2025, 6, 30), 1, 2)]


@freeze_time(TODAY)
@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        pytest.param(("nobody", "--dau", "1", "--mau", "2"), ("field 'account'", "unknown account 'nobody'"), id="unknown-account"),
        pytest.param(("acme", "--dau", "9", "--mau", "5"), ("field 'dau'", "dau 9 is greater than mau 5"), id="dau-above-mau"),
        pytest.param(("acme", "--dau", "-1", "--mau", "5"), ("field 'dau'", "greater than or equal to 0"), id="negative-dau"),
        pytest.param(("acme", "--dau", "0", "--mau", "-5"), ("field 'mau'", "greater than or equal to 0"), id="negative-mau"),
        pytest.param(("acme", "--date", "2025-07-01", "--dau", "1", "--mau", "2"), ("field 'date'", "in the future"), id="future-date"),
        pytest.param(("acme", "--date", "2025-02-30", "--dau", "1", "--mau", "2"), ("--date",), id="not-a-date"),
    ],
)
def test_usage_record_refuses_bad_input(invoke: Callable[..., Result], home_store: Store, args: tuple[str, ...], pieces: tuple[str, ...]) -> None:
    assert_exit_2(invoke("usage", "record", *args), *pieces)
    assert rows_of(home_store, usage) == []


# ----- usage import -----

USAGE_HEADER = "account,date,dau,mau"
GOOD_USAGE = ("acme,2025-06-01,10,100", "acme,2025-06-02,12,101", "globex,2025-06-01,3,20")


@freeze_time(TODAY)
def test_usage_import_twice_changes_nothing(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "usage.csv", USAGE_HEADER, *GOOD_USAGE)
    first = as_json(invoke("usage", "import", str(path), "--json"))
    assert first == {"file": str(path), "accounts": 2, "rows": 3, "inserted": 3, "updated": 0, "unchanged": 0}
    stored = rows_of(home_store, usage)
    second = as_json(invoke("usage", "import", str(path), "--json"))
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert rows_of(home_store, usage) == stored
    # A corrected file replaces the days it repeats and adds the new ones.
    fixed = write(tmp_path, "fixed.csv", USAGE_HEADER, "acme,2025-06-02,13,101", "acme,2025-06-03,1,102")
    third = as_json(invoke("usage", "import", str(fixed), "--json"))
    assert (third["inserted"], third["updated"], third["unchanged"]) == (1, 1, 0)
    assert ("acme", date(2025, 6, 2), 13, 101) in rows_of(home_store, usage)


@freeze_time(TODAY)
@pytest.mark.parametrize(
    ("bad", "field", "detail"),
    [
        pytest.param("nobody,2025-06-01,1,2", "account", "unknown account 'nobody'", id="unknown-account"),
        pytest.param("acme,2025-06-05,30,20", "dau", "dau 30 is greater than mau 20", id="dau-above-mau"),
        pytest.param("acme,2025-06-05,-1,20", "dau", "greater than or equal to 0", id="negative-dau"),
        pytest.param("acme,2025-06-05,1,-20", "mau", "greater than or equal to 0", id="negative-mau"),
        pytest.param("acme,2025-07-01,1,2", "date", "in the future", id="future-date"),
        pytest.param("acme,06/05/2025,1,2", "date", "", id="not-a-date"),
        pytest.param("acme,2025-06-01,1,2", "date", "a second row for acme on 2025-06-01", id="duplicate-day"),
    ],
)
def test_usage_import_refuses_a_bad_row_and_writes_nothing(
    invoke: Callable[..., Result], home_store: Store, tmp_path: Path, bad: str, field: str, detail: str
) -> None:
    # Good rows first: the bad one on line 5 must stop them too.
    path = write(tmp_path, "usage.csv", USAGE_HEADER, *GOOD_USAGE, bad)
    assert_exit_2(invoke("usage", "import", str(path), "--json"), f"line 5: field '{field}'", detail, "nothing was written")
    assert rows_of(home_store, usage) == []


def test_usage_import_refuses_a_bad_header(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "usage.csv", "account,date,dau", "acme,2025-06-01,1")
    assert_exit_2(invoke("usage", "import", str(path)), "line 1: field 'mau'", "missing")
    assert rows_of(home_store, usage) == []


@freeze_time(TODAY)
def test_usage_import_of_a_big_file_shows_progress_on_stderr(
    invoke: Callable[..., Result], home_store: Store, tmp_path: Path
) -> None:
    lines = [f"acme,{date.fromordinal(date(2000, 1, 1).toordinal() + n).isoformat()},1,2" for n in range(6000)]
    path = write(tmp_path, "big.csv", USAGE_HEADER, *lines)
    result = invoke("usage", "import", str(path), "--json")
    assert as_json(result)["inserted"] == 6000  # stdout is only the JSON document
    assert "writing usage" in result.stderr
    assert len(rows_of(home_store, usage)) == 6000


# ----- nps -----


@freeze_time(TODAY)
def test_nps_record_appends_anonymous_answers_and_replaces_a_respondents(
    invoke: Callable[..., Result], home_store: Store
) -> None:
    for _ in range(2):
        assert as_json(invoke("nps", "record", "acme", "9", "--date", "2025-06-01", "--json"))["inserted"] == 1
    by_ana = ("nps", "record", "acme", "3", "--date", "2025-06-01", "--respondent", "ana", "--json")
    assert as_json(invoke(*by_ana))["inserted"] == 1
    assert as_json(invoke(*by_ana))["unchanged"] == 1
    again = as_json(invoke("nps", "record", "acme", "4", "--date", "2025-06-01", "--respondent", "ana", "--json"))
    assert again["updated"] == 1
    scores = sorted((row[4], row[5]) for row in rows_of(home_store, nps_responses))
    assert scores == [(4, "ana"), (9, None), (9, None)]


@freeze_time(TODAY)
@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        pytest.param(("acme", "11"), ("field 'score'", "less than or equal to 10"), id="score-11"),
        pytest.param(("acme", "--", "-1"), ("field 'score'", "greater than or equal to 0"), id="score-negative"),
        pytest.param(("nobody", "9"), ("field 'account'", "unknown account"), id="unknown-account"),
        pytest.param(("acme", "9", "--date", "2025-07-01"), ("field 'date'", "in the future"), id="future-date"),
    ],
)
def test_nps_record_refuses_bad_input(invoke: Callable[..., Result], home_store: Store, args: tuple[str, ...], pieces: tuple[str, ...]) -> None:
    assert_exit_2(invoke("nps", "record", *args), *pieces)
    assert rows_of(home_store, nps_responses) == []


@freeze_time(TODAY)
def test_nps_import_twice_changes_nothing(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    # Two anonymous answers for acme on one day are two answers, not a duplicate.
    path = write(tmp_path, "nps.csv", "account,date,score", "acme,2025-06-01,10", "acme,2025-06-01,2", "globex,2025-06-02,7")
    assert as_json(invoke("nps", "import", str(path), "--json"))["inserted"] == 3
    stored = rows_of(home_store, nps_responses)
    second = as_json(invoke("nps", "import", str(path), "--json"))
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert rows_of(home_store, nps_responses) == stored


@freeze_time(TODAY)
@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param("acme,2025-06-01,11", "score", id="score-11"),
        pytest.param("nobody,2025-06-01,5", "account", id="unknown-account"),
        pytest.param("acme,2025-07-01,5", "date", id="future-date"),
    ],
)
def test_nps_import_refuses_a_bad_row_and_writes_nothing(
    invoke: Callable[..., Result], home_store: Store, tmp_path: Path, bad: str, field: str
) -> None:
    path = write(tmp_path, "nps.csv", "account,date,score", "acme,2025-06-01,10", bad)
    assert_exit_2(invoke("nps", "import", str(path)), f"line 3: field '{field}'")
    assert rows_of(home_store, nps_responses) == []


# ----- kpis -----


@pytest.fixture
def portfolio(journey_home: Path) -> None:
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        build_portfolio(store)


def rounded(document: dict[str, Any], *fields: str) -> tuple[Any, ...]:
    return tuple(round(document[f], 4) if isinstance(document[f], float) else document[f] for f in fields)


FIELDS = ("accounts", "adoption", "mean_consumption", "gross_retention", "net_retention", "nps", "renewal_rate")


def test_kpis_json_by_hand(invoke: Callable[..., Result], portfolio: None) -> None:
    # The dataset and the arithmetic: tests/journey/test_metrics.py::build_portfolio.
    document = as_json(invoke("kpis", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "segment", "--json"))
    assert (document["from"], document["to"], document["by"]) == ("2025-01-01", "2025-12-31", "segment")
    # adoption 1/3; consumption (0.5 + 0.4)/2; GRR (190-50-10)/190; NRR 150/190; NPS 100*(3-2)/7; renewals 2/3
    assert rounded(document["total"], *FIELDS) == (3, 0.3333, 0.45, 0.6842, 0.7895, 14.2857, 0.6667)
    groups = {g["segment"]: rounded(g, *FIELDS) for g in document["groups"]}
    assert groups == {
        "commercial": (2, 0.0, 0.4, 0.75, 0.75, -33.3333, 1.0),
        "large-enterprise": (0, None, None, None, None, None, None),
        "strategic": (1, 1.0, 0.5, 0.6667, 0.8, 50.0, 0.5),
    }


def test_kpis_by_model_and_ta(invoke: Callable[..., Result], portfolio: None) -> None:
    by_ta = as_json(invoke("kpis", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "ta", "--json"))
    # tara: alpha, beta, eps; tom: gamma, delta
    assert {g["ta"]: g["accounts"] for g in by_ta["groups"]} == {"tara": 1, "tom": 2}
    by_model = as_json(invoke("kpis", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "model", "--json"))
    assert {g["model"] for g in by_model["groups"]} == {"enterprise", "digital"}


@freeze_time("2026-01-01")
def test_kpis_default_period_and_table(invoke: Callable[..., Result], portfolio: None) -> None:
    document = as_json(invoke("kpis", "--json"))
    assert (document["from"], document["to"], document["groups"]) == ("2025-01-01", "2026-01-01", [])
    result = invoke("kpis", "--by", "segment")
    assert result.exit_code == 0, result.output
    assert "GROUP" in result.output and "strategic" in result.output and "(all)" in result.output


def test_kpis_refuses_a_backwards_period(invoke: Callable[..., Result], portfolio: None) -> None:
    assert_exit_2(invoke("kpis", "--from", "2025-12-31", "--to", "2025-01-01"), "--from")


# ----- status -----


def test_status_metrics_match_the_definitions(journey_home: Path, portfolio: None) -> None:
    """`journey status --json` merges account_metrics on the status's `today` and seats."""
    from journey.cli.journeys import _status_document
    from journey.domain.models import JourneyStatus

    status = JourneyStatus.model_validate(
        {
            "account": "alpha", "name": "Alpha", "stage": "steady", "health": "green", "segment": "strategic",
            "tier": 1, "engagement_model": "enterprise", "ta": "tara", "ae": "alex", "seats": 200,
            "arr": 120_000.0, "signed": "2024-06-01", "renewal_date": "2026-06-01", "term": 2,
            "today": "2025-12-31", "utilization": 0.1, "consumption": 0.1,
        }
    )
    document = _status_document(status)
    # 170 / 200 seats; mean dau of Dec 4..31 = (60 + 90) / 2 = 75 over November's MAU 150
    assert (round(document["utilization"], 4), round(document["consumption"], 4)) == (0.85, 0.5)
